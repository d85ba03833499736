/**
 * Sweep part: assigned tasks past their deadline go back to the queue (or fail when out of
 * attempts), read from the deadline index: only overdue tasks, earliest first, all of them.
 */
import { takeOff } from '../give-back';
import type { CoreServices } from '../services';
import { pages, type SweepFailures } from './isolate';

const PAGE = 100;
const MAX_PAGES = 100;

/** Returns the ids of the tasks it took back. */
export async function requeueOverdue(s: CoreServices, failures: SweepFailures): Promise<string[]> {
  const now = new Date(s.clock.now()).toISOString();
  const requeued: string[] = [];
  for await (const tasks of pages((c) => s.ledger.overdue(now, PAGE, c), MAX_PAGES)) {
    for (const task of tasks) {
      const done = await failures.attempt('deadline', { task_id: task.task_id }, async () => {
        for (const agentId of task.assigned_agents)
          await takeOff(s, task.task_id, agentId, `deadline ${task.deadline_at} passed`, false);
        return true;
      });
      if (done) requeued.push(task.task_id);
    }
  }
  return requeued;
}
