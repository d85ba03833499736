/**
 * Executes a decision on a queued task: reject it, keep it queued (or waiting for its
 * dependencies), or assign it. What a router may not decide is taken out first: dependencies
 * that do not exist or make a cycle, and a raised priority. An assignment claims the targets'
 * slots (conditional agent writes), then commits the task as assigned with its outbox, then
 * publishes. A lost race at any step is undone and, by policy, decided again by the rules.
 */
import { errorMessage, isRetryable } from '../errors';
import { PRIORITY_RANK, type AgentRecord, type TaskRecord } from '../model';
import { METRICS, type RouterResult } from '../ports';
import { decideByRules } from '../routing/rules-router';
import { audit, decisionRecord, routingRequest } from './decision-record';
import { awaitDependencies, dependenciesReady, validDependencies } from './dependencies';
import { summary, type CoordinationResult, type CoreServices } from './services';

/** What to do when every target of an assignment is full by the time it executes. */
export type NoSlotPolicy = 'redecide' | 'queue' | 'skip';

export interface ExecuteOptions {
  onNoSlot?: NoSlotPolicy;
  /** Agents read moments ago; saves a read per claim and is kept current. */
  snapshot?: Map<string, AgentRecord>;
  round?: number;
}

const MAX_ROUNDS = 5;

export async function executeDecision(
  s: CoreServices,
  task: TaskRecord,
  proposed: RouterResult,
  options: ExecuteOptions = {},
): Promise<CoordinationResult> {
  const { onNoSlot = 'redecide', round = 0, snapshot } = options;
  const routed = await withinBounds(s, task, proposed);
  const decision = routed.decision;
  const record = decisionRecord(task, routed, s.ledger.nowIso());
  audit(s.logger, s.telemetry, task, record);

  if (decision.action === 'reject_task') {
    const rejected = await s.ledger.reject(task, record, decision.reasoning || 'rejected by the router');
    return summary(await s.outbox.publish(rejected));
  }

  const { unmet, ended } = await awaitDependencies(s.ledger, decision.dependencies);
  if (decision.action === 'queue_task' || unmet.length > 0) {
    if (unmet.length > 0 && decision.action !== 'queue_task')
      record.reasoning = `${record.reasoning} (waiting for ${unmet.join(', ')})`.trim();
    const queued = await s.ledger.keepQueued(task, record, decision.dependencies);
    // A dependency that failed or is gone fails the task now, not at some later drain.
    if (ended && queued.status === 'queued' && !(await dependenciesReady(s, queued)))
      return summary((await s.ledger.get(task.task_id)) ?? queued);
    return summary(queued);
  }

  // assign_task / delegate_coordination
  const claimed: string[] = [];
  /** Claimed agents that take work over A2A: their assignments are marked so (no lookup at dispatch). */
  const a2a = new Set<string>();
  for (const agentId of decision.target_agents) {
    // Under contention a claim gives up after a fresh read instead of backing off on the same
    // agent: the decision is taken again below, spread over the equally good agents.
    const agent = await s.registry.claimSlot(agentId, task.task_id, { snapshot, contended: 'give_up' });
    if (!agent) continue;
    claimed.push(agentId);
    if (agent.a2a) a2a.add(agentId);
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
    const again = decideByRules(
      routingRequest(task, await s.registry.listFresh()),
      'rules:slot_conflict',
      true,
    );
    again.fallback_reason = `targets full at execution: ${decision.target_agents.join(', ')}`;
    return executeDecision(s, task, again, { onNoSlot, round: round + 1 });
  }

  record.target_agents = claimed;
  let committed: TaskRecord;
  try {
    committed = await s.ledger.commitAssignment(task, claimed, record, decision.estimated_duration, a2a);
  } catch (err) {
    await s.registry.releaseSlots(claimed, task.task_id, snapshot);
    if (!isRetryable(err)) await countCommitFailure(s, task, err);
    throw err;
  }
  // Slots are ours unless the stored task is assigned to that agent (another delivery's claim
  // of the same slot): a task that completed or moved on in the meantime keeps none of them.
  const keeps = (a: string) => committed.status === 'assigned' && committed.assigned_agents.includes(a);
  if (committed.status !== 'assigned' || !claimed.every((a) => committed.assigned_agents.includes(a))) {
    await s.registry.releaseSlots(
      claimed.filter((a) => !keeps(a)),
      task.task_id,
      snapshot,
    );
    return { ...summary(committed), duplicate: true };
  }
  s.telemetry.metric(
    METRICS.assignmentLatency,
    s.clock.now() - Date.parse(committed.created_at),
    'Milliseconds',
  );
  return summary(await s.outbox.publish(committed));
}

/**
 * What a router may not decide, taken out with a reason in `dropped`: dependencies that do
 * not exist or would make a cycle, and a priority above the request's (unless configured).
 */
async function withinBounds(s: CoreServices, task: TaskRecord, routed: RouterResult): Promise<RouterResult> {
  const decision = routed.decision;
  const dropped: string[] = [];
  let { dependencies, priority } = decision;
  if (dependencies.length > 0) {
    const valid = await validDependencies(s.ledger, task.task_id, dependencies);
    dependencies = valid.kept;
    dropped.push(...valid.dropped);
  }
  if (
    priority &&
    !s.settings.routerMayRaisePriority &&
    PRIORITY_RANK[priority] < PRIORITY_RANK[task.priority]
  ) {
    dropped.push(`priority: ${priority} is above the request's ${task.priority}; kept ${task.priority}`);
    priority = task.priority;
  }
  if (dropped.length === 0) return routed;
  return {
    ...routed,
    decision: { ...decision, dependencies, ...(priority ? { priority } : {}) },
    dropped: [...(routed.dropped ?? []), ...dropped],
  };
}

/** A permanent commit failure is counted on the task; past the cap the task fails (and says so). */
async function countCommitFailure(s: CoreServices, task: TaskRecord, err: unknown): Promise<void> {
  try {
    const updated = await s.ledger.recordCommitFailure(
      task.task_id,
      errorMessage(err),
      s.settings.maxCommitFailures,
    );
    if (updated && updated.outbox.length > 0) await s.outbox.publish(updated);
  } catch (countErr) {
    s.logger.warn('could not record a failed commit', {
      task_id: task.task_id,
      error: errorMessage(countErr),
    });
  }
}
