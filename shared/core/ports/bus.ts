// The bus port: where outbound events go.
import type { OutboundEvent } from '../model';

/**
 * Publishes outbound events. Resolves only when every event was accepted; throws
 * `PublishError` naming the events that were not (the caller keeps them in the outbox).
 * Event ids are deterministic (task, attempt, agent), so a bus with duplicate detection
 * (Service Bus, SQS FIFO, the local bus) drops a republished one.
 */
export interface EventBus {
  readonly name: string;
  publish(events: readonly OutboundEvent[]): Promise<void>;
  close?(): Promise<void>;
}
