/**
 * Publishes outbound events to EventBridge with PutEvents: Source = the coordination source,
 * DetailType = the event type (`Task Assignment`, `Task Rejected`, `Task Failed`), Detail =
 * the event's detail. Entries go in requests of at most 10 entries and 256 KB; entries that
 * PutEvents reports as failed (and requests that fail whole) are retried with backoff, and
 * whatever still failed is named in the `PublishError`, so the outbox keeps it. Nothing is
 * dropped silently.
 */
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { errorMessage, PublishError } from '../../core/errors';
import type { OutboundEvent } from '../../core/model';
import type { EventBus } from '../../core/ports';
import { backoff, chunkBySize, type RetryOptions } from './retry';

export const PUT_EVENTS_MAX_ENTRIES = 10;
export const PUT_EVENTS_MAX_BYTES = 256 * 1024;

export interface EventBridgeBusOptions extends RetryOptions {
  eventBusName: string;
  source: string;
  client?: Pick<EventBridgeClient, 'send'>;
}

/** Names the events a bus could not publish, with the last error of each. */
export class EventsNotPublishedError extends PublishError {
  constructor(
    readonly bus: string,
    readonly failed: ReadonlyArray<{ id: string; error: string }>,
  ) {
    super(
      `${bus}: ${failed.length} event(s) not published: ${failed
        .slice(0, 10)
        .map((f) => `${f.id} (${f.error})`)
        .join('; ')}`,
    );
  }
}

export class EventBridgeBus implements EventBus {
  readonly name = 'eventbridge';
  private readonly client: Pick<EventBridgeClient, 'send'>;

  constructor(private readonly options: EventBridgeBusOptions) {
    this.client = options.client ?? new EventBridgeClient({});
  }

  toEntry(event: OutboundEvent): PutEventsRequestEntry {
    return {
      EventBusName: this.options.eventBusName,
      Source: this.options.source,
      DetailType: event.type,
      Detail: JSON.stringify(event.detail),
      Time: new Date(event.time),
    };
  }

  async publish(events: readonly OutboundEvent[]): Promise<void> {
    const failed: Array<{ id: string; error: string }> = [];
    const sized = events.map((event) => ({ event, entry: this.toEntry(event) }));
    const fits = sized.filter((s) => {
      if (entrySize(s.entry) <= PUT_EVENTS_MAX_BYTES) return true;
      failed.push({ id: s.event.id, error: `entry is larger than ${PUT_EVENTS_MAX_BYTES} bytes` });
      return false;
    });
    for (const chunk of chunkBySize(
      fits,
      (s) => entrySize(s.entry),
      PUT_EVENTS_MAX_ENTRIES,
      PUT_EVENTS_MAX_BYTES,
    )) {
      failed.push(...(await this.putWithRetries(chunk)));
    }
    if (failed.length > 0) throw new EventsNotPublishedError(this.name, failed);
  }

  /** Sends one chunk; retries only the entries that failed. Returns what still failed. */
  private async putWithRetries(
    chunk: Array<{ event: OutboundEvent; entry: PutEventsRequestEntry }>,
  ): Promise<Array<{ id: string; error: string }>> {
    let pending = chunk;
    let errors = new Map<string, string>();
    const attempts = this.options.maxAttempts ?? 4;
    for (let attempt = 0; attempt < attempts && pending.length > 0; attempt++) {
      if (attempt > 0) await backoff(attempt, this.options);
      errors = new Map();
      try {
        const out = await this.client.send(new PutEventsCommand({ Entries: pending.map((p) => p.entry) }));
        const results = out.Entries ?? [];
        pending = pending.filter((p, i) => {
          const r = results[i];
          if (r?.EventId && !r.ErrorCode) return false;
          errors.set(
            p.event.id,
            r ? `${r.ErrorCode ?? 'unknown'}: ${r.ErrorMessage ?? ''}` : 'no result entry',
          );
          return true;
        });
      } catch (err) {
        for (const p of pending) errors.set(p.event.id, `${(err as Error).name}: ${errorMessage(err)}`);
      }
    }
    return pending.map((p) => ({ id: p.event.id, error: errors.get(p.event.id) ?? 'not sent' }));
  }
}

/** PutEvents entry size as AWS counts it: Time 14 bytes, then the UTF-8 bytes of each field. */
export function entrySize(entry: PutEventsRequestEntry): number {
  let size = entry.Time ? 14 : 0;
  for (const s of [entry.Source, entry.DetailType, entry.Detail, ...(entry.Resources ?? [])]) {
    if (s) size += Buffer.byteLength(s, 'utf8');
  }
  return size;
}
