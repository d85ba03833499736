/**
 * The real size limits of the stores and buses the coordinator runs on, and the check every
 * request passes before its task is created: a task that could never be stored whole or
 * published as one event is refused at once with the limit named, instead of being created and
 * then failing at every commit or publish.
 */
import { PayloadTooLargeError } from './errors';

export interface SizeLimit {
  bytes: number;
  /** What the limit is, as its documentation names it. */
  what: string;
}

const KB = 1024;

/** Per state store adapter (`StateStore.name`): the largest record. */
export const STORE_LIMITS: Readonly<Record<string, SizeLimit>> = {
  dynamodb: { bytes: 400 * KB, what: 'the DynamoDB item size limit (400 KB)' },
  cosmos: { bytes: 2 * KB * KB, what: 'the Cosmos DB item size limit (2 MB)' },
  firestore: { bytes: KB * KB - 89, what: 'the Firestore document size limit (1 MiB)' },
};

/** Per bus adapter (`EventBus.name`; a fan-out bus is named `a+b`): the largest event. */
export const BUS_LIMITS: Readonly<Record<string, SizeLimit>> = {
  eventbridge: { bytes: 256 * KB, what: 'the EventBridge entry size limit (256 KB)' },
  sqs: { bytes: 256 * KB, what: 'the SQS message size limit (256 KB)' },
  'service-bus': { bytes: 256 * KB, what: 'the Service Bus standard tier message size limit (256 KB)' },
  pubsub: { bytes: 10 * KB * KB, what: 'the Pub/Sub message size limit (10 MB)' },
};

/** Room a task record needs besides its data: decision history (up to 20), outbox envelopes, result. */
export const RECORD_RESERVE_BYTES = 128 * KB;
/** Room an assignment event needs besides the task data: ids, decision summary, reasoning. */
export const EVENT_RESERVE_BYTES = 8 * KB;

/** The tightest limit among `name`'s parts (`eventbridge+sqs`), if any is known. */
export function limitFor(table: Readonly<Record<string, SizeLimit>>, name: string): SizeLimit | undefined {
  let tightest: SizeLimit | undefined;
  for (const part of name.split('+')) {
    const limit = table[part];
    if (limit && (!tightest || limit.bytes < tightest.bytes)) tightest = limit;
  }
  return tightest;
}

export interface PayloadLimits {
  store?: SizeLimit;
  bus?: SizeLimit;
}

/** Bytes of the task data as JSON (what a store or a bus will carry), 0 when there is none. */
export function jsonBytes(value: unknown): number {
  return value === undefined ? 0 : Buffer.byteLength(JSON.stringify(value), 'utf8');
}

/**
 * Throws a permanent `PayloadTooLargeError` naming the limit and the size when `bytes` of task
 * data cannot fit a record of the store or an event of the bus. `hint` says what would help.
 */
export function checkTaskDataSize(bytes: number, limits: PayloadLimits, hint?: string): void {
  const checks: Array<[SizeLimit | undefined, number]> = [
    [limits.store, RECORD_RESERVE_BYTES],
    [limits.bus, EVENT_RESERVE_BYTES],
  ];
  for (const [limit, reserve] of checks) {
    if (!limit) continue;
    const room = limit.bytes - reserve;
    if (bytes > room) {
      throw new PayloadTooLargeError(
        `task_data is ${bytes} bytes: over the ${room} bytes a task may carry within ${limit.what}` +
          (hint ? `; ${hint}` : ''),
      );
    }
  }
}
