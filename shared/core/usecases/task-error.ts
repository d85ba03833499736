/**
 * An error report: recorded on the agent; the failing agent is taken off the task (never
 * chosen for it again) and the task is reassigned at once to another free capable agent, or
 * waits in the queue, or fails once its attempts are used up.
 */
import { NotFoundError } from '../errors';
import type { EventOf } from '../events/schemas';
import type { TaskRecord } from '../model';
import { drainQueue } from './drain';
import { takeOff } from './give-back';
import type { CoreServices } from './services';

export async function reportError(s: CoreServices, event: EventOf<'error_event'>) {
  const d = event.data;
  const message = typeof d.error === 'string' ? d.error : JSON.stringify(d.error).slice(0, 4000);
  if (d.agent_id) await s.registry.recordError(d.agent_id, message);
  if (!d.task_id) return { recorded: true, agent_id: d.agent_id };
  const task = await s.ledger.get(d.task_id);
  if (!task) throw new NotFoundError(`task ${d.task_id} not found`);
  const failing = d.agent_id ? [d.agent_id] : task.assigned_agents;
  let current: TaskRecord | undefined = task;
  for (const agentId of failing) current = (await takeOff(s, d.task_id, agentId, message, true)) ?? current;
  // Reassign right away when another capable agent is free; else it waits in the queue.
  // (Every queue: a task that others wait for may have failed for good, which fails them.)
  const assigned = current?.status === 'queued' || current?.awaited ? await drainQueue(s) : [];
  const final = await s.ledger.get(d.task_id);
  return {
    task_id: d.task_id,
    status: final?.status,
    attempts: final?.attempts,
    assigned_agents: final?.assigned_agents ?? [],
    reassigned: assigned.includes(d.task_id),
  };
}
