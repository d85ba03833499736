/**
 * The deterministic router: the default router and the fallback of every LLM router.
 * Capability match, then availability, then least load (ratio, then count); among the equally
 * loaded agents the task id's hash picks one, so that concurrent deliveries for one pool claim
 * different agents instead of all racing for the lowest id (the same task always gets the same
 * pick from the same registry). It never fails and never calls anything.
 */
import {
  capableCandidates,
  coordinationCandidates,
  hasFreeSlot,
  leastLoaded,
  requiredCapabilities,
} from './eligibility';
import type { Router, RouterResult, RoutingRequest } from '../ports';

export class RulesRouter implements Router {
  readonly name = 'rules';

  async decide(request: RoutingRequest): Promise<RouterResult> {
    return decideByRules(request);
  }

  async decideBatch(requests: readonly RoutingRequest[]): Promise<RouterResult[]> {
    return requests.map((r) => decideByRules(r));
  }
}

/**
 * `spread` (default): among equally loaded agents, pick by the task id's hash; false picks the
 * lowest id (a fixed order, for callers that want one).
 */
export function decideByRules(request: RoutingRequest, path = 'rules', spread = true): RouterResult {
  const required = requiredCapabilities(request.task);
  const capable = capableCandidates(request.task, request.agents);
  const free = capable.filter(hasFreeSlot);
  const priority = request.task.priority;
  const best = leastLoaded(free, spread ? request.task.task_id : undefined);
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
  const coordinator = leastLoaded(coordinationCandidates(request.task, request.agents));
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
