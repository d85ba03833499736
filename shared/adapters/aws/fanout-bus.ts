/**
 * Publishes every event to several buses (EventBridge and per-agent SQS queues). Resolves only
 * when all accepted it; otherwise throws a `PublishError` naming each bus's failures, and the
 * outbox keeps the events. A retry republishes to every bus: consumers dedupe by the
 * deterministic event id (SQS FIFO does it for them).
 */
import { errorMessage, PublishError } from '../../core/errors';
import type { OutboundEvent } from '../../core/model';
import type { EventBus } from '../../core/ports';

export class FanOutBus implements EventBus {
  readonly name: string;

  constructor(private readonly buses: readonly EventBus[]) {
    this.name = buses.map((b) => b.name).join('+');
  }

  async publish(events: readonly OutboundEvent[]): Promise<void> {
    const results = await Promise.allSettled(this.buses.map((b) => b.publish(events)));
    const failures = results.flatMap((r, i) =>
      r.status === 'rejected' ? [`${this.buses[i]!.name}: ${errorMessage(r.reason)}`] : [],
    );
    if (failures.length > 0) throw new PublishError(failures.join(' | '));
  }
}
