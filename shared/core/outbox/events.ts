/**
 * The outbound events of the contract, rendered from a task: `Task Assignment` to each target
 * agent, `Task Rejected` and `Task Failed` to the requester. The one place their shape is
 * written; see docs/contract.md "Outbound events".
 *
 * The outbox keeps an assignment without its task data (a task's data is stored once, on the
 * task, however many agents it goes to); `toBusEvent` puts it in when the event is published.
 */
import type { DecisionRecord, OutboundEvent, TaskRecord } from '../model';

/** The contract's version, on every outbound event (docs/contract.md). */
export const CONTRACT_VERSION = '1';

export type OutcomeEventType = 'Task Rejected' | 'Task Failed';

/** One agent's assignment; its id is deterministic so a republished copy can be dropped. */
export function assignmentEvent(
  t: TaskRecord,
  agentId: string,
  record: DecisionRecord,
  nowIso: string,
  a2a = false,
): OutboundEvent {
  const assignedAt = t.assigned_at ?? nowIso;
  return {
    id: `${t.task_id}:${t.attempts}:${agentId}`,
    type: 'Task Assignment',
    target_agent: agentId,
    ...(a2a ? { protocol: 'a2a' as const } : {}),
    task_id: t.task_id,
    time: assignedAt,
    detail: {
      contract_version: CONTRACT_VERSION,
      target_agent: agentId,
      task_message: {
        type: 'task_assignment',
        task_id: t.task_id,
        agent_id: agentId,
        task_type: t.task_type,
        priority: t.priority,
        assigned_at: assignedAt,
        attempt: t.attempts,
        deadline_at: t.deadline_at,
        instructions: record.task_distribution[agentId],
        decision: {
          action: record.action,
          router: record.router,
          path: record.path,
          reasoning: record.reasoning,
          target_agents: record.target_agents,
          estimated_duration: record.estimated_duration,
        },
      },
    },
  };
}

/** The requester learns that its task was rejected or failed for good. */
export function outcomeEvent(t: TaskRecord, type: OutcomeEventType, nowIso: string): OutboundEvent {
  return {
    id: `${t.task_id}:${type === 'Task Rejected' ? 'rejected' : 'failed'}`,
    type,
    task_id: t.task_id,
    time: nowIso,
    ...(t.requested_by ? { target_agent: t.requested_by } : {}),
    detail: {
      contract_version: CONTRACT_VERSION,
      task_id: t.task_id,
      task_type: t.task_type,
      requested_by: t.requested_by,
      status: t.status,
      reason: t.reason ?? t.error,
      attempts: t.attempts,
      failed_agents: t.failed_agents,
    },
  };
}

/** The event as the bus carries it: an assignment gets the task's data (or its claim check). */
export function toBusEvent(task: TaskRecord, e: OutboundEvent): OutboundEvent {
  if (e.type !== 'Task Assignment') return e;
  const message = e.detail.task_message as Record<string, unknown> | undefined;
  if (!message) return e;
  const data = task.task_data_ref ? { task_data_ref: task.task_data_ref } : { task_data: task.task_data };
  const { type, task_id, agent_id, task_type, ...rest } = message;
  // Field order as the contract shows it: the data right after the task type.
  const rendered = { type, task_id, agent_id, task_type, ...data, ...rest };
  return { ...e, detail: { ...e.detail, task_message: rendered } };
}

/**
 * The requester learns that an agent needs input to go on (an A2A task in `input-required`).
 * One per attempt, agent and message: a republished copy has the same id.
 */
export function inputRequiredEvent(
  t: TaskRecord,
  agentId: string,
  message: string,
  nowIso: string,
): OutboundEvent {
  let h = 0;
  for (let i = 0; i < message.length; i++) h = (Math.imul(h, 31) + message.charCodeAt(i)) >>> 0;
  return {
    id: `${t.task_id}:${t.attempts}:${agentId}:input-required:${h.toString(36)}`,
    type: 'Task Input Required',
    task_id: t.task_id,
    time: nowIso,
    ...(t.requested_by ? { target_agent: t.requested_by } : {}),
    detail: {
      task_id: t.task_id,
      task_type: t.task_type,
      requested_by: t.requested_by,
      agent_id: agentId,
      message,
      attempt: t.attempts,
      a2a_task_id: t.a2a_tasks?.find((r) => r.agent_id === agentId)?.a2a_task_id,
    },
  };
}
