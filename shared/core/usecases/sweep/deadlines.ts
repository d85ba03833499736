/** Sweep part: assigned tasks past their deadline go back to the queue (or fail when out of attempts). */
import type { TaskRecord } from '../../model';
import { takeOff } from '../give-back';
import type { CoreServices } from '../services';

/** Returns the ids of the tasks it took back. */
export async function requeueOverdue(s: CoreServices, assigned: readonly TaskRecord[]): Promise<string[]> {
  const now = s.clock.now();
  const requeued: string[] = [];
  for (const task of assigned) {
    if (!task.deadline_at || Date.parse(task.deadline_at) >= now) continue;
    for (const agentId of task.assigned_agents)
      await takeOff(s, task.task_id, agentId, `deadline ${task.deadline_at} passed`, false);
    requeued.push(task.task_id);
  }
  return requeued;
}
