/**
 * An agent needs input to go on (an A2A task in `input-required`): the task waits, still
 * assigned to the agent and past no deadline, with the agent's message recorded, and the
 * requester gets a `Task Input Required` event. A completion or an error ends the wait.
 */
import { NotFoundError } from '../errors';
import type { EventOf } from '../events/schemas';
import type { CoreServices } from './services';

export async function requireInput(s: CoreServices, event: EventOf<'task_input_required'>) {
  const d = event.data;
  const task = await s.ledger.get(d.task_id);
  if (!task) throw new NotFoundError(`task ${d.task_id} not found`);
  const updated = await s.ledger.markWaiting(d.task_id, d.agent_id, d.message);
  if (!updated) {
    const ignored =
      task.waiting?.agent_id === d.agent_id ? 'already waiting' : `task is not assigned to ${d.agent_id}`;
    return { task_id: d.task_id, status: task.status, ignored };
  }
  await s.outbox.publish(updated);
  return { task_id: d.task_id, status: updated.status, waiting: true, agent_id: d.agent_id };
}
