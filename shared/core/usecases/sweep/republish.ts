/**
 * Sweep part: events left in an outbox (a crash or a bus failure after the commit) are
 * published again, from the pending-outbox index: every task that needs it, whatever its
 * status, and no other. Event ids are deterministic, so a bus with duplicate detection drops a
 * copy that did get through.
 */
import type { CoreServices } from '../services';
import { pages, type SweepFailures } from './isolate';

const PAGE = 100;
const MAX_PAGES = 100;

/** Returns how many events it published. */
export async function republishOutboxes(s: CoreServices, failures: SweepFailures): Promise<number> {
  let republished = 0;
  for await (const tasks of pages((c) => s.ledger.pendingOutbox(PAGE, c), MAX_PAGES)) {
    for (const task of tasks) {
      const ok = await failures.attempt('republish', { task_id: task.task_id }, () => s.outbox.publish(task));
      if (ok) republished += task.outbox.length;
    }
  }
  return republished;
}
