/**
 * The durable embedded store for one machine: LevelDB (classic-level, prebuilt binary, no
 * compile at install). LevelDB's write-ahead log makes each batch atomic, so a crash mid-write
 * leaves the record and its index either both old or both new. Conditional writes are
 * serialised per key inside the process (LevelDB allows one process per directory).
 *
 * Keys: `a/<agent_id>` agent records, `t/<task_id>` task records, and index entries written in
 * the same atomic batch as their task, so every listing is one range read of its page:
 *   `s/<status>/<queue order>`              per status, in queue order
 *   `q/<queue key>\0<queue order>`          queued tasks per queue (`queueKeyOf`), in queue order
 *   `k/<queue key>`                         the queue keys ever used (listQueueKeys skips empty ones)
 *   `o/<task_id>`                           tasks whose outbox is not empty
 *   `d/<deadline_at>\0<task_id>`            assigned tasks with a deadline, earliest first
 * A page's cursor is the last entry's key after its prefix.
 *
 * The process owns its directory (LevelDB's LOCK), so it can keep what it wrote: every agent
 * and the most recent tasks are held in memory (records are immutable values, deep-frozen under
 * jest), reads are served from there and every write goes to LevelDB before the cache is
 * updated. The queue keys in use are counted in memory too.
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
import type { Page, StateStore } from '../../core/ports';
import { check } from './memory-store';

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
  /** Queued tasks per queue key. */
  private readonly queued = new Map<string, number>();

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

  /** Loads every agent and counts the queues (one range read each). */
  private async warm(): Promise<void> {
    for await (const value of this.db.values({ gt: 'a/', lt: 'a0' })) {
      const agent = keep(JSON.parse(value) as AgentRecord);
      this.agents.set(agent.agent_id, agent);
    }
    for await (const key of this.db.keys({ gt: 'q/', lt: 'q0' })) {
      const queueKey = key.slice(2, key.indexOf(SEP));
      this.queued.set(queueKey, (this.queued.get(queueKey) ?? 0) + 1);
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
      await this.db.put(key, JSON.stringify(agent), { sync: this.options.sync ?? false });
      this.agents.set(agent.agent_id, keep(agent));
    });
  }

  async getTask(taskId: string): Promise<TaskRecord | undefined> {
    const cached = this.tasks.get(taskId);
    if (cached) return cached;
    const task = await this.read<TaskRecord>(`t/${taskId}`);
    if (task) this.remember(keep(task));
    return task;
  }

  async putTask(task: TaskRecord, expectedVersion: number | null): Promise<void> {
    const key = `t/${task.task_id}`;
    await this.withLock(key, async () => {
      const stored = this.tasks.get(task.task_id) ?? (await this.read<TaskRecord>(key));
      check(stored?.version, expectedVersion, task.version, `task ${task.task_id}`);
      const batch = this.db.batch();
      const entries = indexEntries(task);
      // Queue keys (`k/`) stay: other tasks may wait in that queue; listQueueKeys skips empty ones.
      if (stored)
        for (const old of Object.keys(indexEntries(stored)))
          if (!(old in entries) && !old.startsWith('k/')) batch.del(old);
      for (const [entry, value] of Object.entries(entries)) batch.put(entry, value);
      batch.put(key, JSON.stringify(task));
      await batch.write({ sync: this.options.sync ?? false });
      if (stored?.status === 'queued') this.count(queueKeyOf(stored), -1);
      if (task.status === 'queued') this.count(queueKeyOf(task), +1);
      this.remember(keep(task));
    });
  }

  async listTasksByStatus(status: TaskStatus, limit = 100): Promise<TaskRecord[]> {
    const ids: string[] = [];
    for await (const id of this.db.values({ gt: `s/${status}/`, lt: `s/${status}0`, limit })) ids.push(id);
    return this.tasksById(ids);
  }

  async listQueue(queueKey: string, limit: number, cursor?: string): Promise<Page<TaskRecord>> {
    return this.page(`q/${queueKey}${SEP}`, `q/${queueKey}${SEP_END}`, limit, cursor);
  }

  async listQueueKeys(): Promise<string[]> {
    return [...this.queued.entries()].filter(([, n]) => n > 0).map(([key]) => key);
  }

  async listPendingOutbox(limit: number, cursor?: string): Promise<Page<TaskRecord>> {
    return this.page('o/', 'o0', limit, cursor);
  }

  async listOverdue(before: string, limit: number, cursor?: string): Promise<Page<TaskRecord>> {
    return this.page('d/', `d/${before}`, limit, cursor);
  }

  /** One range read of index entries (`prefix` + cursor exclusive, up to `end`), then their tasks. */
  private async page(prefix: string, end: string, limit: number, cursor?: string): Promise<Page<TaskRecord>> {
    const entries = await this.db
      .iterator({ gt: cursor === undefined ? prefix : `${prefix}${cursor}`, lt: end, limit })
      .all();
    const items = await this.tasksById(entries.map(([, id]) => id));
    const last = entries[entries.length - 1];
    return entries.length === limit && last ? { items, cursor: last[0].slice(prefix.length) } : { items };
  }

  /** Tasks by id, in order, from memory where it has them and one multi-get for the rest. */
  private async tasksById(ids: readonly string[]): Promise<TaskRecord[]> {
    const missing = ids.filter((id) => !this.tasks.has(id));
    if (missing.length > 0) {
      const values = await this.db.getMany(missing.map((id) => `t/${id}`));
      for (const v of values) if (typeof v === 'string') this.remember(keep(JSON.parse(v) as TaskRecord));
    }
    return ids.map((id) => this.tasks.get(id)).filter((t): t is TaskRecord => t !== undefined);
  }

  /** Keeps a task in memory as the most recently used, dropping the least recently used past the cap. */
  private remember(task: TaskRecord): void {
    this.tasks.delete(task.task_id);
    this.tasks.set(task.task_id, task);
    const cap = this.options.cachedTasks ?? 20_000;
    while (this.tasks.size > cap) this.tasks.delete(this.tasks.keys().next().value!);
  }

  private count(queueKey: string, delta: number): void {
    this.queued.set(queueKey, (this.queued.get(queueKey) ?? 0) + delta);
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

/** Sorts before and after any character of a queue key, id or timestamp. */
const SEP = '\u0000';
const SEP_END = '\u0001';

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
