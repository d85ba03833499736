/**
 * The drain: queued tasks go to free agents, highest priority and oldest first, to the least
 * loaded capable agent (a pinned task only to its agent), skipping tasks whose dependencies
 * have not completed. Runs whenever a slot may have opened.
 */
import { errorMessage } from '../errors';
import type { AgentRecord, TaskRecord } from '../model';
import { METRICS } from '../ports';
import {
  capableCandidates,
  coordinationCandidates,
  hasFreeSlot,
  isCapable,
  requiredCapabilities,
} from '../routing/eligibility';
import { decideByRules } from '../routing/rules-router';
import { routingRequest } from './decision-record';
import { dependenciesReady } from './dependencies';
import { executeDecision } from './execute-decision';
import type { CoreServices } from './services';

const DRAIN_LIMIT = 200;

/** Returns the ids of the tasks it assigned. */
export async function drainQueue(s: CoreServices): Promise<string[]> {
  const queued = await s.ledger.list('queued', DRAIN_LIMIT);
  s.telemetry.metric(METRICS.queueDepth, queued.length, 'Count');
  if (queued.length === 0) return [];
  const agents = new Map((await s.registry.list()).map((a) => [a.agent_id, a]));
  const assigned: string[] = [];
  for (const task of queued) {
    const free = [...agents.values()].filter(hasFreeSlot);
    if (free.length === 0) break;
    // Only the free agents that could take this task matter: most queued tasks wait for a
    // capability whose agents are all busy, and are passed over without building a request.
    const candidates = drainCandidates(task, free, agents);
    if (candidates.length === 0) continue;
    if (task.dependencies.length > 0 && !(await dependenciesReady(s, task))) continue;
    const routed = decideByRules(
      routingRequest(task, candidates),
      task.pinned_agent ? 'direct:drain' : 'drain',
    );
    if (routed.decision.action !== 'assign_task' && routed.decision.action !== 'delegate_coordination')
      continue;
    routed.decision.reasoning = `from the queue: ${routed.decision.reasoning}`;
    if (task.pinned_agent) routed.router = 'direct';
    const result = await executeDecision(s, task, routed, { onNoSlot: 'skip', snapshot: agents }).catch(
      (err: unknown) => {
        s.logger.warn('drain: could not assign a queued task; it stays queued', {
          task_id: task.task_id,
          error: errorMessage(err),
        });
        return undefined;
      },
    );
    if (result?.status === 'assigned' && !result.duplicate) assigned.push(task.task_id);
  }
  return assigned;
}

/**
 * The free agents that may take the task; coordination agents when no registered agent has
 * the capability at all (a pinned task only ever goes to its agent).
 */
function drainCandidates(
  task: TaskRecord,
  free: readonly AgentRecord[],
  all: ReadonlyMap<string, AgentRecord>,
): AgentRecord[] {
  const capable = capableCandidates(task, free);
  if (capable.length > 0 || task.pinned_agent) return capable;
  const required = requiredCapabilities(task);
  if ([...all.values()].some((a) => isCapable(a, required))) return [];
  return coordinationCandidates(task, free);
}
