/**
 * Coordination requests: open (or find) each task, ask the router about the ones that need a
 * decision in one call (an LLM router with batching decides a whole SQS batch at once), then
 * execute each decision. A failure of one task never fails the others of its batch.
 */
import type { EventOf } from '../events/schemas';
import type { TaskRecord } from '../model';
import { mapBounded } from './bounded';
import { routingRequest } from './decision-record';
import { executeDecision } from './execute-decision';
import { awaitsFirstDecision, resumeTask } from './resume-task';
import type { CoordinationResult, CoreServices } from './services';
import { prepareTaskData } from './task-data';

export type CoordinationRequest = EventOf<'coordination_request'>;

/** One result per request, in order: the task's state, or the error that request hit. */
export async function coordinate(
  s: CoreServices,
  events: readonly CoordinationRequest[],
): Promise<Array<CoordinationResult | Error>> {
  const results: Array<CoordinationResult | Error | undefined> = new Array(events.length);
  // Tasks of one batch in flight at once (IN_BATCH_CONCURRENCY; an SQS batch is at most 10).
  const limit = s.settings.inBatchConcurrency;
  const opened = await mapBounded(events, limit, (event) => openTask(s, event).catch((err: Error) => err));
  const toRoute: Array<{ index: number; task: TaskRecord }> = [];
  const redelivered: Array<{ index: number; task: TaskRecord }> = [];
  for (const [index, task] of opened.entries()) {
    if (task instanceof Error) results[index] = task;
    else (awaitsFirstDecision(task) ? toRoute : redelivered).push({ index, task });
  }
  await mapBounded(redelivered, limit, async ({ index, task }) => {
    results[index] = await resumeTask(s, task).catch((err: Error) => err);
  });
  if (toRoute.length > 0) {
    const agents = await s.registry.list();
    const snapshot = new Map(agents.map((a) => [a.agent_id, a]));
    const requests = toRoute.map(({ task }) => routingRequest(task, agents));
    const router = s.router;
    const decided = await s.telemetry.span(
      'coordinator.route',
      { tasks: requests.length, router: router.name },
      () =>
        router.decideBatch
          ? router.decideBatch(requests)
          : Promise.all(requests.map((r) => router.decide(r))),
    );
    // Decisions that share an agent run in order (each claim sees the one before it in the
    // snapshot); decisions on different agents run side by side.
    const lanes = lanesByAgent(toRoute.map((_, k) => decided[k]!.decision.target_agents));
    await mapBounded(lanes, limit, async (lane) => {
      for (const k of lane) {
        const { index, task } = toRoute[k]!;
        results[index] = await executeDecision(s, task, decided[k]!, { snapshot }).catch((err: Error) => err);
      }
    });
  }
  return results as Array<CoordinationResult | Error>;
}

/** Creates the task (or finds it: a redelivery); `pinnedAgent` for a direct assignment. */
export async function openTask(
  s: CoreServices,
  event: CoordinationRequest,
  pinnedAgent?: string,
): Promise<TaskRecord> {
  const d = event.data;
  const taskId = d.task_id ?? `task-${event.id}`;
  return s.ledger.open({
    task_id: taskId,
    task_type: d.task_type,
    ...(await prepareTaskData(s, taskId, d.task_data)),
    priority: d.priority,
    required_capabilities: d.required_capabilities ?? [],
    ...(pinnedAgent ? { pinned_agent: pinnedAgent } : {}),
    requested_by: d.agent_id ?? event.source,
    ...(event.time ? { created_at: event.time } : {}),
  });
}

/** Groups decisions (by position) so that any two naming a common agent share a lane, in order. */
export function lanesByAgent(targets: ReadonlyArray<readonly string[]>): number[][] {
  const laneOfAgent = new Map<string, number[]>();
  const lanes: number[][] = [];
  for (const [k, agents] of targets.entries()) {
    const joined = [...new Set(agents.map((a) => laneOfAgent.get(a)).filter((l): l is number[] => !!l))];
    const lane = joined[0] ?? [];
    if (joined.length === 0) lanes.push(lane);
    for (const other of joined.slice(1)) {
      lane.push(...other);
      other.length = 0;
    }
    lane.sort((a, b) => a - b);
    lane.push(k);
    for (const a of agents) laneOfAgent.set(a, lane);
    for (const [a, l] of laneOfAgent) if (joined.includes(l)) laneOfAgent.set(a, lane);
  }
  return lanes.filter((l) => l.length > 0);
}
