/**
 * Sweep part: events left in an outbox (a crash or a bus failure after the commit) are
 * published again. Their ids are deterministic, so a bus with duplicate detection drops a
 * copy that did get through.
 */
import type { TaskRecord } from '../../model';
import type { CoreServices } from '../services';

/** Publishes the pending events of the given tasks; returns how many it published. */
export async function republishOutboxes(s: CoreServices, tasks: readonly TaskRecord[]): Promise<number> {
  let republished = 0;
  for (const task of tasks) {
    if (task.outbox.length === 0) continue;
    await s.outbox.publish(task);
    republished += task.outbox.length;
  }
  return republished;
}

/** Rejected and failed tasks whose `Task Rejected` / `Task Failed` is still pending. */
export async function republishClosedOutboxes(s: CoreServices): Promise<number> {
  let republished = 0;
  for (const status of ['rejected', 'failed'] as const)
    republished += await republishOutboxes(s, await s.ledger.list(status, 200));
  return republished;
}
