/**
 * Stand-ins for `ServiceBusSender` behind the ports (no Service Bus emulator runs here): a
 * batch with a size limit, sends recorded, failures injectable. Messages are the real SDK's
 * `ServiceBusMessage` type, and the trigger metadata mirrors what the Functions host passes.
 */
import { randomUUID } from 'node:crypto';
import type { ServiceBusMessage, ServiceBusMessageBatch } from '@azure/service-bus';
import type { BatchSender, MessageSender } from '../../../shared/adapters/azure/service-bus-bus';

class RecordingBatch implements ServiceBusMessageBatch {
  readonly messages: ServiceBusMessage[] = [];
  sizeInBytes = 0;
  constructor(readonly maxSizeInBytes: number) {}
  get count(): number {
    return this.messages.length;
  }
  tryAddMessage(message: ServiceBusMessage): boolean {
    const size = Buffer.byteLength(JSON.stringify(message)) + 64;
    if (this.sizeInBytes + size > this.maxSizeInBytes) return false;
    this.messages.push(message);
    this.sizeInBytes += size;
    return true;
  }
}

export class FakeSender implements BatchSender, MessageSender {
  readonly sent: ServiceBusMessage[] = [];
  readonly sends: number[] = [];
  failures = 0;
  closed = false;
  constructor(readonly maxSizeInBytes = 256 * 1024) {}

  async createMessageBatch(): Promise<ServiceBusMessageBatch> {
    return new RecordingBatch(this.maxSizeInBytes);
  }

  async sendMessages(
    messages: ServiceBusMessage | ServiceBusMessage[] | ServiceBusMessageBatch,
  ): Promise<void> {
    if (this.failures > 0) {
      this.failures -= 1;
      throw Object.assign(
        new Error('The service was unable to process the request; please retry the operation.'),
        { code: 'ServiceBusy' },
      );
    }
    const list =
      messages instanceof RecordingBatch
        ? messages.messages
        : Array.isArray(messages)
          ? messages
          : [messages as ServiceBusMessage];
    this.sends.push(list.length);
    this.sent.push(...list.map((m) => structuredClone(m)));
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** The `triggerMetadata` the Functions host gives a Service Bus trigger with cardinality one. */
export function serviceBusMetadata(
  overrides: {
    messageId?: string;
    deliveryCount?: number;
    applicationProperties?: Record<string, unknown>;
    subject?: string;
  } = {},
) {
  return {
    messageId: overrides.messageId ?? randomUUID().replace(/-/g, ''),
    deliveryCount: overrides.deliveryCount ?? 1,
    applicationProperties: overrides.applicationProperties ?? {},
    enqueuedTimeUtc: new Date().toISOString(),
    contentType: 'application/json',
    sequenceNumber: 1,
    lockToken: randomUUID(),
    ...(overrides.subject ? { subject: overrides.subject } : {}),
  };
}
