/**
 * CloudEvents over HTTP (the HTTP protocol binding, spec 1.0) through the `cloudevents` SDK,
 * turned into the structured CloudEvent object the core's normalizer already takes:
 *
 * - binary mode: the attributes in `ce-*` headers, the event data as the body (JSON only);
 * - structured mode: `Content-Type: application/cloudevents+json`, the whole event as the body;
 * - batched mode: `Content-Type: application/cloudevents-batch+json`, a JSON array of
 *   structured events; each becomes its own delivery with its own outcome, as in an SQS batch.
 *
 * Anything else is not a CloudEvent request and goes to the normalizer as it is (which still
 * recognises a CloudEvent-shaped JSON object sent as `application/json`).
 */
import { CloudEvent, HTTP, ValidationError as CeValidationError } from 'cloudevents';
import { ValidationError } from '../core/errors';
import {
  HttpError,
  isBinaryCloudEvent,
  isJsonMediaType,
  MEDIA_CE,
  MEDIA_CE_BATCH,
  mediaType,
} from './guards';

type Headers = Record<string, string | string[] | undefined>;
type Raw = Record<string, unknown>;

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** The most events one batched request may carry. */
export const MAX_BATCH_EVENTS = 1000;

export type HttpInput =
  /** Not a CloudEvents request: the parsed JSON body, for the normalizer. */
  | { mode: 'plain'; payload: unknown }
  | { mode: 'binary' | 'structured'; event: Raw }
  | { mode: 'batch'; events: BatchEntry[] };

/** One event of a batch: the structured event, or why it was refused. */
export type BatchEntry = { id: string; event: Raw } | { id: string; error: ValidationError };

/** Reads `POST /events`: which CloudEvents mode (if any) and the event(s) in it. */
export function readHttpInput(headers: Headers, body: string): HttpInput {
  const type = mediaType(headers);
  if (type === MEDIA_CE_BATCH) return { mode: 'batch', events: readBatch(body) };
  if (type === MEDIA_CE) {
    const raw = parseJson(body, 'body');
    if (!isObject(raw))
      throw new ValidationError(
        `a structured-mode CloudEvent must be a JSON object, got ${describe(raw)}`,
        'body',
      );
    return { mode: 'structured', event: toStructured(validated(raw, 'structured-mode CloudEvent')) };
  }
  if (isBinaryCloudEvent(headers)) return { mode: 'binary', event: readBinary(headers, body, type) };
  return { mode: 'plain', payload: parseJson(body, 'body') };
}

function readBinary(headers: Headers, body: string, type: string | undefined): Raw {
  if (!isJsonMediaType(type)) {
    throw new HttpError(
      415,
      'unsupported_media_type',
      `a binary-mode CloudEvent must carry JSON data (Content-Type application/json or */*+json), got ${type ?? 'no Content-Type'}`,
      { 'accept-post': 'application/json' },
    );
  }
  const ceHeaders: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    // Without Content-Type the SDK leaves the data alone; it would parse it with json-bigint,
    // whose big numbers are not JSON numbers.
    if (lower.startsWith('ce-') && value !== undefined)
      ceHeaders[lower] = Array.isArray(value) ? value.join(',') : value;
  }
  if (!ceHeaders['ce-id'])
    throw new ValidationError('binary-mode CloudEvent: the ce-id header is missing', 'ce-id');
  // The SDK turns ce-time into a Date without checking it; the spec wants RFC 3339.
  const time = ceHeaders['ce-time'];
  if (time !== undefined && (!RFC3339.test(time) || Number.isNaN(Date.parse(time))))
    throw new ValidationError(
      `binary-mode CloudEvent: ce-time ${JSON.stringify(time.slice(0, 40))} is not an RFC 3339 timestamp`,
      'ce-time',
    );
  let event: CloudEvent<unknown>;
  try {
    event = HTTP.toEvent({ headers: ceHeaders, body }) as CloudEvent<unknown>;
  } catch (err) {
    throw invalid('binary-mode CloudEvent', err);
  }
  // Parsed here (plain JSON.parse) so an enveloped message, such as a Pub/Sub push body in
  // `messagePublished`, reaches the normalizer as the object it unwraps.
  const data = parseJson(body, 'data');
  const checked = validated({ ...event, datacontenttype: type, data }, 'binary-mode CloudEvent');
  return toStructured(checked);
}

function readBatch(body: string): BatchEntry[] {
  const raw = parseJson(body, 'body');
  if (!Array.isArray(raw))
    throw new ValidationError(`a CloudEvents batch must be a JSON array, got ${describe(raw)}`, 'body');
  if (raw.length === 0) throw new ValidationError('a CloudEvents batch must hold at least one event', 'body');
  if (raw.length > MAX_BATCH_EVENTS)
    throw new ValidationError(
      `a CloudEvents batch holds ${raw.length} events; the limit is ${MAX_BATCH_EVENTS}`,
      'body',
    );
  return raw.map((element, index): BatchEntry => {
    const id =
      isObject(element) && typeof element.id === 'string' && element.id ? element.id : `event-${index}`;
    try {
      if (!isObject(element))
        throw new ValidationError(
          `batch[${index}] must be a JSON object, got ${describe(element)}`,
          `[${index}]`,
        );
      return { id, event: toStructured(validated(element, `batch[${index}]`)) };
    } catch (err) {
      if (err instanceof ValidationError) return { id, error: err };
      throw err;
    }
  });
}

/** The SDK's own checks (required attributes, formats, extension names), then ours. */
function validated(raw: Raw, what: string): CloudEvent<unknown> {
  if (raw.specversion !== '1.0')
    throw new ValidationError(
      `${what}: specversion must be "1.0", got ${describe(raw.specversion)}`,
      'specversion',
    );
  for (const name of ['id', 'source', 'type'] as const) {
    if (typeof raw[name] !== 'string' || raw[name] === '')
      throw new ValidationError(`${what}: ${name} must be a non-empty string`, name);
  }
  let event: CloudEvent<unknown>;
  try {
    event = new CloudEvent<unknown>(raw as never, true);
  } catch (err) {
    throw invalid(what, err);
  }
  const dataType = event.datacontenttype?.split(';')[0]?.trim().toLowerCase();
  if (dataType !== undefined && !isJsonMediaType(dataType))
    throw new ValidationError(
      `${what}: datacontenttype ${dataType} is not JSON; the coordinator's events carry JSON data`,
      'datacontenttype',
    );
  return event;
}

/** The plain structured event the normalizer reads (`data` as an object or JSON text). */
function toStructured(event: CloudEvent<unknown>): Raw {
  const out: Raw = {
    specversion: event.specversion,
    id: event.id,
    source: event.source,
    type: event.type,
    time: typeof event.time === 'string' ? event.time : new Date(event.time ?? Date.now()).toISOString(),
  };
  if (event.subject !== undefined) out.subject = event.subject;
  if (event.datacontenttype !== undefined) out.datacontenttype = event.datacontenttype;
  if (event.dataschema !== undefined) out.dataschema = event.dataschema;
  if (event.data_base64 !== undefined) out.data_base64 = event.data_base64;
  else if (event.data !== undefined) out.data = event.data;
  return out;
}

function invalid(what: string, err: unknown): ValidationError {
  if (err instanceof CeValidationError) {
    const details = (err.errors ?? [])
      .slice(0, 5)
      .map((e) => {
        if (typeof e === 'string') return e;
        const issue = e as { instancePath?: string; message?: string };
        return `${issue.instancePath ? issue.instancePath.slice(1) : '(root)'} ${issue.message ?? ''}`.trim();
      })
      .filter(Boolean);
    const headline = err.message.split('\n')[0]!.trim();
    return new ValidationError(
      `invalid ${what}: ${details.length > 0 ? details.join('; ') : headline}`,
      'cloudevent',
      { cause: err },
    );
  }
  return new ValidationError(`invalid ${what}: ${(err as Error).message}`, 'cloudevent', { cause: err });
}

function parseJson(text: string, field: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ValidationError(`${field} is not valid JSON: ${(err as Error).message}`, field);
  }
}

const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  return typeof v === 'object' ? 'an object' : typeof v;
}
