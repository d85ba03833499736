/**
 * Ids of deliveries and the tasks they create: delivery ids are kept only when safe, hashed
 * otherwise; a body without any id gets the hash of its canonical JSON; generated task ids
 * live in a namespace of their own.
 */
import * as crypto from 'node:crypto';
import { GENERATED_TASK_ID_PREFIX } from './schemas';

/** What an id must look like to be used as it is (the contract's Identifier characters). */
const SAFE_ID = /^[A-Za-z0-9._:@\-/]+$/;
/** Longest delivery id kept as it is: `task-<id>` stays far inside every store's key limits. */
export const MAX_EVENT_ID_LENGTH = 200;
/**
 * The event id for a delivery id (SQS / Service Bus / Pub/Sub message id, an envelope id,
 * `x-request-id`): kept when it is 1-200 characters of letters, digits and `. _ : @ - /`,
 * else `msg-<first 32 hex digits of its sha-256>`. Transport ids are chosen by whoever sends
 * the message, so they are never trusted as they are: a 10 kB id with NUL bytes or a
 * 3,000-character one would otherwise become a task id past the store's key limit. (A sender
 * who sends `msg-<hash of U>` gets the task of the message id U; knowing U it could send U
 * itself, so reserving the prefix would protect nothing, and would rename ids like `msg-42`.)
 */
export function safeEventId(raw: string): string {
  if (raw.length <= MAX_EVENT_ID_LENGTH && SAFE_ID.test(raw)) return raw;
  return `msg-${sha256Hex(raw).slice(0, 32)}`;
}

/** The task id of a request without one: `task-<safe event id>`, a namespace clients cannot use. */
export function generatedTaskId(eventId: string): string {
  return `${GENERATED_TASK_ID_PREFIX}${eventId}`;
}

export function safeHash(input: unknown): string {
  try {
    return bodyHash(input);
  } catch {
    // Too deep to hash (the depth check rejected it): an id that is at least unique.
    return `h-unhashable-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  }
}

/** A stable id for a body without a transport id: sha-256 of its canonical JSON. */
export function bodyHash(input: unknown): string {
  return `h-${sha256Hex(stableStringify(input)).slice(0, 32)}`;
}

/** One-shot `crypto.hash` where the runtime has it (Node >= 20.12): no Hash object per call. */
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;
const sha256Hex = oneShot
  ? (data: string) => oneShot('sha256', data, 'hex')
  : (data: string) => crypto.createHash('sha256').update(data).digest('hex');

/**
 * JSON with object keys in sorted order (arrays keep theirs): the same body always gives the
 * same text, whatever order its sender wrote the keys in. Built in one pass into one string.
 */
export function stableStringify(value: unknown): string {
  return write(value, '');
}

function write(value: unknown, out: string): string {
  if (typeof value === 'string') return out + JSON.stringify(value);
  if (typeof value !== 'object' || value === null) return out + (JSON.stringify(value) ?? 'null');
  if (value instanceof Uint8Array) return out + JSON.stringify(Buffer.from(value).toString('utf8'));
  if (Array.isArray(value)) {
    out += '[';
    for (let i = 0; i < value.length; i++) out = write(value[i], i === 0 ? out : `${out},`);
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  // Senders mostly write keys in a fixed order; sort only when they are not already sorted.
  for (let i = 1; i < keys.length; i++)
    if (keys[i - 1]! > keys[i]!) {
      keys.sort();
      break;
    }
  out += '{';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    out = write(record[key], `${i === 0 ? out : `${out},`}${JSON.stringify(key)}:`);
  }
  return `${out}}`;
}
