/**
 * The drain: queued tasks go to free agents, highest priority and oldest first, to the least
 * loaded capable agent (a pinned task only to its agent), skipping tasks whose dependencies
 * have not completed. Runs whenever a slot may have opened.
 *
 * It reads only the heads of the queues a free agent can serve (one queue per capability set
 * and per pinned agent; after a completion, only those the freed agent can serve), merged in queue order, and pages further into a queue only while an
 * agent that could serve it is still free: the cost follows the free slots, not the depth of
 * the queue, and a task deep in a queue is still found (no head-of-line starvation).
 */
import { errorMessage } from '../errors';
import { queueKeyCapabilities, queueOrderKey, type AgentRecord, type TaskRecord } from '../model';
import { METRICS } from '../ports';
import {
  capableCandidates,
  COORDINATION_CAPABILITY,
  coordinationCandidates,
  hasFreeSlot,
  isCapable,
  requiredCapabilities,
} from '../routing/eligibility';
import { decideByRules } from '../routing/rules-router';
import { routingRequest } from './decision-record';
import { dependenciesReady } from './dependencies';
import { executeDecision } from './execute-decision';
import { awaitsFirstDecision } from './resume-task';
import type { CoreServices } from './services';

/** Tasks read per queue page. */
const PAGE = 25;
/** Pages one drain may read in all: bounds a drain over queues full of tasks nobody may take. */
const MAX_PAGES = 40;
/** A task this new without a decision is still being routed by its own delivery: not drained. */
const IN_FLIGHT_GRACE_MS = 60_000;

/** A drain's read position in one queue. */
interface QueueCursor {
  key: string;
  items: TaskRecord[];
  next: number;
  cursor?: string;
  /** No page left to read. */
  exhausted: boolean;
}

/**
 * What a drain looks at: every queue some free agent can serve (the sweep, an error report), or
 * only the queues the named agents can serve, when only their slots opened (a completion, an
 * agent coming back): any other queue a free agent could take from was drained when that agent's
 * slot opened, and the sweep drains them all. A queued task may still go to another free agent
 * than the named ones (the least loaded capable agent takes it).
 */
export interface DrainFocus {
  agents: readonly string[];
}

/** Returns the ids of the tasks it assigned. */
export async function drainQueue(s: CoreServices, focus?: DrainFocus): Promise<string[]> {
  const keys = await s.ledger.queueKeys();
  if (keys.length === 0) return [];
  const agents = new Map((await s.registry.list()).map((a) => [a.agent_id, a]));
  const queues: QueueCursor[] = keys.map((key) => ({ key, items: [], next: 0, exhausted: false }));
  const budget = { pages: MAX_PAGES, seen: 0 };
  const assigned: string[] = [];
  // Free agents only become fewer during a drain: a queue nobody free can serve stays so, and
  // the free list is re-checked only on the agents an assignment took a slot of.
  let free = [...agents.values()].filter(hasFreeSlot);
  const focused = focus ? new Set(focus.agents) : undefined;
  // The free agents whose queues are read: every free agent, or the focused ones.
  let readers = focused ? free.filter((a) => focused.has(a.agent_id)) : free;
  const unservable = new Set<string>();
  const anyCapable = new Map<string, boolean>();
  while (readers.length > 0) {
    // The heads of the queues a reader can serve; the first in queue order goes first.
    let best: QueueCursor | undefined;
    let bestTask: TaskRecord | undefined;
    for (const q of queues) {
      if (unservable.has(q.key)) continue;
      if (!servable(q.key, readers, agents, anyCapable)) {
        unservable.add(q.key);
        continue;
      }
      const head = await headOf(s, q, budget);
      if (head && (!bestTask || queueOrderKey(head) < queueOrderKey(bestTask))) {
        best = q;
        bestTask = head;
      }
    }
    if (!best || !bestTask) break;
    best.next += 1;
    const targets = await assignFromQueue(s, bestTask, free, agents);
    if (targets.length > 0) {
      assigned.push(bestTask.task_id);
      free = free.map((a) => agents.get(a.agent_id) ?? a).filter(hasFreeSlot);
      readers = focused ? free.filter((a) => focused.has(a.agent_id)) : free;
    }
  }
  s.telemetry.metric(METRICS.queueDepth, budget.seen, 'Count');
  return assigned;
}

/** The next task of a queue, reading its next page when the current one is used up. */
async function headOf(
  s: CoreServices,
  q: QueueCursor,
  budget: { pages: number; seen: number },
): Promise<TaskRecord | undefined> {
  if (q.next < q.items.length) return q.items[q.next];
  if (q.exhausted || budget.pages <= 0) return undefined;
  const page = await s.ledger.queuePage(q.key, PAGE, q.cursor);
  budget.pages -= 1;
  budget.seen += page.items.length;
  q.items = page.items;
  q.next = 0;
  q.cursor = page.cursor;
  q.exhausted = page.cursor === undefined;
  return q.items[0];
}

/** Tries one queued task on the free agents; the agents this call assigned it to (none: not assigned). */
async function assignFromQueue(
  s: CoreServices,
  task: TaskRecord,
  free: readonly AgentRecord[],
  agents: Map<string, AgentRecord>,
): Promise<readonly string[]> {
  if (task.status !== 'queued') return NONE;
  if (awaitsFirstDecision(task) && s.clock.now() - Date.parse(task.updated_at) < IN_FLIGHT_GRACE_MS)
    return NONE;
  const candidates = drainCandidates(task, free, agents);
  if (candidates.length === 0) return NONE;
  if (task.dependencies.length > 0 && !(await dependenciesReady(s, task))) return NONE;
  const routed = decideByRules(
    routingRequest(task, candidates),
    task.pinned_agent ? 'direct:drain' : 'drain',
  );
  if (routed.decision.action !== 'assign_task' && routed.decision.action !== 'delegate_coordination')
    return NONE;
  routed.decision.reasoning = `from the queue: ${routed.decision.reasoning}`;
  if (task.pinned_agent) routed.router = 'direct';
  try {
    const result = await executeDecision(s, task, routed, { onNoSlot: 'skip', snapshot: agents });
    return result.status === 'assigned' && !result.duplicate ? result.assigned_agents : NONE;
  } catch (err) {
    s.logger.warn('drain: could not assign a queued task; it stays queued', {
      task_id: task.task_id,
      error: errorMessage(err),
    });
    return NONE;
  }
}

const NONE: readonly string[] = [];

/**
 * True when some free agent could take tasks of this queue (by capability or pinning).
 * `anyCapable` caches, per queue, whether any registered agent has its capabilities.
 */
function servable(
  key: string,
  free: readonly AgentRecord[],
  all: ReadonlyMap<string, AgentRecord>,
  anyCapable: Map<string, boolean>,
): boolean {
  const caps = queueKeyCapabilities(key);
  if (!caps) return free.some((a) => `agent:${a.agent_id}` === key);
  if (free.some((a) => isCapable(a, caps))) return true;
  // Nobody registered can do it: a free coordination agent may take it (delegation).
  if (!free.some((a) => a.capabilities.includes(COORDINATION_CAPABILITY))) return false;
  let capable = anyCapable.get(key);
  if (capable === undefined) {
    capable = [...all.values()].some((a) => isCapable(a, caps));
    anyCapable.set(key, capable);
  }
  return !capable;
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
