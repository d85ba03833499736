/**
 * Versioned records over the state store: counted reads, conditional writes and the one
 * optimistic read-modify-write loop that the registry and the task ledger run their changes
 * through. A change is a pure function of the current record; on a lost race the record is
 * read again and the change re-applied. Use cases never call this directly: they use the
 * registry's and the ledger's domain verbs.
 */
import { ConditionFailedError } from '../errors';
import type { AgentRecord, TaskRecord, TaskStatus } from '../model';
import type { Clock, Page, PutOptions, SlotClaim, StateStore } from '../ports';

const MAX_CAS_ATTEMPTS = 12;
/** For changes that only give something back (a slot): at most about 3 s of backoff in all. */
const PERSISTENT_CAS_ATTEMPTS = 64;
/** Ceiling of the jittered backoff between attempts, ms. */
const BACKOFF_MS = 50;
/**
 * The persistent loop's ceiling: a release that keeps losing to a herd of claims on the same
 * agent steps aside long enough for the herd to pass (with the claims' 50 ms ceiling, a store
 * that queues writes per key, like the LevelDB store, let 64 workers starve a release for all
 * its attempts; the slot then stayed held until a sweep).
 */
const PERSISTENT_BACKOFF_MS = 400;

/** What an update that gave up under contention returns. */
export const CONTENDED: unique symbol = Symbol('contended');

/**
 * Returns the changed record, or undefined for "nothing to do". It is given a shallow copy of
 * the stored record (records are immutable values, and a store may hand out the very object it
 * keeps): set fields, including new arrays, but never mutate an array or object in place.
 */
export type Change<T> = (current: T) => T | undefined;

export class VersionedRecords {
  /** Round trips to the store, for benchmarks. */
  readonly stats = { reads: 0, writes: 0, conflicts: 0, flushes: 0 };
  /** Told of every agent record this instance wrote or read fresh (the registry's snapshot). */
  onAgent?: (agent: AgentRecord) => void;

  constructor(
    readonly store: StateStore,
    private readonly clock: Clock,
    private readonly recordTtlSeconds: number,
  ) {}

  now(): number {
    return this.clock.now();
  }

  /** The clock's time as ISO 8601; formatted once per millisecond (a request asks for it often). */
  nowIso(): string {
    const now = this.clock.now();
    if (now !== this.isoAt) {
      this.isoAt = now;
      this.iso = new Date(now).toISOString();
    }
    return this.iso;
  }
  private isoAt = Number.NaN;
  private iso = '';

  ttl(): number {
    return Math.floor(this.clock.now() / 1000) + this.recordTtlSeconds;
  }

  async getTask(taskId: string): Promise<TaskRecord | undefined> {
    this.stats.reads += 1;
    return this.store.getTask(taskId);
  }

  async getAgent(agentId: string): Promise<AgentRecord | undefined> {
    this.stats.reads += 1;
    return this.store.getAgent(agentId);
  }

  async listAgents(): Promise<AgentRecord[]> {
    this.stats.reads += 1;
    return this.store.listAgents();
  }

  async listTasks(status: TaskStatus, limit?: number): Promise<TaskRecord[]> {
    this.stats.reads += 1;
    return this.store.listTasksByStatus(status, limit);
  }

  listQueue(queueKey: string, limit: number, cursor?: string): Promise<Page<TaskRecord>> {
    this.stats.reads += 1;
    return this.store.listQueue(queueKey, limit, cursor);
  }

  listQueueKeys(): Promise<string[]> {
    this.stats.reads += 1;
    return this.store.listQueueKeys();
  }

  listPendingOutbox(limit: number, cursor?: string): Promise<Page<TaskRecord>> {
    this.stats.reads += 1;
    return this.store.listPendingOutbox(limit, cursor);
  }

  listOverdue(before: string, limit: number, cursor?: string): Promise<Page<TaskRecord>> {
    this.stats.reads += 1;
    return this.store.listOverdue(before, limit, cursor);
  }

  /** Creates the task unless it exists; returns the stored one either way. */
  async createTask(task: TaskRecord): Promise<{ task: TaskRecord; created: boolean }> {
    try {
      this.stats.writes += 1;
      await this.store.putTask(task, null);
      return { task, created: true };
    } catch (err) {
      if (!(err instanceof ConditionFailedError)) throw err;
      const existing = await this.getTask(task.task_id);
      if (!existing) throw err;
      return { task: existing, created: false };
    }
  }

  /**
   * Applies `change` to the current task. `current` may be passed to save the first read when
   * the caller just read it. `options` go to the store with the write.
   */
  updateTask(
    taskId: string,
    change: Change<TaskRecord>,
    current?: TaskRecord,
    options?: PutOptions,
  ): Promise<TaskRecord | undefined> {
    // Without a give-up limit the loop never answers CONTENDED.
    return this.update(
      current,
      () => this.getTask(taskId),
      options
        ? (next, expected) => this.store.putTask(next, expected, options)
        : (next, expected) => this.store.putTask(next, expected),
      change,
    ) as Promise<TaskRecord | undefined>;
  }

  /**
   * Makes what this process wrote durable before anything outside the store sees it (a
   * write-behind store's `flush`; nothing to wait for in any other store).
   */
  flush(): Promise<void> {
    if (!this.store.flush) return Promise.resolve();
    this.stats.flushes += 1;
    return this.store.flush();
  }

  /**
   * Applies `change` to the agent. With `attempts`, a loop that lost that many races gives up
   * and returns `CONTENDED` instead of backing off and trying again.
   */
  updateAgent(
    agentId: string,
    change: Change<AgentRecord>,
    current?: AgentRecord,
  ): Promise<AgentRecord | undefined>;
  updateAgent(
    agentId: string,
    change: Change<AgentRecord>,
    current: AgentRecord | undefined,
    attempts: number | undefined,
  ): Promise<AgentRecord | undefined | typeof CONTENDED>;
  updateAgent(agentId: string, change: Change<AgentRecord>, current?: AgentRecord, attempts?: number) {
    return this.update(
      current,
      () => this.getAgent(agentId),
      (next, expected) => this.store.putAgent(next, expected),
      change,
      attempts,
    );
  }

  /**
   * An agent change that must not be lost to contention (giving a slot back): the loop goes on
   * far longer than a claim's would before it gives up.
   */
  updateAgentPersistently(agentId: string, change: Change<AgentRecord>): Promise<AgentRecord | undefined> {
    return this.update(
      undefined,
      () => this.getAgent(agentId),
      (next, expected) => this.store.putAgent(next, expected),
      change,
      undefined,
      PERSISTENT_CAS_ATTEMPTS,
      PERSISTENT_BACKOFF_MS,
    ) as Promise<AgentRecord | undefined>;
  }

  /** True when the store changes slots atomically (`claimAgentSlot` / `releaseAgentSlot`). */
  get atomicSlots(): boolean {
    return (
      typeof this.store.claimAgentSlot === 'function' && typeof this.store.releaseAgentSlot === 'function'
    );
  }

  /** The store's atomic claim (only when `atomicSlots`). */
  async claimSlotAtomically(agentId: string, taskId: string, force: boolean): Promise<SlotClaim | undefined> {
    this.stats.writes += 1;
    const result = await this.store.claimAgentSlot!(agentId, taskId, this.stamp(), force);
    if (result?.claimed) this.onAgent?.(result.agent);
    return result;
  }

  /** The store's atomic release (only when `atomicSlots`). */
  async releaseSlotAtomically(agentId: string, taskId: string): Promise<AgentRecord | undefined> {
    this.stats.writes += 1;
    const agent = await this.store.releaseAgentSlot!(agentId, taskId, this.stamp());
    if (agent) this.onAgent?.(agent);
    return agent;
  }

  private stamp(): { updatedAt: string; ttl: number } {
    return { updatedAt: this.nowIso(), ttl: this.ttl() };
  }

  /** Creates or updates an agent in one optimistic loop. */
  async upsertAgent(
    agentId: string,
    change: (current: AgentRecord | undefined) => AgentRecord,
  ): Promise<AgentRecord> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const current = await this.getAgent(agentId);
      const next = change(current ? { ...current } : undefined);
      next.version = (current?.version ?? 0) + 1;
      next.updated_at = this.nowIso();
      next.ttl = this.ttl();
      next.active_tasks = next.active_task_ids.length;
      try {
        this.stats.writes += 1;
        await this.store.putAgent(next, current?.version ?? null);
        this.onAgent?.(next);
        return next;
      } catch (err) {
        if (!(err instanceof ConditionFailedError)) throw err;
        this.stats.conflicts += 1;
        await backoff(attempt);
      }
    }
    throw new ConditionFailedError(`agent ${agentId}: too many concurrent updates`);
  }

  private async update<T extends AgentRecord | TaskRecord>(
    first: T | undefined,
    read: () => Promise<T | undefined>,
    write: (next: T, expected: number) => Promise<void>,
    change: Change<T>,
    giveUpAfter?: number,
    maxAttempts = MAX_CAS_ATTEMPTS,
    backoffCeilingMs = BACKOFF_MS,
  ): Promise<T | undefined | typeof CONTENDED> {
    let current = first;
    // A record the caller passed in saves a read, but it may be stale: a "nothing to do" based
    // on it is checked once against the store, and a conflict always re-reads.
    let fromCaller = first !== undefined;
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      if (current === undefined) current = await read();
      if (current === undefined) return undefined;
      const next = change({ ...current });
      if (next === undefined) {
        if (!fromCaller) return current;
        fromCaller = false;
        current = undefined;
        continue;
      }
      next.version = current.version + 1;
      next.updated_at = this.nowIso();
      next.ttl = this.ttl();
      if ('active_task_ids' in next) next.active_tasks = next.active_task_ids.length;
      try {
        this.stats.writes += 1;
        await write(next, current.version);
        if (this.onAgent && 'active_task_ids' in next) this.onAgent(next);
        return next;
      } catch (err) {
        if (!(err instanceof ConditionFailedError)) throw err;
        this.stats.conflicts += 1;
        if (giveUpAfter !== undefined && attempt + 1 >= giveUpAfter) return CONTENDED;
        fromCaller = false;
        current = undefined;
        await backoff(attempt, backoffCeilingMs);
      }
    }
    throw new ConditionFailedError('too many concurrent updates of one record');
  }
}

/** Jittered backoff between optimistic retries: spreads concurrent writers apart. */
function backoff(attempt: number, ceilingMs = BACKOFF_MS): Promise<void> {
  if (attempt === 0) return Promise.resolve();
  const ms = Math.random() * Math.min(ceilingMs, 2 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, ms));
}
