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

/** Lowest load ratio, then fewest tasks, then id for a stable tie-break. */
export function leastLoaded<A extends AgentView>(agents: readonly A[]): A | undefined {
  return [...agents].sort(
    (a, b) =>
      loadRatio(a) - loadRatio(b) || a.active_tasks - b.active_tasks || a.agent_id.localeCompare(b.agent_id),
  )[0];
}
