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
 * Lowest load ratio, then fewest tasks. Among agents equally good by both, `spreadKey` (the
 * task id) picks one by hash, so concurrent requests for one pool spread over its agents
 * instead of all claiming the first (each claim is a conditional write on that agent's
 * record: a pile-up there is a storm of conflicts and backoffs). Without a key: the lowest id.
 */
export function leastLoaded<A extends AgentView>(agents: readonly A[], spreadKey?: string): A | undefined {
  let best: A[] = [];
  for (const a of agents) {
    const b = best[0];
    const order = b ? loadRatio(a) - loadRatio(b) || a.active_tasks - b.active_tasks : -1;
    if (order < 0) best = [a];
    else if (order === 0) best.push(a);
  }
  if (best.length <= 1) return best[0];
  best.sort((a, b) => (a.agent_id < b.agent_id ? -1 : a.agent_id > b.agent_id ? 1 : 0));
  return spreadKey === undefined ? best[0] : best[fnv1a(spreadKey) % best.length];
}

/** A small, fast string hash (FNV-1a, 32 bits): spreads, nothing more. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
