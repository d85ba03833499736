// The state store port: the agent registry and the task ledger, and what its calls take and give.
import type { AgentRecord, TaskRecord, TaskStatus } from '../model';

/**
 * Agent registry and task ledger with optimistic concurrency.
 *
 * `put*` writes `record` only if the stored version equals `expectedVersion` (`null`: only if
 * no record exists) and the record's own `version` is `expectedVersion + 1` (1 for a new one).
 * Otherwise it throws `ConditionFailedError`. Throttling and timeouts surface as
 * `StoreUnavailableError`. Records are returned as plain objects the caller may not mutate.
 *
 * A write is visible to every read of the store once it resolves. It is durable then too,
 * except in a write-behind store (one that has `flush`), where it is durable once a `flush`
 * called after it resolves.
 */
export interface StateStore {
  readonly name: string;
  getAgent(agentId: string): Promise<AgentRecord | undefined>;
  /** Every registered agent, with one query (never a table scan). */
  listAgents(): Promise<AgentRecord[]>;
  putAgent(agent: AgentRecord, expectedVersion: number | null): Promise<void>;
  getTask(taskId: string): Promise<TaskRecord | undefined>;
  putTask(task: TaskRecord, expectedVersion: number | null, options?: PutOptions): Promise<void>;
  /**
   * Tasks in one status, in queue order (priority rank, then `created_at`, then id), at most
   * `limit` (default 100). One query per call.
   */
  listTasksByStatus(status: TaskStatus, limit?: number): Promise<TaskRecord[]>;

  // The indexes below let the drain and the sweep read only what needs them, paged, whatever
  // the size of the ledger. A `cursor` is opaque: pass back the one a page returned.

  /**
   * Queued tasks of one queue (`queueKeyOf(task)`: the pinned agent's, or the capability
   * set's), in queue order (`queueOrderKey`), at most `limit`. One query per call.
   */
  listQueue(queueKey: string, limit: number, cursor?: string): Promise<Page<TaskRecord>>;
  /**
   * Every queue key that holds queued tasks (it may also list keys whose queue emptied since).
   * Small: one key per capability set and per pinned agent in use.
   */
  listQueueKeys(): Promise<string[]>;
  /** Tasks of any status whose outbox is not empty, at most `limit` per page. */
  listPendingOutbox(limit: number, cursor?: string): Promise<Page<TaskRecord>>;
  /** Assigned tasks whose `deadline_at` is before `before`, earliest first, at most `limit` per page. */
  listOverdue(before: string, limit: number, cursor?: string): Promise<Page<TaskRecord>>;

  // Atomic slot changes (optional; a store implements both or neither). A claim or release is
  // one conditional write in the store, with no read of the agent first and no version to
  // match, so concurrent claims on one agent do not conflict: each gets a slot while one is
  // free, then "full". Both bump `version` and set `updated_at`/`ttl` from `stamp`, keeping
  // `active_tasks` equal to the length of `active_task_ids`, like every write of the agent.
  // Without them the registry runs its optimistic read-modify-write loop over `putAgent`.

  /**
   * Adds the task to the agent's slots when the agent is `available` with a free slot (any
   * status and load with `force`). Idempotent: a task already holding a slot is `claimed`
   * without a write. `claimed: false`: no slot (the agent as stored). Undefined: no such agent.
   */
  claimAgentSlot?(
    agentId: string,
    taskId: string,
    stamp: WriteStamp,
    force: boolean,
  ): Promise<SlotClaim | undefined>;
  /** Takes the task off the agent's slots (no write when it holds none); undefined: no such agent. */
  releaseAgentSlot?(agentId: string, taskId: string, stamp: WriteStamp): Promise<AgentRecord | undefined>;

  /**
   * Write-behind stores only (optional): resolves once every write that resolved before the call
   * is durable, except `deferrable` ones, which may still wait for a later flush; rejects with a
   * retryable error when the writes could not be made durable (they stay pending and the next
   * flush tries them again). The core calls it before anything outside the store can see what it
   * wrote: before it publishes events, and before it acknowledges a delivery. A store whose
   * writes are durable when they resolve does not have it. A decorator of a store must forward it.
   */
  flush?(): Promise<void>;
  /** Writes whatever is pending (a write-behind store) and closes. */
  close?(): Promise<void>;
}

/** How a write may be treated. */
export interface PutOptions {
  /**
   * Losing this write in a crash only repeats work that is idempotent (clearing the outbox of
   * events already published: the sweep publishes them again, under the same ids). A write-behind
   * store need not wait for it in `flush`; it writes it with the next batch.
   */
  deferrable?: boolean;
}

/** `updated_at` and `ttl` of a record written by an atomic change. */
export interface WriteStamp {
  updatedAt: string;
  ttl: number;
}

/** What an atomic claim did: the agent as stored after it, and whether the task holds a slot on it. */
export interface SlotClaim {
  agent: AgentRecord;
  claimed: boolean;
}

/** One page of a listing; `cursor` is set when there may be more. */
export interface Page<T> {
  items: T[];
  cursor?: string;
}
