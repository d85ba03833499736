/**
 * Pure decision helpers shared by the rules router, the LLM router's fast path, decision
 * validation and the drain: who can take a task, who is free, who is least loaded. They work
 * on the router's agent view, which an agent record also satisfies.
 */
import type { TaskRecord } from '../model';
import type { AgentView } from '../ports';

/** Capability that marks an agent able to coordinate (receive `delegate_coordination`). */
export const COORDINATION_CAPABILITY = 'coordination';

/** What eligibility looks at on a task. */
export type TaskNeeds = Pick<TaskRecord, 'required_capabilities' | 'task_type' | 'failed_agents'> & {
  pinned_agent?: string;
};

/** The capabilities a task needs: explicit ones, else its task type. */
export function requiredCapabilities(
  task: Pick<TaskRecord, 'required_capabilities' | 'task_type'>,
): string[] {
  return task.required_capabilities.length > 0 ? task.required_capabilities : [task.task_type];
}

export const hasFreeSlot = (a: AgentView): boolean =>
  a.status === 'available' && a.active_tasks < a.max_concurrent_tasks;

/** An agent can take a task when it has every required capability. */
export const isCapable = (a: AgentView, required: readonly string[]): boolean =>
  required.every((c) => a.capabilities.includes(c));

export const loadRatio = (a: AgentView): number => a.active_tasks / Math.max(1, a.max_concurrent_tasks);

/** Not ruled out for this task: it did not fail it before, and it is the pinned agent if any. */
export function mayTake(task: TaskNeeds, agentId: string): boolean {
  return (!task.pinned_agent || agentId === task.pinned_agent) && !task.failed_agents.includes(agentId);
}

/** Capable agents not ruled out for this task. */
export function capableCandidates<A extends AgentView>(task: TaskNeeds, agents: readonly A[]): A[] {
  const required = requiredCapabilities(task);
  return agents.filter((a) => mayTake(task, a.agent_id) && isCapable(a, required));
}

/** Free coordination agents not ruled out for this task: where a task nobody can do is delegated. */
export function coordinationCandidates<A extends AgentView>(task: TaskNeeds, agents: readonly A[]): A[] {
  return agents.filter(
    (a) => hasFreeSlot(a) && a.capabilities.includes(COORDINATION_CAPABILITY) && mayTake(task, a.agent_id),
  );
}

/**
 * Lowest load ratio, then fewest tasks. With `spreadKey` (the task id) the pick is spread over
 * the equally good agents by the key's hash, so that concurrent requests for one pool claim
 * different agents instead of all claiming the same one (each claim is a conditional write on
 * that agent's record: a pile-up there is a storm of conflicts and re-decisions). Equally good:
 * the least loaded, and the agents of the same capacity within one task of it (in a pool of
 * alike agents the loads differ by a task or two all the time, so exact ties alone would
 * rarely spread). Without a key: the least loaded, lowest id first.
 */
export function leastLoaded<A extends AgentView>(agents: readonly A[], spreadKey?: string): A | undefined {
  let best: A | undefined;
  for (const a of agents) {
    if (
      !best ||
      (loadRatio(a) - loadRatio(best) ||
        a.active_tasks - best.active_tasks ||
        (a.agent_id < best.agent_id ? -1 : 1)) < 0
    )
      best = a;
  }
  if (!best || spreadKey === undefined) return best;
  const b = best;
  const good = agents.filter(
    (a) =>
      a === b ||
      (loadRatio(a) === loadRatio(b) && a.active_tasks === b.active_tasks) ||
      (a.max_concurrent_tasks === b.max_concurrent_tasks && a.active_tasks <= b.active_tasks + 1),
  );
  if (good.length === 1) return b;
  good.sort((x, y) => (x.agent_id < y.agent_id ? -1 : x.agent_id > y.agent_id ? 1 : 0));
  return good[fnv1a(spreadKey) % good.length];
}

/** A small, fast string hash (FNV-1a, 32 bits): spreads, nothing more. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
