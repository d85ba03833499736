/**
 * Pub/Sub (`google.cloud.pubsub.topic.v1.messagePublished`) -> the core. The base64 JSON data
 * and the attributes (which may carry the event type) are unwrapped by the core's normalizer.
 * Done: acknowledged. Permanently bad: published as `Task Rejected` and acknowledged, so it is
 * never redelivered forever. Retryable: thrown, so the function answers non-2xx and Pub/Sub
 * redelivers (after its max delivery attempts, to the dead-letter topic).
 */
import type { CloudEvent, CloudEventFunction } from '@google-cloud/functions-framework';
import type { GcpRuntime } from '../shared/runtime/gcp';

export function pubsubHandler(runtime: () => Promise<GcpRuntime>): CloudEventFunction<unknown> {
  return async (event: CloudEvent<unknown>) => {
    const rt = await runtime();
    // The Pub/Sub message id names the delivery even when its data cannot be read.
    const id =
      (event.data as { message?: { messageId?: string } } | undefined)?.message?.messageId ?? event.id;
    const [outcome] = await rt.coordinator.handle(event, { source: 'gcp.pubsub', id });
    if (!outcome || outcome.status === 'done') return;
    if (outcome.status === 'dead_letter') return rt.reject(outcome, event);
    throw new Error(`message ${outcome.id} will be redelivered: ${outcome.code}: ${outcome.error}`);
  };
}
