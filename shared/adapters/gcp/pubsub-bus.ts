/**
 * Publishes outbound events to one Pub/Sub topic. The message data is the event's `detail` as
 * JSON (what the contract calls the body); `target_agent`, `event_type`, `event_id` and
 * `task_id` are attributes, so a subscription can filter per agent
 * (`attributes.target_agent = "npa"`) and a subscriber can drop a redelivered duplicate by
 * `event_id` (Pub/Sub itself does not deduplicate publishes).
 *
 * No ordering key: assignments to one agent are independent (each names its task and attempt)
 * and the queue order is the coordinator's, decided before publishing. An ordering key would
 * make one stuck message hold back every later one for that agent and pause the key on a
 * publish failure, with nothing to gain.
 */
import type { Topic } from '@google-cloud/pubsub';
import { PublishError } from '../../core/errors';
import type { OutboundEvent } from '../../core/model';
import type { EventBus } from '../../core/ports';

/** The part of `Topic` the bus uses (injectable: tests and other transports pass their own). */
export type PublishTarget = Pick<Topic, 'publishMessage' | 'name'>;

export class PubSubBus implements EventBus {
  readonly name = 'pubsub';

  constructor(private readonly topic: PublishTarget) {}

  async publish(events: readonly OutboundEvent[]): Promise<void> {
    const results = await Promise.allSettled(events.map((e) => this.topic.publishMessage(toMessage(e))));
    const failed = events.filter((_, i) => results[i]!.status === 'rejected');
    if (failed.length === 0) return;
    const first = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')!.reason as Error;
    throw new PublishError(
      `pubsub topic ${this.topic.name} refused ${failed.length} of ${events.length} events (${failed.map((e) => e.id).join(', ')}): ${first.message}`,
      {
        cause: first,
      },
    );
  }
}

export function toMessage(event: OutboundEvent): { data: Buffer; attributes: Record<string, string> } {
  const attributes: Record<string, string> = {
    event_type: event.type,
    event_id: event.id,
    task_id: event.task_id,
  };
  if (event.target_agent) attributes.target_agent = event.target_agent;
  return { data: Buffer.from(JSON.stringify(event.detail)), attributes };
}
