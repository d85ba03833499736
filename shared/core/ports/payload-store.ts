// The payload store port (claim check).
import type { PayloadRef } from '../model';

/**
 * Where a `task_data` too large for the bus is kept (S3, Blob Storage, a local directory). The
 * task and its assignment carry the returned `PayloadRef` instead of the data; agents read the
 * data through the reference.
 */
export interface PayloadStore {
  readonly name: string;
  /**
   * Stores `body` (UTF-8 JSON) under `key` (derived from the task id, safe as an object key).
   * Idempotent: the same key and bytes give the same reference.
   */
  put(key: string, body: Uint8Array): Promise<PayloadRef>;
  /** The bytes behind a reference this store returned; `NotFoundError` when gone. */
  get(uri: string): Promise<Uint8Array>;
}
