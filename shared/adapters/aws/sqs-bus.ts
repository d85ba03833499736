/**
 * Delivers task assignments to per-agent SQS queues: the queue URL is
 * `AGENT_QUEUE_URL_TEMPLATE` with `{agent_id}` replaced. The body is the event's detail (as on
 * Service Bus / Pub/Sub); `target_agent`, `event_type` and `event_id` are message attributes.
 * On a FIFO queue (URL ending in `.fifo`) the deterministic event id is the deduplication id,
 * so a republished event is dropped, and the task id is the message group. Only events with a
 * target agent go to queues: rejections and failures name the requester, which need not be an
 * agent with a queue (they go to EventBridge). Failed entries are retried with backoff, then
 * named in the `PublishError`.
 */
import { SendMessageBatchCommand, SQSClient, type SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import { createHash } from 'node:crypto';
import { errorMessage } from '../../core/errors';
import type { OutboundEvent } from '../../core/model';
import type { EventBus } from '../../core/ports';
import { EventsNotPublishedError } from './eventbridge-bus';
import { backoff, chunkBySize, type RetryOptions } from './retry';

export const SQS_BATCH_MAX_ENTRIES = 10;
export const SQS_BATCH_MAX_BYTES = 256 * 1024;
const DEFAULT_TYPES: ReadonlyArray<OutboundEvent['type']> = ['Task Assignment'];

export interface SqsBusOptions extends RetryOptions {
  /** e.g. `https://sqs.eu-west-1.amazonaws.com/123456789012/agent-{agent_id}.fifo` */
  queueUrlTemplate: string;
  /** An SDK client (tests point one at a local server). Default: a client for `region`. */
  client?: Pick<SQSClient, 'send'>;
  region?: string;
  /** Which event types go to the target agent's queue (default: assignments). */
  types?: ReadonlyArray<OutboundEvent['type']>;
}

interface Item {
  event: OutboundEvent;
  entry: SendMessageBatchRequestEntry;
  bytes: number;
}

export class SqsAgentQueueBus implements EventBus {
  readonly name = 'sqs';
  private readonly client: Pick<SQSClient, 'send'>;

  constructor(private readonly options: SqsBusOptions) {
    this.client = options.client ?? new SQSClient(options.region ? { region: options.region } : {});
  }

  queueUrlFor(agentId: string): string {
    return this.options.queueUrlTemplate.replaceAll('{agent_id}', encodeURIComponent(agentId));
  }

  async publish(events: readonly OutboundEvent[]): Promise<void> {
    const types = this.options.types ?? DEFAULT_TYPES;
    const byQueue = new Map<string, OutboundEvent[]>();
    for (const event of events) {
      if (!event.target_agent || !types.includes(event.type)) continue;
      const url = this.queueUrlFor(event.target_agent);
      byQueue.set(url, [...(byQueue.get(url) ?? []), event]);
    }
    const failed: Array<{ id: string; error: string }> = [];
    for (const [url, queued] of byQueue) {
      const fifo = url.endsWith('.fifo');
      const items = queued.map((event) => toItem(event, fifo));
      for (const chunk of chunkBySize(items, (i) => i.bytes, SQS_BATCH_MAX_ENTRIES, SQS_BATCH_MAX_BYTES)) {
        failed.push(...(await this.sendWithRetries(url, chunk)));
      }
    }
    if (failed.length > 0) throw new EventsNotPublishedError(this.name, failed);
  }

  private async sendWithRetries(url: string, chunk: Item[]): Promise<Array<{ id: string; error: string }>> {
    let pending = chunk;
    let errors = new Map<string, string>();
    const attempts = this.options.maxAttempts ?? 4;
    for (let attempt = 0; attempt < attempts && pending.length > 0; attempt++) {
      if (attempt > 0) await backoff(attempt, this.options);
      errors = new Map();
      try {
        const entries = pending.map((p, i) => ({ ...p.entry, Id: `e${i}` }));
        const out = await this.client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries }));
        const ok = new Set((out.Successful ?? []).map((s) => s.Id));
        for (const f of out.Failed ?? []) {
          const p = pending[Number(f.Id?.slice(1))];
          if (p)
            errors.set(
              p.event.id,
              `${f.Code ?? 'unknown'}: ${f.Message ?? ''}${f.SenderFault ? ' (sender fault)' : ''}`,
            );
        }
        pending = pending.filter((_, i) => !ok.has(`e${i}`));
      } catch (err) {
        for (const p of pending) errors.set(p.event.id, `${(err as Error).name}: ${errorMessage(err)}`);
      }
    }
    return pending.map((p) => ({ id: p.event.id, error: `${url}: ${errors.get(p.event.id) ?? 'not sent'}` }));
  }
}

function toItem(event: OutboundEvent, fifo: boolean): Item {
  const body = JSON.stringify(event.detail);
  const attributes = {
    target_agent: { DataType: 'String', StringValue: event.target_agent ?? '' },
    event_type: { DataType: 'String', StringValue: event.type },
    event_id: { DataType: 'String', StringValue: event.id },
  };
  const entry: SendMessageBatchRequestEntry = {
    Id: 'e',
    MessageBody: body,
    MessageAttributes: attributes,
    ...(fifo ? { MessageDeduplicationId: dedupId(event.id), MessageGroupId: dedupId(event.task_id) } : {}),
  };
  const attrBytes = Object.entries(attributes).reduce(
    (n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v.StringValue) + v.DataType.length,
    0,
  );
  return { event, entry, bytes: Buffer.byteLength(body) + attrBytes };
}

/** SQS ids allow 128 printable ASCII characters; longer or other ids are hashed. */
export function dedupId(id: string): string {
  return /^[\x21-\x7e]{1,128}$/.test(id) ? id : createHash('sha256').update(id).digest('hex');
}
