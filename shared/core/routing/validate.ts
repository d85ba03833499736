/**
 * Validation of a router's decision against the registry. Whatever the router said, only
 * registered, capable, available agents get work: the invalid part is dropped (and recorded),
 * and when nothing valid is left the caller lets the deterministic router decide.
 */
import * as z from 'zod';
import { RoutingDecision } from '../model';
import type { RoutingRequest } from '../ports';
import { COORDINATION_CAPABILITY, hasFreeSlot, isCapable, requiredCapabilities } from './eligibility';

export interface ValidatedDecision {
  decision: RoutingDecision;
  dropped: string[];
}

/** Parses unknown router output. Returns the zod problems as text when it does not fit. */
export function parseDecision(
  raw: unknown,
): { ok: true; decision: RoutingDecision } | { ok: false; problem: string } {
  const parsed = RoutingDecision.safeParse(raw);
  if (parsed.success) return { ok: true, decision: parsed.data };
  return { ok: false, problem: z.prettifyError(parsed.error).slice(0, 500) };
}

/**
 * Drops targets that are unknown, incapable, unavailable, full or failed before. Returns
 * `undefined` when an assign/delegate decision has no valid target left.
 */
export function validateDecision(
  decision: RoutingDecision,
  request: RoutingRequest,
): ValidatedDecision | undefined {
  const dropped: string[] = [];
  const byId = new Map(request.agents.map((a) => [a.agent_id, a]));
  const required = requiredCapabilities(request.task);
  const failed = new Set(request.task.failed_agents);
  const needsTargets = decision.action === 'assign_task' || decision.action === 'delegate_coordination';

  const targets: string[] = [];
  for (const id of new Set(decision.target_agents)) {
    const agent = byId.get(id);
    const need = decision.action === 'delegate_coordination' ? [COORDINATION_CAPABILITY] : required;
    if (!agent) dropped.push(`${id}: not a registered agent`);
    else if (failed.has(id)) dropped.push(`${id}: already failed this task`);
    else if (!isCapable(agent, need))
      dropped.push(`${id}: lacks ${need.filter((c) => !agent.capabilities.includes(c)).join(', ')}`);
    else if (!hasFreeSlot(agent))
      dropped.push(
        `${id}: not available (${agent.status}, ${agent.active_tasks}/${agent.max_concurrent_tasks})`,
      );
    else targets.push(id);
  }
  if (needsTargets && targets.length === 0) return undefined;

  const distribution: Record<string, string> = {};
  for (const [id, part] of Object.entries(decision.task_distribution)) {
    if (targets.includes(id)) distribution[id] = part;
  }
  // Dependencies are task ids; a task cannot depend on itself.
  const dependencies = decision.dependencies.filter((d) => d !== request.task.task_id);
  return {
    decision: {
      ...decision,
      target_agents: needsTargets ? targets : [],
      task_distribution: distribution,
      dependencies,
      priority: decision.priority ?? request.task.priority,
    },
    dropped,
  };
}
