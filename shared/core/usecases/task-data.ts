/**
 * A request's task data on its way into the ledger. Above the claim-check threshold (with a
 * payload store configured) it goes to the payload bucket and the task carries the reference;
 * otherwise it must fit the store's record and the bus's event, or the request is refused now
 * with the limit named, before a task exists that could never be committed or published.
 */
import { createHash } from 'node:crypto';
import { checkTaskDataSize, jsonBytes } from '../limits';
import type { PayloadRef } from '../model';
import type { CoreServices } from './services';

export interface PreparedTaskData {
  task_data?: unknown;
  task_data_ref?: PayloadRef;
}

export async function prepareTaskData(
  s: CoreServices,
  taskId: string,
  data: unknown,
): Promise<PreparedTaskData> {
  if (data === undefined) return {};
  const bytes = jsonBytes(data);
  if (s.payloads && bytes > s.settings.claimCheckBytes) {
    const ref = await s.payloads.put(payloadKey(taskId), Buffer.from(JSON.stringify(data), 'utf8'));
    return { task_data_ref: ref };
  }
  checkTaskDataSize(
    bytes,
    s.limits,
    s.payloads ? undefined : 'set PAYLOAD_BUCKET to keep large task data in a payload bucket (claim check)',
  );
  return { task_data: data };
}

/** A key safe in any bucket or directory, one per task id. */
export function payloadKey(taskId: string): string {
  return `tasks/${createHash('sha256').update(taskId).digest('hex')}.json`;
}
