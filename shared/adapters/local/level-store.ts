/**
 * The durable embedded store for one machine: LevelDB (classic-level, prebuilt binary, no
 * compile at install). LevelDB's write-ahead log makes each batch atomic, so a crash mid-write
 * leaves the record and its index either both old or both new. Conditional writes are
 * serialised per key inside the process (LevelDB allows one process per directory).
 *
 * Keys: `a/<agent_id>` agent records, `t/<task_id>` task records, and index entries written in
 * the same atomic batch as their task (so a crash leaves a task and its entries agreeing):
 *   `s/<status>/<queue order>`              per status, in queue order
 *   `q/<queue key>\0<queue order>`          queued tasks per queue (`queueKeyOf`), in queue order
 *   `k/<queue key>`                         the queue keys ever used (listQueueKeys skips empty ones)
 *   `o/<task_id>`                           tasks whose outbox is not empty
 *   `d/<deadline_at>\0<task_id>`            assigned tasks with a deadline, earliest first
 * A page's cursor is the last entry's key after its prefix.
 *
 * The process owns its directory (LevelDB's LOCK), so it can keep what it wrote: every agent
 * and the most recent tasks are held in memory (records are immutable values, deep-frozen under
 * jest), reads are served from there and every write goes to LevelDB before memory is
 * updated. The index entries are held in memory too (`SortedKeys` per index, loaded at open with
 * one range read per prefix, changed only once the task's batch is written), so a listing reads
 * its page of entries from memory and then its tasks from the cache or with one multi-get. The
 * ids of every task on disk (the `s/` entries' values) are held as well, so looking up an id no
 * task has (the idempotency check of a create) does not read the disk: about 50-100 bytes per
 * task for its `s/` entry and id, besides its other entries while they exist.
 */
import { ClassicLevel } from 'classic-level';
import { StoreUnavailableError } from '../../core/errors';
import {
  queueKeyOf,
  queueOrderKey,
  type AgentRecord,
  type TaskRecord,
  type TaskStatus,
} from '../../core/model';
import type { Page, SlotClaim, StateStore, WriteStamp } from '../../core/ports';
import { check, withSlotClaimed, withSlotReleased } from './memory-store';
import { SortedKeys } from './sorted-keys';

export interface LevelStoreOptions {
  /** fsync every write (survives power loss, not only a process crash). Default false. */
  sync?: boolean;
  /** Task records kept in memory, most recently used (default 20,000). */
  cachedTasks?: number;
}

export class LevelStateStore implements StateStore {
  readonly name = 'level';
  private readonly db: ClassicLevel<string, string>;
  private readonly locks = new Map<string, Promise<void>>();
  private readonly agents = new Map<string, AgentRecord>();
  private readonly tasks = new Map<string, TaskRecord>();
  /** Every task id on disk, or whose write may have reached it: an id not here has no record. */
  private readonly taskIds = new Set<string>();
  /** The index entries, each held as its key after its prefix (a page's cursor). */
  private readonly byStatus = new Map<string, SortedKeys>(); // s/<status>/ -> queue order
  private readonly queues = new Map<string, SortedKeys>(); // q/<queue key>\0 -> queue order
  private readonly pendingOutbox = new SortedKeys(); // o/ -> task id
  private readonly deadlines = new SortedKeys(); // d/ -> deadline \0 task id
  /** Entry keys whose task id is not what `idOf` reads from them (never, for valid ids): key -> id. */
  private readonly unusualIds = new Map<string, string>();

  private constructor(
    readonly location: string,
    private readonly options: LevelStoreOptions,
  ) {
    this.db = new ClassicLevel<string, string>(location, { valueEncoding: 'utf8' });
  }

  static async open(location: string, options: LevelStoreOptions = {}): Promise<LevelStateStore> {
    const store = new LevelStateStore(location, options);
    try {
      await store.db.open();
    } catch (err) {
      // LevelDB allows one process per directory: say so rather than "IO error: lock .../LOCK".
      const locked = (err as { cause?: { code?: string } }).cause?.code === 'LEVEL_LOCKED';
      throw new StoreUnavailableError(
        locked
          ? `the store at ${location} is in use by another process (its LevelDB LOCK is held)`
          : `cannot open the store at ${location}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    await store.warm();
    return store;
  }

  /** Loads every agent and every index entry (one range read per prefix). */
  private async warm(): Promise<void> {
    for await (const value of this.db.values({ gt: 'a/', lt: 'a0' })) {
      const agent = keep(JSON.parse(value) as AgentRecord);
      this.agents.set(agent.agent_id, agent);
    }
    await this.scan('s/', 's0', (key, id) => {
      const slash = key.indexOf('/', 2);
      this.taskIds.add(id);
      this.keepId(sortedFor(this.byStatus, key.slice(2, slash)), key.slice(slash + 1), id);
    });
    await this.scan('q/', 'q0', (key, id) => {
      // The last separator: a queue order has none (ISO time, identifier), a queue key might.
      const sep = key.lastIndexOf(SEP);
      this.keepId(sortedFor(this.queues, key.slice(2, sep)), key.slice(sep + 1), id);
    });
    await this.scan('o/', 'o0', (key, id) => this.keepId(this.pendingOutbox, key.slice(2), id));
    await this.scan('d/', 'd0', (key, id) => this.keepId(this.deadlines, key.slice(2), id));
  }

  /** One range read, in batches. */
  private async scan(gt: string, lt: string, each: (key: string, value: string) => void): Promise<void> {
    const iterator = this.db.iterator({ gt, lt });
    try {
      for (;;) {
        const entries = await iterator.nextv(1000);
        if (entries.length === 0) break;
        for (const [key, value] of entries) each(key, value);
      }
    } finally {
      await iterator.close();
    }
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  async getAgent(agentId: string): Promise<AgentRecord | undefined> {
    return this.agents.get(agentId);
  }

  async listAgents(): Promise<AgentRecord[]> {
    return [...this.agents.values()].sort((a, b) => (a.agent_id < b.agent_id ? -1 : 1));
  }

  async putAgent(agent: AgentRecord, expectedVersion: number | null): Promise<void> {
    const key = `a/${agent.agent_id}`;
    await this.withLock(key, async () => {
      const stored = this.agents.get(agent.agent_id);
      check(stored?.version, expectedVersion, agent.version, `agent ${agent.agent_id}`);
      await this.writeAgent(agent);
    });
  }

  /** Under the agent's lock: the check and the write are one step for every writer of this store. */
  async claimAgentSlot(
    agentId: string,
    taskId: string,
    stamp: WriteStamp,
    force: boolean,
  ): Promise<SlotClaim | undefined> {
    let result: SlotClaim | undefined;
    await this.withLock(`a/${agentId}`, async () => {
      const agent = this.agents.get(agentId);
      if (!agent) return;
      const next = withSlotClaimed(agent, taskId, stamp, force);
      result = next
        ? { agent: await this.writeAgent(next), claimed: true }
        : { agent, claimed: agent.active_task_ids.includes(taskId) };
    });
    return result;
  }

  async releaseAgentSlot(
    agentId: string,
    taskId: string,
    stamp: WriteStamp,
  ): Promise<AgentRecord | undefined> {
    let result: AgentRecord | undefined;
    await this.withLock(`a/${agentId}`, async () => {
      const agent = this.agents.get(agentId);
      const next = agent && withSlotReleased(agent, taskId, stamp);
      result = next ? await this.writeAgent(next) : agent;
    });
    return result;
  }

  private async writeAgent(agent: AgentRecord): Promise<AgentRecord> {
    await this.db.put(`a/${agent.agent_id}`, JSON.stringify(agent), { sync: this.options.sync ?? false });
    const kept = keep(agent);
    this.agents.set(agent.agent_id, kept);
    return kept;
  }

  async getTask(taskId: string): Promise<TaskRecord | undefined> {
    const cached = this.tasks.get(taskId);
    if (cached) return cached;
    if (!this.taskIds.has(taskId)) return undefined;
    const task = await this.read<TaskRecord>(`t/${taskId}`);
    return task ? this.remember(keep(task)) : undefined;
  }

  async putTask(task: TaskRecord, expectedVersion: number | null): Promise<void> {
    const key = `t/${task.task_id}`;
    await this.withLock(key, async () => {
      const stored =
        this.tasks.get(task.task_id) ??
        (this.taskIds.has(task.task_id) ? await this.read<TaskRecord>(key) : undefined);
      check(stored?.version, expectedVersion, task.version, `task ${task.task_id}`);
      const batch = this.db.batch();
      const entries = indexEntries(task);
      // Queue keys (`k/`) stay: other tasks may wait in that queue; listQueueKeys skips empty ones.
      if (stored)
        for (const old of Object.keys(indexEntries(stored)))
          if (!(old in entries) && !old.startsWith('k/')) batch.del(old);
      for (const [entry, value] of Object.entries(entries)) batch.put(entry, value);
      batch.put(key, JSON.stringify(task));
      // Before the write: should it fail having reached the disk after all, the id still reads from there.
      this.taskIds.add(task.task_id);
      await batch.write({ sync: this.options.sync ?? false });
      if (stored) this.unindex(stored);
      this.index(task);
      this.tasks.delete(task.task_id);
      this.remember(keep(task));
    });
  }

  async listTasksByStatus(status: TaskStatus, limit = 100): Promise<TaskRecord[]> {
    const entries = this.byStatus.get(status)?.page(rangeLimit(limit)) ?? [];
    return this.tasksById(entries.map((entry) => this.idOf(entry)));
  }

  async listQueue(queueKey: string, limit: number, cursor?: string): Promise<Page<TaskRecord>> {
    return this.page(this.queues.get(queueKey), limit, cursor);
  }

  async listQueueKeys(): Promise<string[]> {
    return [...this.queues.entries()].filter(([, keys]) => keys.size > 0).map(([key]) => key);
  }

  async listPendingOutbox(limit: number, cursor?: string): Promise<Page<TaskRecord>> {
    return this.page(this.pendingOutbox, limit, cursor);
  }

  async listOverdue(before: string, limit: number, cursor?: string): Promise<Page<TaskRecord>> {
    return this.page(this.deadlines, limit, cursor, before);
  }

  /**
   * A page of an index's entries (after the cursor, before `before`, both exclusive) from
   * memory, then their tasks; the cursor is the last entry, as the range read's key after its
   * prefix was.
   */
  private async page(
    index: SortedKeys | undefined,
    limit: number,
    cursor?: string,
    before?: string,
  ): Promise<Page<TaskRecord>> {
    const entries = index?.page(rangeLimit(limit), cursor, before) ?? [];
    const items = await this.tasksById(entries.map((entry) => this.idOf(entry)));
    const last = entries[entries.length - 1];
    return entries.length === limit && last !== undefined ? { items, cursor: last } : { items };
  }

  /** Tasks by id, in order, from memory where it has them and one multi-get for the rest. */
  private async tasksById(ids: readonly string[]): Promise<TaskRecord[]> {
    // Taken before the multi-get: what it reads may push these out of the cache.
    const found = ids.map((id) => this.tasks.get(id));
    const missing = ids.filter((_, i) => found[i] === undefined);
    if (missing.length > 0) {
      const read = new Map<string, TaskRecord>();
      const values = await this.db.getMany(missing.map((id) => `t/${id}`));
      for (const v of values)
        if (typeof v === 'string') {
          const task = this.remember(keep(JSON.parse(v) as TaskRecord));
          read.set(task.task_id, task);
        }
      for (let i = 0; i < ids.length; i++) found[i] ??= read.get(ids[i]!);
    }
    return found.filter((t): t is TaskRecord => t !== undefined);
  }

  /** The index entries of a task, in memory (once its batch is written). */
  private index(task: TaskRecord): void {
    const order = queueOrderKey(task);
    this.keepId(sortedFor(this.byStatus, task.status), order, task.task_id);
    if (task.status === 'queued') this.keepId(sortedFor(this.queues, queueKeyOf(task)), order, task.task_id);
    if (task.outbox.length > 0) this.keepId(this.pendingOutbox, task.task_id, task.task_id);
    if (task.status === 'assigned' && task.deadline_at)
      this.keepId(this.deadlines, `${task.deadline_at}${SEP}${task.task_id}`, task.task_id);
  }

  private unindex(task: TaskRecord): void {
    const order = queueOrderKey(task);
    this.byStatus.get(task.status)?.delete(order);
    if (task.status === 'queued') this.queues.get(queueKeyOf(task))?.delete(order);
    if (task.outbox.length > 0) this.pendingOutbox.delete(task.task_id);
    if (task.status === 'assigned' && task.deadline_at)
      this.deadlines.delete(`${task.deadline_at}${SEP}${task.task_id}`);
  }

  /** Adds an index entry to memory, remembering its task id when `idOf` would not find it. */
  private keepId(index: SortedKeys, entry: string, id: string): void {
    index.add(entry);
    if (idOf(entry) !== id) this.unusualIds.set(entry, id);
  }

  /** The task id of an index entry (its disk value). */
  private idOf(entry: string): string {
    return (this.unusualIds.size > 0 ? this.unusualIds.get(entry) : undefined) ?? idOf(entry);
  }

  /**
   * Keeps a task in memory as the most recently used, dropping the least recently used past the
   * cap, and returns what memory holds for it: a record read from disk does not replace a newer
   * one a write cached while the read was under way.
   */
  private remember(task: TaskRecord): TaskRecord {
    const cached = this.tasks.get(task.task_id);
    const kept = cached && cached.version >= task.version ? cached : task;
    this.tasks.delete(task.task_id);
    this.tasks.set(task.task_id, kept);
    const cap = this.options.cachedTasks ?? 20_000;
    while (this.tasks.size > cap) this.tasks.delete(this.tasks.keys().next().value!);
    return kept;
  }

  private async read<T>(key: string): Promise<T | undefined> {
    const value = await this.db.get(key);
    return value === undefined ? undefined : (JSON.parse(value) as T);
  }

  /** Serialises read-check-write per key so the version check and the write are one step. */
  private async withLock(key: string, fn: () => Promise<void>): Promise<void> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const chained = previous.then(() => mine);
    this.locks.set(key, chained);
    await previous;
    try {
      await fn();
    } finally {
      release();
      if (this.locks.get(key) === chained) this.locks.delete(key);
    }
  }
}

/** Sorts before any character of a queue key, id or timestamp. */
const SEP = '\u0000';

/**
 * The task id an index entry (its key after its prefix) ends with: after the last `#` of a queue
 * order (`s/`, `q/`), after the separator of a deadline entry (`d/`), the whole of an `o/` one.
 * Task ids are identifiers (no `#`, no separator); entries of any other are kept in `unusualIds`.
 */
function idOf(entry: string): string {
  return entry.slice(Math.max(entry.lastIndexOf('#'), entry.lastIndexOf(SEP)) + 1);
}

/** The number of entries a LevelDB range read with this `limit` returns at most (abstract-level's rule). */
function rangeLimit(limit: number): number {
  return Number.isInteger(limit) && limit >= 0 ? limit : Infinity;
}

function sortedFor(map: Map<string, SortedKeys>, key: string): SortedKeys {
  let keys = map.get(key);
  if (!keys) map.set(key, (keys = new SortedKeys()));
  return keys;
}

/** The index entries of a task (key -> task id), all written in the task's batch. */
function indexEntries(task: TaskRecord): Record<string, string> {
  const order = queueOrderKey(task);
  const entries: Record<string, string> = { [`s/${task.status}/${order}`]: task.task_id };
  if (task.status === 'queued') {
    const queueKey = queueKeyOf(task);
    entries[`q/${queueKey}${SEP}${order}`] = task.task_id;
    entries[`k/${queueKey}`] = '';
  }
  if (task.outbox.length > 0) entries[`o/${task.task_id}`] = task.task_id;
  if (task.status === 'assigned' && task.deadline_at)
    entries[`d/${task.deadline_at}${SEP}${task.task_id}`] = task.task_id;
  return entries;
}

const FREEZE = process.env.NODE_ENV === 'test';

/** A record as kept in memory: shared with callers, so deep-frozen under jest. */
function keep<T>(value: T): T {
  if (FREEZE && typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) keep(v);
  }
  return value;
}
