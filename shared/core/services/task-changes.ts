/**
 * The task ledger's rules of change, as pure functions on a draft record: what failing,
 * recording a decision and accepting a completion do to a task.
 */
import { TERMINAL_TASK_STATUSES, type DecisionRecord, type TaskRecord } from '../model';
import { outcomeEvent } from '../outbox/events';

export const MAX_HISTORY = 20;

export function failNow(t: TaskRecord, reason: string, nowIso: string): void {
  t.status = 'failed';
  t.error = reason;
  t.completed_at = nowIso;
  t.outbox = [...t.outbox, outcomeEvent(t, 'Task Failed', nowIso)];
}

export function pushDecision(t: TaskRecord, record: DecisionRecord): void {
  t.decision = record;
  t.history = [...t.history, record].slice(-MAX_HISTORY);
}

export function completionRefusal(t: TaskRecord, agentId: string): string | undefined {
  if (TERMINAL_TASK_STATUSES.includes(t.status)) return `task is already ${t.status}`;
  if (t.status !== 'assigned' || !t.assigned_agents.includes(agentId))
    return `task is not assigned to ${agentId}`;
  if (t.completed_agents.includes(agentId)) return `${agentId} already reported completion`;
  return undefined;
}

export function asRecord(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}
