/**
 * A local EventBridge endpoint for `npm run dev:aws`: it speaks the PutEvents wire format
 * (awsJson1_1, `X-Amz-Target: AWSEvents.PutEvents`) the real `@aws-sdk/client-eventbridge`
 * sends, enforces PutEvents' limits (at most 10 entries, 256 KB per request, sizes counted the
 * way EventBridge counts them) and records every accepted entry. It routes nothing: it is where
 * the coordinator's assignments can be seen.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** PutEvents' limit on a request's entries, in bytes (256 KB). */
export const PUT_EVENTS_MAX_BYTES = 256 * 1024;
const MAX_ENTRIES = 10;

export interface PutEventsEntry {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  EventBusName?: string;
  Resources?: string[];
  Time?: number | string;
}

export interface RecordedEvent extends PutEventsEntry {
  EventId: string;
}

/** An entry's size as EventBridge counts it: Time (14 bytes), Source, DetailType, Detail, Resources. */
export function putEventsEntrySize(entry: PutEventsEntry): number {
  let size = entry.Time !== undefined ? 14 : 0;
  for (const s of [entry.Source, entry.DetailType, entry.Detail, ...(entry.Resources ?? [])]) {
    if (s) size += Buffer.byteLength(s, 'utf8');
  }
  return size;
}

export interface LocalEventBridge {
  endpoint: string;
  /** Every accepted entry, in order. */
  events: RecordedEvent[];
  /** Called with each accepted entry (e.g. to print it). */
  onEvent?: (event: RecordedEvent) => void;
  stop(): Promise<void>;
}

function fail(res: http.ServerResponse, type: string, message: string): void {
  res.statusCode = 400;
  res.setHeader('x-amzn-errortype', type);
  res.end(JSON.stringify({ __type: type, message }));
}

export async function startLocalEventBridge(port = 0, host = '127.0.0.1'): Promise<LocalEventBridge> {
  const events: RecordedEvent[] = [];
  const bridge: LocalEventBridge = { endpoint: '', events, stop: async () => undefined };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.setHeader('content-type', 'application/x-amz-json-1.1');
      const target = String(req.headers['x-amz-target'] ?? '');
      if (target !== 'AWSEvents.PutEvents') {
        fail(res, 'UnknownOperationException', `this local endpoint only serves PutEvents, not ${target}`);
        return;
      }
      let body: { Entries?: PutEventsEntry[] };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
      } catch {
        fail(res, 'SerializationException', 'the request body is not JSON');
        return;
      }
      const entries = body.Entries;
      if (!Array.isArray(entries) || entries.length === 0 || entries.length > MAX_ENTRIES) {
        fail(res, 'ValidationException', `Entries must hold 1 to ${MAX_ENTRIES} entries`);
        return;
      }
      const total = entries.reduce((n, e) => n + putEventsEntrySize(e), 0);
      if (total > PUT_EVENTS_MAX_BYTES) {
        fail(
          res,
          'ValidationException',
          `Total size of the entries in the request is over the limit (${total} bytes)`,
        );
        return;
      }
      let failed = 0;
      const results = entries.map((entry) => {
        if (!entry.Source || !entry.DetailType || !entry.Detail) {
          failed += 1;
          return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Source, DetailType and Detail are required' };
        }
        try {
          JSON.parse(entry.Detail);
        } catch {
          failed += 1;
          return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is not valid JSON' };
        }
        const recorded: RecordedEvent = { ...entry, EventId: randomUUID() };
        events.push(recorded);
        bridge.onEvent?.(recorded);
        return { EventId: recorded.EventId };
      });
      res.end(JSON.stringify({ FailedEntryCount: failed, Entries: results }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  bridge.endpoint = `http://${host}:${(server.address() as AddressInfo).port}`;
  bridge.stop = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return bridge;
}
