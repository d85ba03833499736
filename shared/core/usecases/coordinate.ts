/**
 * Coordination requests: open (or find) each task, ask the router about the ones that need a
 * decision in one call (an LLM router with batching decides a whole SQS batch at once), then
 * execute each decision. A failure of one task never fails the others of its batch.
 */
import type { EventOf } from '../events/schemas';
import type { TaskRecord } from '../model';
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
  const toRoute: Array<{ index: number; task: TaskRecord }> = [];
  for (const [index, event] of events.entries()) {
    try {
      const task = await openTask(s, event);
      if (awaitsFirstDecision(task)) toRoute.push({ index, task });
      else results[index] = await resumeTask(s, task);
    } catch (err) {
      results[index] = err as Error;
    }
  }
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
    for (const [k, { index, task }] of toRoute.entries()) {
      try {
        results[index] = await executeDecision(s, task, decided[k]!, { snapshot });
      } catch (err) {
        results[index] = err as Error;
      }
    }
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
