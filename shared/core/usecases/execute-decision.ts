/**
 * Executes a validated decision on a queued task: reject it, keep it queued (or waiting for
 * its dependencies), or assign it. An assignment claims the targets' slots first (conditional
 * agent writes), then commits the task as assigned with its outbox, then publishes. A lost
 * race at any step is undone and, by policy, decided again by the rules.
 */
import type { AgentRecord, TaskRecord } from '../model';
import { METRICS, type RouterResult } from '../ports';
import { decideByRules } from '../routing/rules-router';
import { audit, decisionRecord, routingRequest } from './decision-record';
import { unmetDependencies } from './dependencies';
import { summary, type CoordinationResult, type CoreServices } from './services';

/** What to do when every target of an assignment is full by the time it executes. */
export type NoSlotPolicy = 'redecide' | 'queue' | 'skip';

export interface ExecuteOptions {
  onNoSlot?: NoSlotPolicy;
  /** Agents read moments ago; saves a read per claim and is kept current. */
  snapshot?: Map<string, AgentRecord>;
  round?: number;
}

const MAX_ROUNDS = 3;

export async function executeDecision(
  s: CoreServices,
  task: TaskRecord,
  routed: RouterResult,
  options: ExecuteOptions = {},
): Promise<CoordinationResult> {
  const { onNoSlot = 'redecide', round = 0, snapshot } = options;
  const decision = routed.decision;
  const record = decisionRecord(task, routed, new Date(s.clock.now()).toISOString());
  audit(s.logger, s.telemetry, task, record);

  if (decision.action === 'reject_task') {
    const rejected = await s.ledger.reject(task, record, decision.reasoning || 'rejected by the router');
    return summary(await s.outbox.publish(rejected));
  }

  const unmet = await unmetDependencies(s.ledger, decision.dependencies);
  if (decision.action === 'queue_task' || unmet.length > 0) {
    if (unmet.length > 0 && decision.action !== 'queue_task')
      record.reasoning = `${record.reasoning} (waiting for ${unmet.join(', ')})`.trim();
    return summary(await s.ledger.keepQueued(task, record, decision.dependencies));
  }

  // assign_task / delegate_coordination
  const claimed: string[] = [];
  for (const agentId of decision.target_agents) {
    if (await s.registry.claimSlot(agentId, task.task_id, { snapshot })) claimed.push(agentId);
  }
  if (claimed.length === 0) {
    // Every target filled up since the decision (another task took the slot).
    if (onNoSlot === 'skip') return summary(task);
    if (onNoSlot === 'queue' || round >= MAX_ROUNDS) {
      const reasoning = `${decision.reasoning} (no free slot on ${decision.target_agents.join(', ')}; queued)`;
      const queued = {
        ...routed,
        decision: { ...decision, action: 'queue_task' as const, target_agents: [], reasoning },
      };
      return executeDecision(s, task, queued, { onNoSlot: 'queue', round: round + 1 });
    }
    // Decide again on the current registry, by the rules.
    const again = decideByRules(routingRequest(task, await s.registry.list()), 'rules:slot_conflict');
    again.fallback_reason = `targets full at execution: ${decision.target_agents.join(', ')}`;
    return executeDecision(s, task, again, { onNoSlot, round: round + 1 });
  }

  record.target_agents = claimed;
  let committed: TaskRecord;
  try {
    committed = await s.ledger.commitAssignment(task, claimed, record, decision.estimated_duration);
  } catch (err) {
    await s.registry.releaseSlots(claimed, task.task_id);
    throw err;
  }
  if (committed.status !== 'assigned' || !claimed.every((a) => committed.assigned_agents.includes(a))) {
    // Another delivery assigned it first: give our slots back.
    const ours = claimed.filter((a) => !committed.assigned_agents.includes(a));
    await s.registry.releaseSlots(ours, task.task_id);
    return { ...summary(committed), duplicate: true };
  }
  s.telemetry.metric(
    METRICS.assignmentLatency,
    s.clock.now() - Date.parse(committed.created_at),
    'Milliseconds',
  );
  return summary(await s.outbox.publish(committed));
}
