/**
 * Sweep part: every agent's slots are made to match the ledger, both ways. A slot held for a
 * task not assigned to the agent (a crash between claim and commit) is released; an assigned
 * task missing from its agent's slots (a release that raced a commit) is added back. It reads
 * the agents' slots and the tasks they name, plus the assigned tasks (bounded by the fleet's
 * slots while the invariant holds), never the whole ledger.
 */
import type { AgentRecord, TaskRecord } from '../../model';
import type { CoreServices } from '../services';
import type { SweepFailures } from './isolate';

/** A claim this recent may be about to commit: it is left to the next sweep. */
const CLAIM_GRACE_MS = 60_000;
const MIN_ASSIGNED_LISTING = 1000;

/** Returns the number of slots repaired. */
export async function reconcileSlots(s: CoreServices, failures: SweepFailures): Promise<number> {
  const agents = await s.registry.listFresh();
  const slots = agents.reduce((n, a) => n + a.max_concurrent_tasks, 0);
  const assigned = await s.ledger.list('assigned', Math.max(MIN_ASSIGNED_LISTING, slots));
  const holders = new Map(assigned.map((t) => [t.task_id, t]));
  const byAgent = new Map<string, TaskRecord[]>();
  for (const t of assigned) {
    for (const a of t.assigned_agents) {
      const list = byAgent.get(a);
      if (list) list.push(t);
      else byAgent.set(a, [t]);
    }
  }
  let repaired = 0;
  for (const agent of agents) {
    const fixed = await failures.attempt('reconcile_slots', { agent_id: agent.agent_id }, () =>
      reconcileAgent(s, agent, holders, byAgent.get(agent.agent_id) ?? []),
    );
    repaired += fixed ?? 0;
  }
  return repaired;
}

async function reconcileAgent(
  s: CoreServices,
  agent: AgentRecord,
  holders: ReadonlyMap<string, TaskRecord>,
  listedForAgent: readonly TaskRecord[],
): Promise<number> {
  let repaired = 0;
  for (const taskId of agent.active_task_ids) {
    const task = holders.get(taskId) ?? (await s.ledger.get(taskId));
    if (task?.status === 'assigned' && task.assigned_agents.includes(agent.agent_id)) continue;
    if (task?.status === 'queued' && s.clock.now() - Date.parse(task.updated_at) < CLAIM_GRACE_MS) continue;
    await s.registry.releaseSlot(agent.agent_id, taskId);
    repaired += 1;
  }
  for (const listed of listedForAgent) {
    if (agent.active_task_ids.includes(listed.task_id)) continue;
    // The listing may be older than a release: believe only a fresh read.
    const task = await s.ledger.get(listed.task_id);
    if (task?.status !== 'assigned' || !task.assigned_agents.includes(agent.agent_id)) continue;
    await s.registry.claimSlot(agent.agent_id, task.task_id, { force: true });
    repaired += 1;
  }
  return repaired;
}
