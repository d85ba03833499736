/**
 * Taking work off agents: one agent off one task (it failed it, went down or missed the
 * deadline), or every task off an agent that went offline. The task goes back to the queue,
 * or fails once its attempts are used up; the agent's slot is released either way.
 */
import type { AgentRecord, TaskRecord } from '../model';
import type { CoreServices } from './services';

/** Takes `agentId` off the task, publishes what that owes (a `Task Failed`), frees the slot. */
export async function takeOff(
  s: CoreServices,
  taskId: string,
  agentId: string,
  reason: string,
  failedOnIt: boolean,
): Promise<TaskRecord | undefined> {
  let task = await s.ledger.unassign(taskId, agentId, reason, failedOnIt);
  if (task && task.outbox.length > 0) task = await s.outbox.publish(task);
  await s.registry.releaseSlot(agentId, taskId);
  return task;
}

/** Gives every task of an agent back to the queue; returns their ids. */
export async function giveBackTasks(s: CoreServices, agent: AgentRecord, reason: string): Promise<string[]> {
  const requeued: string[] = [];
  for (const taskId of agent.active_task_ids) {
    await takeOff(s, taskId, agent.agent_id, reason, false);
    requeued.push(taskId);
  }
  return requeued;
}

/** Takes a stale agent offline (if it still is stale) and gives its tasks back. */
export async function retireStaleAgent(s: CoreServices, agent: AgentRecord): Promise<string[]> {
  const offline = await s.registry.goOfflineIfStale(agent);
  return offline ? giveBackTasks(s, offline, 'heartbeat expired') : [];
}
