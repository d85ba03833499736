/**
 * Service Bus trigger (the inbound queue and the coordinator's topic subscription), one message
 * per invocation: done completes the message, a retryable failure throws so that only this
 * message is redelivered, a permanent one is moved to the rejected queue with its reason and
 * completed, so it is not retried up to the max delivery count.
 */
import type { InvocationContext } from '@azure/functions';
import { normalizeOne } from '../../shared/core/events/normalize';
import { getAzureRuntime, type AzureRuntime } from '../../shared/runtime/azure';

export function serviceBusHandler(runtime: () => AzureRuntime = getAzureRuntime) {
  return async (message: unknown, context: InvocationContext): Promise<void> => {
    const { coordinator, rejections } = runtime();
    const meta = context.triggerMetadata ?? {};
    const messageId = typeof meta.messageId === 'string' ? meta.messageId : undefined;
    const deliveryCount = Number(meta.deliveryCount ?? 1);
    const properties = (meta.applicationProperties ?? {}) as Record<string, unknown>;
    // A `subject` names the event type when neither the body nor the properties do.
    const attributes = typeof meta.subject === 'string' ? { type: meta.subject, ...properties } : properties;
    const delivery = normalizeOne(
      message,
      {
        ...(messageId ? { id: messageId } : {}),
        source: 'azure.servicebus',
        attributes,
        ...(typeof meta.enqueuedTimeUtc === 'string' ? { time: meta.enqueuedTimeUtc } : {}),
      },
      { maxBytes: coordinator.settings.maxMessageBytes },
    );
    const [outcome] = await coordinator.handleDeliveries([delivery]);
    if (!outcome || outcome.status === 'done') return;
    if (outcome.status === 'retry') {
      throw new Error(
        `${outcome.code}: ${outcome.error} (delivery ${deliveryCount} of message ${delivery.id}; Service Bus redelivers it)`,
      );
    }
    context.warn(`message ${delivery.id} rejected (${outcome.code}): ${outcome.reason}`);
    await rejections.reject({
      body: message,
      messageId: delivery.id,
      deliveryCount,
      applicationProperties: properties,
      code: outcome.code,
      reason: outcome.reason,
    });
  };
}
