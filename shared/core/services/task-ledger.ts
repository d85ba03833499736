/**
 * The task ledger: a task's life from opened to closed. Every verb is one conditional write
 * (its optimistic loop inside), and the events a change owes the world are committed in the
 * same write, in the task's outbox. A change gets a shallow copy of the stored record: it sets
 * fields (new arrays included), never mutates the arrays or objects it was given.
 */
import { NotFoundError } from '../errors';
import type { DecisionRecord, PayloadRef, Priority, TaskRecord, TaskStatus } from '../model';
import { assignmentEvent, inputRequiredEvent, outcomeEvent } from '../outbox/events';
import type { Page } from '../ports';
import type { Change, VersionedRecords } from './records';
import { asRecord, completionRefusal, failNow, pushDecision } from './task-changes';

const NONE: ReadonlySet<string> = new Set();

/** What a new task is made of; the ledger adds the bookkeeping. */
export interface NewTask {
  task_id: string;
  task_type: string;
  task_data?: unknown;
  task_data_ref?: PayloadRef;
  priority: Priority;
  required_capabilities: string[];
  pinned_agent?: string;
  requested_by?: string;
  created_at?: string;
}

export class TaskLedger {
  constructor(
    private readonly records: VersionedRecords,
    private readonly maxAttempts: number,
    private readonly defaultTaskDurationMs: number,
  ) {}

  /** The ledger's clock as ISO 8601 (what it stamps records with). */
  nowIso(): string {
    return this.records.nowIso();
  }

  get(taskId: string): Promise<TaskRecord | undefined> {
    return this.records.getTask(taskId);
  }

  list(status: TaskStatus, limit?: number): Promise<TaskRecord[]> {
    return this.records.listTasks(status, limit);
  }

  /** The queues that hold queued tasks (`queueKeyOf`). */
  queueKeys(): Promise<string[]> {
    return this.records.listQueueKeys();
  }

  /** One page of a queue, in queue order. */
  queuePage(queueKey: string, limit: number, cursor?: string): Promise<Page<TaskRecord>> {
    return this.records.listQueue(queueKey, limit, cursor);
  }

  /** One page of the tasks whose outbox still holds events. */
  pendingOutbox(limit: number, cursor?: string): Promise<Page<TaskRecord>> {
    return this.records.listPendingOutbox(limit, cursor);
  }

  /** One page of the assigned tasks past their deadline at `now`. */
  overdue(now: string, limit: number, cursor?: string): Promise<Page<TaskRecord>> {
    return this.records.listOverdue(now, limit, cursor);
  }

  /** Creates the task, queued, unless it exists (a redelivery); returns the stored one either way. */
  async open(spec: NewTask): Promise<TaskRecord> {
    const now = this.records.nowIso();
    const { task } = await this.records.createTask({
      task_id: spec.task_id,
      task_type: spec.task_type,
      task_data: spec.task_data,
      ...(spec.task_data_ref ? { task_data_ref: spec.task_data_ref } : {}),
      priority: spec.priority,
      required_capabilities: spec.required_capabilities,
      ...(spec.pinned_agent ? { pinned_agent: spec.pinned_agent } : {}),
      requested_by: spec.requested_by,
      status: 'queued',
      assigned_agents: [],
      completed_agents: [],
      failed_agents: [],
      attempts: 0,
      dependencies: [],
      history: [],
      outbox: [],
      created_at: spec.created_at ?? now,
      updated_at: now,
      version: 1,
      ttl: this.records.ttl(),
    });
    return task;
  }

  /** Pins a task to the agent a direct assignment names. */
  pin(task: TaskRecord, agentId: string): Promise<TaskRecord> {
    return this.commit(task, (t) => ({ ...t, pinned_agent: agentId }));
  }

  /** A queued task is rejected for good, with a `Task Rejected` event to its requester. */
  reject(task: TaskRecord, record: DecisionRecord, reason: string): Promise<TaskRecord> {
    return this.commit(task, (t) => {
      if (t.status !== 'queued') return undefined;
      t.status = 'rejected';
      t.reason = reason;
      t.completed_at = this.records.nowIso();
      pushDecision(t, record);
      t.outbox = [...t.outbox, outcomeEvent(t, 'Task Rejected', this.records.nowIso())];
      return t;
    });
  }

  /** A queued task stays queued with the decision that keeps it there (and what it waits for). */
  keepQueued(task: TaskRecord, record: DecisionRecord, dependencies: string[]): Promise<TaskRecord> {
    return this.commit(task, (t) => {
      if (t.status !== 'queued') return undefined;
      t.dependencies = dependencies;
      pushDecision(t, record);
      return t;
    });
  }

  /**
   * Commits a queued task as assigned to `agents` (whose slots the caller claimed), with one
   * `Task Assignment` per agent in the outbox and a deadline from the estimated duration.
   * Returns the stored task: not assigned to `agents` when another delivery won the race.
   */
  commitAssignment(
    task: TaskRecord,
    agents: string[],
    record: DecisionRecord,
    durationMin?: number,
    a2aAgents: ReadonlySet<string> = NONE,
  ): Promise<TaskRecord> {
    return this.commit(task, (t) => {
      if (t.status !== 'queued') return undefined;
      const now = this.records.now();
      t.status = 'assigned';
      t.assigned_agents = agents;
      t.completed_agents = [];
      t.attempts += 1;
      t.assigned_at = this.records.nowIso();
      const durationMs = durationMin ? durationMin * 60_000 : this.defaultTaskDurationMs;
      t.deadline_at = new Date(now + durationMs).toISOString();
      if (record.priority) t.priority = record.priority;
      pushDecision(t, record);
      const events = agents.map((a) => assignmentEvent(t, a, record, t.assigned_at!, a2aAgents.has(a)));
      t.outbox = [...t.outbox, ...events];
      return t;
    });
  }

  /**
   * Takes one agent off an assigned task. `failedOnIt`: the agent failed it (never chosen
   * again). When no agent is left the task goes back to the queue, or fails once its attempts
   * are used up (with a `Task Failed` event). Undefined when the task is unknown.
   */
  unassign(
    taskId: string,
    agentId: string,
    reason: string,
    failedOnIt: boolean,
  ): Promise<TaskRecord | undefined> {
    return this.records.updateTask(taskId, (t) => {
      if (t.status !== 'assigned' || !t.assigned_agents.includes(agentId)) return undefined;
      t.assigned_agents = t.assigned_agents.filter((a) => a !== agentId);
      if (t.waiting?.agent_id === agentId) delete t.waiting;
      if (failedOnIt && !t.failed_agents.includes(agentId)) t.failed_agents = [...t.failed_agents, agentId];
      t.error = reason;
      if (t.assigned_agents.length > 0) return t;
      if (t.attempts >= this.maxAttempts) {
        t.status = 'failed';
        t.completed_at = this.records.nowIso();
        t.outbox = [...t.outbox, outcomeEvent(t, 'Task Failed', this.records.nowIso())];
      } else {
        t.status = 'queued';
        t.deadline_at = undefined;
      }
      return t;
    });
  }

  /**
   * Records an agent's completion; the task closes when every assigned agent has completed.
   * `ignored` says why nothing changed (already closed, not assigned to it, reported twice).
   */
  async complete(
    task: TaskRecord,
    agentId: string,
    result: unknown,
  ): Promise<{ task: TaskRecord | undefined; ignored?: string }> {
    let ignored: string | undefined;
    const updated = await this.records.updateTask(
      task.task_id,
      (t) => {
        ignored = completionRefusal(t, agentId);
        if (ignored) return undefined;
        t.completed_agents = [...t.completed_agents, agentId];
        if (t.waiting?.agent_id === agentId) delete t.waiting;
        if (result !== undefined) {
          t.result =
            t.assigned_agents.length > 1 ? { ...(asRecord(t.result) ?? {}), [agentId]: result } : result;
        }
        if (t.assigned_agents.every((a) => t.completed_agents.includes(a))) {
          t.status = 'completed';
          t.completed_at = this.records.nowIso();
        }
        return t;
      },
      task,
    );
    return { task: updated, ...(ignored ? { ignored } : {}) };
  }

  /**
   * An assigned agent needs input: the task waits (still assigned to it) with the agent's
   * message, and a `Task Input Required` event goes to the requester. Undefined when the task
   * is not assigned to that agent (any more).
   */
  markWaiting(taskId: string, agentId: string, message: string): Promise<TaskRecord | undefined> {
    return this.records.updateTask(taskId, (t) => {
      if (t.status !== 'assigned' || !t.assigned_agents.includes(agentId)) return undefined;
      if (t.waiting?.agent_id === agentId && t.waiting.message === message) return undefined;
      const now = this.records.nowIso();
      t.waiting = { agent_id: agentId, message, since: now };
      // The requester has to answer, not the agent: no deadline while the task waits.
      t.deadline_at = undefined;
      t.outbox = [...t.outbox, inputRequiredEvent(t, agentId, message, now)];
      return t;
    });
  }

  /** Marks a task another waits for (`awaited`) unless it ended; answers it as stored after. */
  markAwaited(taskId: string): Promise<TaskRecord | undefined> {
    const ended = (t: TaskRecord) => t.status !== 'queued' && t.status !== 'assigned';
    return this.records.updateTask(taskId, (t) =>
      t.awaited || ended(t) ? undefined : { ...t, awaited: true },
    );
  }

  /** A queued task fails for good (a dependency failed or timed out), with a `Task Failed` event. */
  failQueued(taskId: string, reason: string): Promise<TaskRecord | undefined> {
    return this.records.updateTask(taskId, (t) => {
      if (t.status !== 'queued') return undefined;
      failNow(t, reason, this.records.nowIso());
      return t;
    });
  }

  /**
   * An assignment of this queued task could not be committed for good (the store refused the
   * record): counted, and at `maxFailures` the task fails instead of blocking its queue.
   */
  recordCommitFailure(taskId: string, reason: string, maxFailures: number): Promise<TaskRecord | undefined> {
    return this.records.updateTask(taskId, (t) => {
      if (t.status !== 'queued') return undefined;
      t.commit_failures = (t.commit_failures ?? 0) + 1;
      t.error = reason.slice(0, 1000);
      if (t.commit_failures >= maxFailures)
        failNow(t, `could not be committed ${t.commit_failures} times: ${t.error}`, this.records.nowIso());
      return t;
    });
  }

  /** Makes the ledger's and the registry's writes so far durable (see `VersionedRecords.flush`). */
  flush(): Promise<void> {
    return this.records.flush();
  }

  /** True when writes wait for a `flush` to be durable (a write-behind store). */
  get writeBehind(): boolean {
    return typeof this.records.store.flush === 'function';
  }

  /** Removes the events the bus accepted from the outbox. */
  async clearOutbox(task: TaskRecord, sentIds: readonly string[]): Promise<TaskRecord> {
    const sent = new Set(sentIds);
    const cleared = await this.records.updateTask(
      task.task_id,
      (t) => {
        if (!t.outbox.some((e) => sent.has(e.id))) return undefined;
        t.outbox = t.outbox.filter((e) => !sent.has(e.id));
        return t;
      },
      task,
      // Lost in a crash, the events are published again by the sweep, under the same ids.
      { deferrable: true },
    );
    return cleared ?? task;
  }

  /** Writes a change starting from the version the caller holds; the task must exist. */
  private async commit(task: TaskRecord, change: Change<TaskRecord>): Promise<TaskRecord> {
    const result = await this.records.updateTask(task.task_id, change, task);
    if (!result) throw new NotFoundError(`task ${task.task_id} disappeared`);
    return result;
  }
}
