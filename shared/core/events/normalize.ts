/**
 * Recognises every inbound shape of the contract and turns it into canonical events:
 * a direct message (`type`), an EventBridge event (`detail-type`), an SQS event (`Records`),
 * a CloudEvent (`specversion`, including Pub/Sub `messagePublished`), a raw Pub/Sub push body
 * and a scheduled event. One processor per shape, picked by a type guard.
 *
 * A bad record never throws out of `normalize`: it comes back as a delivery with an `error`
 * naming the field, so the rest of a batch goes on.
 */
import * as z from 'zod';
import { CoordinatorError, PayloadTooLargeError, UnknownMessageTypeError, ValidationError } from '../errors';
import {
  DETAIL_TYPES,
  EVENT_SCHEMAS,
  EVENT_TYPES,
  eventTypeOf,
  type CoordinatorEvent,
  type EventType,
} from './schemas';
import { bodyHash, safeEventId, safeHash } from './ids';
import { checkDepth, parseJson } from './json';

export { bodyHash, generatedTaskId, MAX_EVENT_ID_LENGTH, safeEventId, stableStringify } from './ids';

export interface DeliveryMeta {
  /** The transport's message id (SQS messageId, Service Bus messageId, Pub/Sub messageId). */
  id?: string;
  /** Where it came from, e.g. `aws.sqs`, `azure.servicebus`, `local.http`. */
  source?: string;
  /** Message attributes / application properties; may carry the event type. */
  attributes?: Record<string, unknown>;
  /** When the transport received it (RFC 3339 or epoch ms). */
  time?: string | number;
}

/** One unit of work with its own ack: an SQS record, a Service Bus message, an HTTP body. */
export interface Delivery {
  /** The transport's id exactly as given (what the platform acks by), else the event's id. */
  id: string;
  event?: CoordinatorEvent;
  error?: ValidationError;
}

export interface NormalizeOptions {
  /** Maximum nesting depth of any JSON value in a message (default 32). */
  maxDepth?: number;
  /** Maximum size of a message body given as text or bytes (default: no limit here). */
  maxBytes?: number;
  now?: () => number;
}

type Raw = Record<string, unknown>;

const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);
const isSqsEvent = (v: Raw): boolean =>
  Array.isArray(v.Records) &&
  v.Records.every((r) => isObject(r) && (r.eventSource === 'aws:sqs' || ('body' in r && 'messageId' in r)));
const isEventBridgeEvent = (v: Raw): boolean => typeof v['detail-type'] === 'string' && 'detail' in v;
const isCloudEvent = (v: Raw): boolean => typeof v.specversion === 'string' && typeof v.type === 'string';
const isPubSubPush = (v: Raw): boolean => isObject(v.message) && typeof v.subscription === 'string';
const isSnsNotification = (v: Raw): boolean => v.Type === 'Notification' && typeof v.Message === 'string';

export const PUBSUB_PUBLISHED = 'google.cloud.pubsub.topic.v1.messagePublished';

/** Normalizes any inbound payload into deliveries: many for an SQS batch, one otherwise. */
export function normalize(
  input: unknown,
  meta: DeliveryMeta = {},
  options: NormalizeOptions = {},
): Delivery[] {
  if (isObject(input) && isSqsEvent(input)) {
    return (input.Records as Raw[]).map((record, index) => {
      const id = typeof record.messageId === 'string' ? record.messageId : `record-${index}`;
      return normalizeOne(
        record.body,
        {
          id,
          source: 'aws.sqs',
          attributes: sqsAttributes(record),
          time: sqsSentTime(record),
        },
        options,
      );
    });
  }
  return [normalizeOne(input, meta, options)];
}

/** Normalizes one message; never throws for bad input. */
export function normalizeOne(
  input: unknown,
  meta: DeliveryMeta = {},
  options: NormalizeOptions = {},
): Delivery {
  try {
    const event = toEvent(input, meta, options, 0);
    return { id: meta.id ?? event.id, event };
  } catch (err) {
    const id = meta.id ?? safeHash(input);
    if (err instanceof ValidationError) return { id, error: err };
    if (err instanceof CoordinatorError) throw err;
    return {
      id,
      error: new ValidationError(`unreadable message: ${(err as Error).message}`, '', { cause: err }),
    };
  }
}

function toEvent(
  input: unknown,
  meta: DeliveryMeta,
  options: NormalizeOptions,
  hops: number,
): CoordinatorEvent {
  if (hops > 3) throw new ValidationError('message is wrapped in too many envelopes', '');
  let body = input;
  if (typeof body === 'string' || body instanceof Uint8Array) {
    const size = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
    if (options.maxBytes !== undefined && size > options.maxBytes) {
      throw new PayloadTooLargeError(`message is ${size} bytes; the limit is ${options.maxBytes}`, 'body');
    }
    body = parseJson(body, 'body');
  }
  if (!isObject(body)) {
    throw new ValidationError(`message must be a JSON object, got ${describe(body)}`, '');
  }
  checkDepth(body, options.maxDepth ?? 32);

  if (isSnsNotification(body)) {
    return toEvent(body.Message, { ...meta, id: meta.id ?? str(body.MessageId) }, options, hops + 1);
  }
  if (isCloudEvent(body) && body.type === PUBSUB_PUBLISHED) {
    return fromPubSubMessage(body.data, meta, options, hops, 'data.message');
  }
  if (isPubSubPush(body)) return fromPubSubMessage(body, meta, options, hops, 'message');
  if (isCloudEvent(body)) return fromCloudEvent(body, meta);
  if (isEventBridgeEvent(body)) return fromEventBridge(body, meta);
  return fromDirect(body, meta);
}

function fromDirect(body: Raw, meta: DeliveryMeta): CoordinatorEvent {
  const attrType = attributeType(meta.attributes);
  const rawType = body.type ?? attrType;
  if (rawType === undefined) {
    const keys = Object.keys(body).slice(0, 8).join(', ') || 'none';
    throw new ValidationError(
      `unrecognised message: expected a "type" field (one of ${EVENT_TYPES.join(', ')}), an EventBridge event ("detail-type" and "detail"), a CloudEvent ("specversion"), or an SQS event ("Records"); got keys: ${keys}`,
      'type',
    );
  }
  const type = resolveType(rawType, 'type');
  const { type: _drop, ...data } = body;
  return build(type, data, meta, meta.source ?? 'direct', body);
}

function fromEventBridge(body: Raw, meta: DeliveryMeta): CoordinatorEvent {
  const detailType = body['detail-type'];
  const type = resolveType(detailType, 'detail-type');
  const detail = body.detail ?? {};
  if (!isObject(detail))
    throw new ValidationError(`detail must be an object, got ${describe(detail)}`, 'detail');
  return build(type, detail, envelopeMeta(body, meta), str(body.source) ?? 'eventbridge', body);
}

/** The envelope's own id and time count when the transport gave none. */
function envelopeMeta(body: Raw, meta: DeliveryMeta): DeliveryMeta {
  return { ...meta, id: meta.id ?? str(body.id), time: meta.time ?? str(body.time) };
}

function fromCloudEvent(body: Raw, meta: DeliveryMeta): CoordinatorEvent {
  const type = resolveType(body.type, 'type');
  let data = body.data;
  if (data === undefined && typeof body.data_base64 === 'string') {
    data = parseJson(Buffer.from(body.data_base64, 'base64'), 'data_base64');
  }
  if (typeof data === 'string') data = parseJson(data, 'data');
  data = data ?? {};
  if (!isObject(data)) throw new ValidationError(`data must be an object, got ${describe(data)}`, 'data');
  return build(type, data, envelopeMeta(body, meta), str(body.source) ?? 'cloudevents', body);
}

function fromPubSubMessage(
  container: unknown,
  meta: DeliveryMeta,
  options: NormalizeOptions,
  hops: number,
  path: string,
): CoordinatorEvent {
  const message = isObject(container) ? container.message : undefined;
  if (!isObject(message)) throw new ValidationError(`${path} is missing`, path);
  const attributes = isObject(message.attributes) ? message.attributes : {};
  const id = meta.id ?? str(message.messageId) ?? str(message.message_id);
  if (typeof message.data !== 'string')
    throw new ValidationError(`${path}.data must be a base64 string`, `${path}.data`);
  const decoded = Buffer.from(message.data, 'base64');
  const inner = parseJson(decoded, `${path}.data`);
  return toEvent(
    inner,
    { ...meta, id, source: meta.source ?? 'gcp.pubsub', attributes: { ...attributes, ...meta.attributes } },
    options,
    hops + 1,
  );
}

function build(
  type: EventType,
  data: Raw,
  meta: DeliveryMeta,
  source: string,
  original: unknown,
): CoordinatorEvent {
  const schema = EVENT_SCHEMAS[type] as z.ZodType;
  const parsed = schema.safeParse(data);
  if (!parsed.success) throw zodToValidationError(type, parsed.error);
  return {
    specversion: '1.0',
    // Safe by construction: the core makes `task-<event id>` of it for a request without a task_id.
    id: meta.id !== undefined ? safeEventId(meta.id) : bodyHash(original),
    source: meta.source ?? source,
    type,
    time: toIso(meta.time) ?? new Date().toISOString(),
    data: parsed.data,
  } as CoordinatorEvent;
}

/** Accepts `coordination_request`, `Coordination Request`, `agent-coordinator.coordination_request`. */
function resolveType(raw: unknown, field: string): EventType {
  if (typeof raw !== 'string')
    throw new ValidationError(`${field} must be a string, got ${describe(raw)}`, field);
  // Own keys only: `constructor`, `toString` or `__proto__` must be unknown types, not
  // Object.prototype members that crash the schema lookup.
  const type = eventTypeOf(raw) ?? eventTypeOf(raw.slice(raw.lastIndexOf('.') + 1));
  if (type) return type;
  throw new UnknownMessageTypeError(
    `unknown ${field} "${truncate(raw, 80)}": expected one of ${EVENT_TYPES.join(', ')} or ${Object.keys(DETAIL_TYPES).join(', ')}`,
    field,
  );
}

function attributeType(attributes: Record<string, unknown> | undefined): unknown {
  if (!attributes) return undefined;
  for (const key of ['type', 'event_type', 'eventType', 'detail-type', 'ce-type', 'ce_type']) {
    const value = attributes[key];
    if (typeof value === 'string') return value;
    if (isObject(value) && typeof value.stringValue === 'string') return value.stringValue;
  }
  return undefined;
}

export function zodToValidationError(type: string, error: z.ZodError): ValidationError {
  const first = error.issues[0];
  const path = first ? first.path.join('.') : '';
  const parts = error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  return new ValidationError(`invalid ${type}: ${parts.join('; ')}`, path);
}

function sqsAttributes(record: Raw): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (isObject(record.messageAttributes)) {
    for (const [k, v] of Object.entries(record.messageAttributes)) out[k] = isObject(v) ? v.stringValue : v;
  }
  return out;
}

function sqsSentTime(record: Raw): string | undefined {
  const attrs = isObject(record.attributes) ? record.attributes : {};
  const sent = Number(attrs.SentTimestamp);
  return Number.isFinite(sent) && sent > 0 ? new Date(sent).toISOString() : undefined;
}

function toIso(time: string | number | undefined): string | undefined {
  if (time === undefined) return undefined;
  const d = new Date(time);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);
const truncate = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n)}...` : s);

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v}`;
}
