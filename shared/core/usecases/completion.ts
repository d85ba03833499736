/**
 * A task completion: the agent's part is recorded (the task closes when every assigned agent
 * is done), its slot is freed whatever the task says, and the queue drains into it. A
 * completion with `status: failed` is an error report.
 */
import { NotFoundError } from '../errors';
import type { EventOf } from '../events/schemas';
import { drainQueue } from './drain';
import type { CoreServices } from './services';
import { reportError } from './task-error';

export async function completeTask(s: CoreServices, event: EventOf<'task_completion'>) {
  const d = event.data;
  if (d.status === 'failed') {
    return reportError(s, {
      ...event,
      type: 'error_event',
      data: {
        agent_id: d.agent_id,
        task_id: d.task_id,
        error: errorText(d.result) ?? 'agent reported failure',
      },
    });
  }
  const task = await s.ledger.get(d.task_id);
  if (!task) throw new NotFoundError(`task ${d.task_id} not found`);
  const { task: updated, ignored } = await s.ledger.complete(task, d.agent_id, d.result);
  // Free the slot whatever the task says: a slot held by a finished agent is never useful.
  await s.registry.releaseSlot(d.agent_id, d.task_id);
  // Only this agent's slot opened, so only the queues it can serve may drain now; but a task
  // that others wait for (their dependency) ends here: every queue, where they wait.
  const closed = updated?.status === 'completed' && updated.awaited === true;
  const assigned = await drainQueue(s, closed ? undefined : { agents: [d.agent_id] });
  return {
    task_id: d.task_id,
    status: updated?.status ?? task.status,
    ...(ignored ? { ignored } : {}),
    assigned,
  };
}

/** The failure text an agent put in its result, if any. */
function errorText(result: unknown): string | undefined {
  if (typeof result === 'string') return result;
  if (typeof result === 'object' && result !== null && !Array.isArray(result)) {
    const error = (result as Record<string, unknown>).error;
    if (typeof error === 'string') return error;
  }
  return undefined;
}
