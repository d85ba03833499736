/**
 * The outbound events of the contract, rendered from a task: `Task Assignment` to each target
 * agent, `Task Rejected` and `Task Failed` to the requester. The one place their shape is
 * written; see docs/contract.md "Outbound events".
 */
import type { DecisionRecord, OutboundEvent, TaskRecord } from '../model';

export type OutcomeEventType = 'Task Rejected' | 'Task Failed';

/** One agent's assignment; its id is deterministic so a republished copy can be dropped. */
export function assignmentEvent(
  t: TaskRecord,
  agentId: string,
  record: DecisionRecord,
  nowIso: string,
): OutboundEvent {
  const assignedAt = t.assigned_at ?? nowIso;
  return {
    id: `${t.task_id}:${t.attempts}:${agentId}`,
    type: 'Task Assignment',
    target_agent: agentId,
    task_id: t.task_id,
    time: assignedAt,
    detail: {
      target_agent: agentId,
      task_message: {
        type: 'task_assignment',
        task_id: t.task_id,
        agent_id: agentId,
        task_type: t.task_type,
        task_data: t.task_data,
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
