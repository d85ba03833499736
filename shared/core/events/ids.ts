/**
 * Ids of deliveries and the tasks they create: delivery ids are kept only when safe, hashed
 * otherwise; a body without any id gets the hash of its canonical JSON; generated task ids
 * live in a namespace of their own.
 */
import { createHash } from 'node:crypto';
import { GENERATED_TASK_ID_PREFIX } from './schemas';

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

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
  return `msg-${createHash('sha256').update(raw, 'utf8').digest('hex').slice(0, 32)}`;
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
  return `h-${createHash('sha256').update(stableStringify(input)).digest('hex').slice(0, 32)}`;
}

export function stableStringify(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof Uint8Array) return JSON.stringify(Buffer.from(value).toString('utf8'));
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (isObject(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableStringify(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
