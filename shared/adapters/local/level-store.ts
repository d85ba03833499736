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
}

export class LevelStateStore implements StateStore {
  readonly name = 'level';
  private readonly db: ClassicLevel<string, string>;
  private readonly locks = new Map<string, Promise<void>>();

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
    return store;
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  async getAgent(agentId: string): Promise<AgentRecord | undefined> {
    return this.read<AgentRecord>(`a/${agentId}`);
  }

  async listAgents(): Promise<AgentRecord[]> {
    const out: AgentRecord[] = [];
    for await (const value of this.db.values({ gt: 'a/', lt: 'a0' }))
      out.push(JSON.parse(value) as AgentRecord);
    return out;
  }

  async putAgent(agent: AgentRecord, expectedVersion: number | null): Promise<void> {
    const key = `a/${agent.agent_id}`;
    await this.withLock(key, async () => {
      const stored = await this.read<AgentRecord>(key);
      check(stored?.version, expectedVersion, agent.version, `agent ${agent.agent_id}`);
      await this.db.put(key, JSON.stringify(agent), { sync: this.options.sync ?? false });
    });
  }

  async getTask(taskId: string): Promise<TaskRecord | undefined> {
    return this.read<TaskRecord>(`t/${taskId}`);
  }

  async putTask(task: TaskRecord, expectedVersion: number | null): Promise<void> {
    const key = `t/${task.task_id}`;
    await this.withLock(key, async () => {
      const stored = await this.read<TaskRecord>(key);
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
    });
  }

  async listTasksByStatus(status: TaskStatus, limit = 100): Promise<TaskRecord[]> {
    const ids: string[] = [];
    for await (const id of this.db.values({ gt: `s/${status}/`, lt: `s/${status}0`, limit })) ids.push(id);
    const values = await this.db.getMany(ids.map((id) => `t/${id}`));
    return values.filter((v): v is string => typeof v === 'string').map((v) => JSON.parse(v) as TaskRecord);
  }

  async listQueue(queueKey: string, limit: number, cursor?: string): Promise<Page<TaskRecord>> {
    return this.page(`q/${queueKey}${SEP}`, `q/${queueKey}${SEP_END}`, limit, cursor);
  }

  async listQueueKeys(): Promise<string[]> {
    const keys: string[] = [];
    for await (const k of this.db.keys({ gt: 'k/', lt: 'k0' })) keys.push(k.slice(2));
    const used: string[] = [];
    for (const queueKey of keys) {
      const head = await this.db
        .keys({ gt: `q/${queueKey}${SEP}`, lt: `q/${queueKey}${SEP_END}`, limit: 1 })
        .all();
      if (head.length > 0) used.push(queueKey);
    }
    return used;
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
    const values = await this.db.getMany(entries.map(([, id]) => `t/${id}`));
    const items = values
      .filter((v): v is string => typeof v === 'string')
      .map((v) => JSON.parse(v) as TaskRecord);
    const last = entries[entries.length - 1];
    return entries.length === limit && last ? { items, cursor: last[0].slice(prefix.length) } : { items };
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
