/**
 * Sweep part: every agent's slots are made to match the ledger, both ways. A slot held for a
 * task not assigned to the agent (a crash between claim and commit) is released; an assigned
 * task missing from its agent's slots (a release that raced a commit) is added back.
 */
import type { TaskRecord } from '../../model';
import type { CoreServices } from '../services';

/** A claim this recent may be about to commit: it is left to the next sweep. */
const CLAIM_GRACE_MS = 60_000;

/** Returns the number of slots repaired. */
export async function reconcileSlots(s: CoreServices, assigned: readonly TaskRecord[]): Promise<number> {
  const holders = new Map(assigned.map((t) => [t.task_id, t]));
  let repaired = 0;
  for (const agent of await s.registry.list()) {
    for (const taskId of agent.active_task_ids) {
      const task = holders.get(taskId) ?? (await s.ledger.get(taskId));
      if (task?.status === 'assigned' && task.assigned_agents.includes(agent.agent_id)) continue;
      if (task?.status === 'queued' && s.clock.now() - Date.parse(task.updated_at) < CLAIM_GRACE_MS) continue;
      await s.registry.releaseSlot(agent.agent_id, taskId);
      repaired += 1;
    }
    for (const listed of assigned) {
      if (!listed.assigned_agents.includes(agent.agent_id) || agent.active_task_ids.includes(listed.task_id))
        continue;
      // The listing may be older than a release: believe only a fresh read.
      const task = await s.ledger.get(listed.task_id);
      if (task?.status !== 'assigned' || !task.assigned_agents.includes(agent.agent_id)) continue;
      await s.registry.claimSlot(agent.agent_id, task.task_id, { force: true });
      repaired += 1;
    }
  }
  return repaired;
}
