/**
 * A2A task states as the contract's inbound messages. One mapping for the push notifications,
 * the sweep's polling and a send that answers with a finished task:
 *
 * - `completed` → `task_completion` (succeeded) with the artifacts as the result;
 * - `failed`, `rejected`, `canceled` → `error_event` (the task is reassigned as usual);
 * - `input-required`, `auth-required` → `task_input_required` with the agent's message;
 * - `submitted`, `working` → nothing (the task stays assigned).
 */
import { A2A_TERMINAL_STATES, type A2aState, type A2aTaskView } from './wire';

export interface A2aCompletion {
  type: 'task_completion';
  task_id: string;
  agent_id: string;
  status: 'succeeded';
  result: { a2a_task_id: string; artifacts: A2aTaskView['artifacts'] };
}

export interface A2aError {
  type: 'error_event';
  task_id: string;
  agent_id: string;
  error: string;
}

export interface A2aInputRequired {
  type: 'task_input_required';
  task_id: string;
  agent_id: string;
  a2a_task_id: string;
  message: string;
}

export type A2aStatusMessage = A2aCompletion | A2aError | A2aInputRequired;

export function isTerminal(state: A2aState | string): boolean {
  return (A2A_TERMINAL_STATES as readonly string[]).includes(state);
}

/** States worth reporting (the others change nothing on the coordinator's task). */
export function isReportable(state: A2aState | string): boolean {
  return isTerminal(state) || state === 'input-required' || state === 'auth-required';
}

/** The contract message for an A2A task's state, or `undefined` while it is still working. */
export function statusMessage(
  taskId: string,
  agentId: string,
  a2a: A2aTaskView,
): A2aStatusMessage | undefined {
  switch (a2a.state) {
    case 'completed':
      return {
        type: 'task_completion',
        task_id: taskId,
        agent_id: agentId,
        status: 'succeeded',
        result: { a2a_task_id: a2a.id, artifacts: a2a.artifacts },
      };
    case 'failed':
    case 'rejected':
    case 'canceled':
      return {
        type: 'error_event',
        task_id: taskId,
        agent_id: agentId,
        error: `A2A task ${a2a.id} ${a2a.state}${a2a.message ? `: ${a2a.message}` : ''}`.slice(0, 4000),
      };
    case 'input-required':
    case 'auth-required':
      return {
        type: 'task_input_required',
        task_id: taskId,
        agent_id: agentId,
        a2a_task_id: a2a.id,
        message: (
          a2a.message ?? `the agent needs ${a2a.state === 'auth-required' ? 'authentication' : 'input'}`
        ).slice(0, 4000),
      };
    default:
      return undefined;
  }
}
