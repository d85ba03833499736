/**
 * The A2A dispatch adapter, behind the bus port. It wraps the runtime's bus: every event still
 * goes to the inner bus (so the local bus, the dashboard and event-driven consumers see every
 * assignment), and a `Task Assignment` whose target agent registered from an Agent Card is also
 * sent to that agent as an A2A message (`SendMessage`, or v0.3 `message/send`):
 *
 * - the task data (type, data, priority, instructions, deadline) as one data part;
 * - the coordinator's task id as the context id, the assignment id as the message id;
 * - a push notification config when the card allows push and a notification URL is set.
 *
 * Idempotent on redelivery: before sending, the intent is recorded on the task (`sending`, with
 * the assignment id); after, the A2A task id. A redelivered assignment whose A2A task is known is
 * not sent again; one whose answer was lost is looked up by context (`ListTasks`) before any new
 * send. A send that cannot be retried, or fails `maxSendAttempts` times, becomes an error for
 * that agent (the coordinator reassigns the task) instead of blocking the outbox.
 */
import { randomBytes } from 'node:crypto';
import { errorMessage, PublishError } from '../../core/errors';
import type { OutboundEvent } from '../../core/model';
import type { EventBus, Logger } from '../../core/ports';
import { A2aCallError, type A2aClient } from './client';
import type { A2aEndpoint, A2aTaskRef } from './endpoint';
import { isReportable, statusMessage, type A2aStatusMessage } from './status';
import type { A2aTaskView } from './wire';

/** Where the adapter reads agents' endpoints and keeps its A2A task references. */
export interface A2aRefs {
  /** The agent's A2A endpoint, or `undefined` for an event-driven agent. */
  endpoint(agentId: string): Promise<A2aEndpoint | undefined>;
  /** The references kept on the coordinator's task (one per agent at most). */
  list(taskId: string): Promise<A2aTaskRef[]>;
  /** The task's references and whom it is assigned to now (undefined: no such task). */
  lookup(taskId: string): Promise<{ refs: A2aTaskRef[]; assigned: string[] } | undefined>;
  /** Replaces the reference for `ref.agent_id` on the task (conditional write, retried). */
  put(taskId: string, ref: A2aTaskRef): Promise<void>;
  /** References the sweep may poll: on assigned tasks, still held by their agent, not final. */
  open(limit: number): Promise<Array<{ task_id: string; ref: A2aTaskRef }>>;
}

/** Hands a status message to the coordinator (the runtime wires it to `coordinator.handle`). */
export type StatusSink = (message: A2aStatusMessage) => Promise<void>;

export interface DispatchOptions {
  refs: A2aRefs;
  client: A2aClient;
  report: StatusSink;
  logger: Logger;
  /** Where agents push updates; none: no push config is sent (the sweep polls). */
  notificationUrl: () => string | undefined;
  now?: () => number;
  /** Retryable send failures before the agent is given up for this task (default 3). */
  maxSendAttempts?: number;
}

interface TaskMessage {
  task_id?: string;
  task_type?: string;
  task_data?: unknown;
  /** A claim check: the task data is too large for a message and is kept in the payload store. */
  task_data_ref?: unknown;
  priority?: string;
  attempt?: number;
  deadline_at?: string;
  instructions?: string;
  assigned_at?: string;
}

export class A2aDispatchBus implements EventBus {
  readonly name: string;
  private readonly now: () => number;
  private readonly maxSendAttempts: number;

  constructor(
    private readonly inner: EventBus,
    private readonly options: DispatchOptions,
  ) {
    this.name = `${inner.name}+a2a`;
    this.now = options.now ?? Date.now;
    this.maxSendAttempts = options.maxSendAttempts ?? 3;
  }

  async publish(events: readonly OutboundEvent[]): Promise<void> {
    const failures: string[] = [];
    const reports: Array<{ report: A2aStatusMessage; after?: () => Promise<void> }> = [];
    for (const event of events) {
      // The core marks assignments to A2A agents: the others cost no lookup here.
      if (event.type !== 'Task Assignment' || !event.target_agent || event.protocol !== 'a2a') continue;
      const endpoint = await this.options.refs.endpoint(event.target_agent);
      if (!endpoint) continue;
      try {
        const report = await this.dispatch(event, event.target_agent, endpoint);
        if (report) reports.push(report);
      } catch (err) {
        failures.push(`${event.id}: ${errorMessage(err)}`);
      }
    }
    await this.inner.publish(events);
    // After the inner bus took the events: a report changes the task (a completion, a
    // reassignment), which publishes again through this bus.
    for (const r of reports) {
      try {
        await this.options.report(r.report);
        await r.after?.();
      } catch (err) {
        // The A2A task's state stays unreported on its reference: the sweep's poll reports it.
        this.options.logger.warn('a2a report failed', {
          task_id: r.report.task_id,
          error: errorMessage(err),
        });
      }
    }
    if (failures.length > 0) throw new PublishError(`A2A dispatch: ${failures.join(' | ')}`);
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }

  /** Sends one assignment once; answers with what to report, if the agent already finished. */
  private async dispatch(
    event: OutboundEvent,
    agentId: string,
    endpoint: A2aEndpoint,
  ): Promise<{ report: A2aStatusMessage; after?: () => Promise<void> } | undefined> {
    const { refs, client, logger } = this.options;
    const taskId = event.task_id;
    const nowIso = new Date(this.now()).toISOString();
    const task = await refs.lookup(taskId);
    // An assignment the task has moved on from (reassigned, closed) is not sent.
    if (!task || !task.assigned.includes(agentId)) return undefined;
    const existing = task.refs.find((r) => r.agent_id === agentId);
    if (existing?.assignment_id === event.id && (existing.a2a_task_id || existing.state === 'failed')) {
      logger.debug('a2a assignment already sent (or given up)', { task_id: taskId, agent_id: agentId });
      return undefined;
    }
    let ref: A2aTaskRef;
    if (existing?.assignment_id === event.id) {
      ref = existing;
      // A send was in flight when the last delivery stopped: the agent may have the task.
      const found = await this.recover(agentId, endpoint, taskId, event.id);
      if (found) return this.recordAnswer(taskId, ref, found, nowIso);
    } else {
      const pushUrl = endpoint.push_notifications ? this.options.notificationUrl() : undefined;
      ref = {
        agent_id: agentId,
        assignment_id: event.id,
        state: 'sending',
        push: pushUrl !== undefined,
        ...(pushUrl ? { push_token: randomBytes(24).toString('base64url') } : {}),
        send_failures: 0,
        dispatched_at: nowIso,
        updated_at: nowIso,
      };
      await refs.put(taskId, ref);
    }
    const pushUrl = ref.push ? this.options.notificationUrl() : undefined;
    const message = ((event.detail as { task_message?: TaskMessage }).task_message ?? {}) as TaskMessage;
    try {
      const answer = await client.sendMessage(agentId, endpoint, {
        messageId: event.id,
        contextId: taskId,
        data: {
          task_id: taskId,
          task_type: message.task_type,
          ...(message.task_data_ref !== undefined
            ? { task_data_ref: message.task_data_ref }
            : { task_data: message.task_data }),
          priority: message.priority,
          attempt: message.attempt,
          instructions: message.instructions,
          deadline_at: message.deadline_at,
        },
        metadata: { coordinator_task_id: taskId, assignment_id: event.id, attempt: message.attempt },
        ...(pushUrl && ref.push_token ? { push: { url: pushUrl, token: ref.push_token } } : {}),
      });
      logger.info('a2a task sent', {
        task_id: taskId,
        agent_id: agentId,
        a2a_task_id: answer.id,
        state: answer.state,
        push: ref.push,
      });
      return await this.recordAnswer(taskId, ref, answer, nowIso);
    } catch (err) {
      const retryable = err instanceof A2aCallError ? err.retryable : true;
      const failures = ref.send_failures + 1;
      logger.warn('a2a send failed', {
        task_id: taskId,
        agent_id: agentId,
        retryable,
        failures,
        error: errorMessage(err),
      });
      if (retryable && failures < this.maxSendAttempts) {
        await refs.put(taskId, { ...ref, send_failures: failures, updated_at: nowIso });
        throw err;
      }
      await refs.put(taskId, { ...ref, state: 'failed', send_failures: failures, updated_at: nowIso });
      return {
        report: {
          type: 'error_event',
          task_id: taskId,
          agent_id: agentId,
          error: `A2A dispatch to ${agentId} failed${retryable ? ` ${failures} times` : ''}: ${errorMessage(err)}`,
        },
      };
    }
  }

  private async recover(
    agentId: string,
    endpoint: A2aEndpoint,
    taskId: string,
    messageId: string,
  ): Promise<A2aTaskView | undefined> {
    try {
      const tasks = await this.options.client.findTask(agentId, endpoint, taskId);
      return tasks.find((t) => t.message_ids?.[0] === messageId);
    } catch (err) {
      this.options.logger.debug('a2a ListTasks not available', {
        agent_id: agentId,
        error: errorMessage(err),
      });
      return undefined;
    }
  }

  /**
   * Records the A2A task id at once (the idempotency key of a redelivery). A state worth
   * reporting is recorded only after the report went through (`after`); until then the
   * reference says `working`, so the sweep's poll reports it if the report fails.
   */
  private async recordAnswer(
    taskId: string,
    ref: A2aTaskRef,
    answer: A2aTaskView,
    nowIso: string,
  ): Promise<{ report: A2aStatusMessage; after?: () => Promise<void> } | undefined> {
    const report = isReportable(answer.state) ? statusMessage(taskId, ref.agent_id, answer) : undefined;
    const final: A2aTaskRef = { ...ref, a2a_task_id: answer.id, state: answer.state, updated_at: nowIso };
    if (answer.message && answer.state === 'input-required') final.message = answer.message;
    await this.options.refs.put(taskId, report ? { ...final, state: 'working' } : final);
    return report ? { report, after: () => this.options.refs.put(taskId, final) } : undefined;
  }
}
