/**
 * The event bus on Azure Service Bus: outbound events go to a topic (`agent-coordination` by
 * default), one message per event. Each agent's subscription filters on the `target_agent`
 * application property (a SQL filter `target_agent = 'npa'`), so an agent receives only its
 * own assignments; `event_type` lets a subscription pick event kinds.
 *
 * The message id is the event's deterministic id, so a topic with duplicate detection drops a
 * republished event (the coordinator republishes its outbox after a failure).
 */
import type { ServiceBusMessage, ServiceBusMessageBatch, ServiceBusSender } from '@azure/service-bus';
import { errorMessage, PublishError } from '../../core/errors';
import type { OutboundEvent } from '../../core/model';
import type { EventBus } from '../../core/ports';

/** The part of `ServiceBusSender` the bus uses; the real sender satisfies it. */
export type BatchSender = Pick<ServiceBusSender, 'createMessageBatch' | 'sendMessages' | 'close'>;

/** One outbound event as a Service Bus message: the contract's `detail` is the body. */
export function toServiceBusMessage(event: OutboundEvent): ServiceBusMessage {
  return {
    body: event.detail,
    contentType: 'application/json',
    messageId: event.id,
    subject: event.type,
    correlationId: event.task_id,
    applicationProperties: {
      event_type: event.type,
      task_id: event.task_id,
      ...(event.target_agent ? { target_agent: event.target_agent } : {}),
      time: event.time,
    },
  };
}

export class ServiceBusEventBus implements EventBus {
  readonly name = 'service-bus';

  constructor(private readonly sender: BatchSender) {}

  async publish(events: readonly OutboundEvent[]): Promise<void> {
    if (events.length === 0) return;
    let sent = 0;
    try {
      let batch = await this.sender.createMessageBatch();
      let inBatch = 0;
      for (const event of events) {
        const message = toServiceBusMessage(event);
        if (batch.tryAddMessage(message)) {
          inBatch += 1;
          continue;
        }
        if (inBatch === 0)
          throw new Error(
            `event ${event.id} is larger than the largest message Service Bus accepts (${batch.maxSizeInBytes} bytes)`,
          );
        await this.send(batch);
        sent += inBatch;
        batch = await this.sender.createMessageBatch();
        inBatch = 0;
        if (!batch.tryAddMessage(message))
          throw new Error(
            `event ${event.id} is larger than the largest message Service Bus accepts (${batch.maxSizeInBytes} bytes)`,
          );
        inBatch = 1;
      }
      if (inBatch > 0) await this.send(batch);
    } catch (err) {
      const unsent = events.slice(sent).map((e) => e.id);
      throw new PublishError(
        `Service Bus did not accept ${unsent.length} of ${events.length} events (${unsent.join(', ')}): ${errorMessage(err)}`,
        { cause: err },
      );
    }
  }

  private send(batch: ServiceBusMessageBatch): Promise<void> {
    return this.sender.sendMessages(batch);
  }

  async close(): Promise<void> {
    await this.sender.close();
  }
}

// ---------------------------------------------------------------- rejected messages

/** The part of `ServiceBusSender` the rejection queue uses. */
export type MessageSender = Pick<ServiceBusSender, 'sendMessages' | 'close'>;

/** An inbound message the coordinator will never accept, with why. */
export interface RejectedMessage {
  body: unknown;
  messageId?: string;
  contentType?: string;
  deliveryCount?: number;
  applicationProperties?: Record<string, unknown>;
  /** The outcome's code (`INVALID_MESSAGE`, `UNKNOWN_MESSAGE_TYPE`, ...) and reason. */
  code: string;
  reason: string;
}

export interface Rejections {
  reject(message: RejectedMessage): Promise<void>;
}

/**
 * Moves a permanently bad message to a queue of its own, with the reason in the properties
 * Service Bus uses on its dead-letter sub-queue (`DeadLetterReason`,
 * `DeadLetterErrorDescription`), so the trigger can complete it instead of letting it be
 * retried up to the max delivery count. Resolves only when the queue accepted it; throws
 * `PublishError` otherwise (the trigger then lets the message be redelivered: nothing is lost).
 */
export class ServiceBusRejections implements Rejections {
  constructor(
    private readonly sender: MessageSender,
    readonly queueName: string,
  ) {}

  async reject(message: RejectedMessage): Promise<void> {
    const properties: Record<string, string | number | boolean | Date> = {};
    for (const [k, v] of Object.entries(message.applicationProperties ?? {})) {
      if (['string', 'number', 'boolean'].includes(typeof v) || v instanceof Date)
        properties[k] = v as string | number | boolean | Date;
    }
    try {
      await this.sender.sendMessages({
        body: message.body,
        ...(message.contentType ? { contentType: message.contentType } : {}),
        // The same id: a rejection repeated after a crash is dropped by duplicate detection.
        ...(message.messageId ? { messageId: message.messageId } : {}),
        applicationProperties: {
          ...properties,
          DeadLetterReason: message.code,
          DeadLetterErrorDescription: message.reason.slice(0, 4096),
          ...(message.deliveryCount !== undefined ? { delivery_count: message.deliveryCount } : {}),
          rejected_at: new Date().toISOString(),
        },
      });
    } catch (err) {
      throw new PublishError(
        `could not move message ${message.messageId ?? '(no id)'} to ${this.queueName}: ${errorMessage(err)}`,
        { cause: err },
      );
    }
  }

  async close(): Promise<void> {
    await this.sender.close();
  }
}
