/**
 * A task that exists already (a redelivery, or a request for a task id seen before): finish
 * what a crashed or concurrent delivery left undone, then report the task as it is.
 */
import type { TaskRecord } from '../model';
import { summary, type CoordinationResult, type CoreServices } from './services';

export async function resumeTask(s: CoreServices, task: TaskRecord): Promise<CoordinationResult> {
  let current = task;
  if (current.outbox.length > 0) current = await s.outbox.publish(current);
  if (current.status === 'assigned') {
    // Claims come before the commit, so an assigned task holds its slots; this repairs a
    // slot lost to an operator edit and is a no-op otherwise.
    for (const agentId of current.assigned_agents)
      await s.registry.claimSlot(agentId, current.task_id, { force: true });
  }
  return { ...summary(current), duplicate: true };
}

/** A task still waiting for its first decision (not a redelivery of one already decided). */
export function awaitsFirstDecision(task: TaskRecord): boolean {
  return task.status === 'queued' && !task.decision && task.outbox.length === 0;
}
