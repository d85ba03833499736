/**
 * The deterministic router: the default router and the fallback of every LLM router.
 * Capability match, then availability, then least load (ratio, then count), then id for a
 * stable tie-break. It never fails and never calls anything.
 */
import { isCapableView, loadRatio, viewHasFreeSlot } from './agent-view';
import type { AgentView, Router, RouterResult, RoutingRequest } from '../ports';

/** Capability that marks an agent able to coordinate (receive `delegate_coordination`). */
export const COORDINATION_CAPABILITY = 'coordination';

export class RulesRouter implements Router {
  readonly name = 'rules';

  async decide(request: RoutingRequest): Promise<RouterResult> {
    return decideByRules(request);
  }

  async decideBatch(requests: readonly RoutingRequest[]): Promise<RouterResult[]> {
    return requests.map((r) => decideByRules(r));
  }
}

export function requiredOf(task: RoutingRequest['task']): string[] {
  return task.required_capabilities.length > 0 ? task.required_capabilities : [task.task_type];
}

/** Capable agents not excluded for this task (failed on it before). */
export function candidatesFor(request: RoutingRequest): AgentView[] {
  const required = requiredOf(request.task);
  const excluded = new Set(request.task.failed_agents);
  return request.agents.filter((a) => !excluded.has(a.agent_id) && isCapableView(a, required));
}

export function leastLoaded(agents: readonly AgentView[]): AgentView | undefined {
  return [...agents].sort(
    (a, b) =>
      loadRatio(a) - loadRatio(b) || a.active_tasks - b.active_tasks || a.agent_id.localeCompare(b.agent_id),
  )[0];
}

export function decideByRules(request: RoutingRequest, path = 'rules'): RouterResult {
  const required = requiredOf(request.task);
  const capable = candidatesFor(request);
  const free = capable.filter(viewHasFreeSlot);
  const priority = request.task.priority;
  const best = leastLoaded(free);
  if (best) {
    return result(path, {
      action: 'assign_task',
      target_agents: [best.agent_id],
      reasoning: `${best.agent_id} has ${required.join(', ')} and the lowest load (${best.active_tasks}/${best.max_concurrent_tasks}) among ${free.length} available capable agent(s)`,
      priority,
    });
  }
  if (capable.length > 0) {
    return result(path, {
      action: 'queue_task',
      target_agents: [],
      reasoning: `all ${capable.length} agent(s) with ${required.join(', ')} are busy, offline or full; queued until one is free`,
      priority,
    });
  }
  const coordinator = leastLoaded(
    request.agents.filter(
      (a) =>
        viewHasFreeSlot(a) &&
        a.capabilities.includes(COORDINATION_CAPABILITY) &&
        !request.task.failed_agents.includes(a.agent_id),
    ),
  );
  if (coordinator) {
    return result(path, {
      action: 'delegate_coordination',
      target_agents: [coordinator.agent_id],
      reasoning: `no registered agent has ${required.join(', ')}; delegated to coordination agent ${coordinator.agent_id}`,
      priority,
    });
  }
  return result(path, {
    action: 'queue_task',
    target_agents: [],
    reasoning: `no registered agent has ${required.join(', ')}; queued until one registers`,
    priority,
  });
}

function result(
  path: string,
  d: Omit<RouterResult['decision'], 'task_distribution' | 'dependencies'>,
): RouterResult {
  return {
    router: 'rules',
    path,
    decision: { task_distribution: {}, dependencies: [], ...d },
  };
}
