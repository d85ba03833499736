/**
 * The durable embedded store for one machine: LevelDB (classic-level, prebuilt binary, no
 * compile at install). LevelDB's write-ahead log makes each batch atomic, so a crash mid-write
 * leaves the record and its index either both old or both new. Conditional writes are
 * serialised per key inside the process (LevelDB allows one process per directory).
 *
 * Keys: `a/<agent_id>` agent records, `t/<task_id>` task records, and `s/<status>/<queue key>`
 * an index per status in queue order, so listing agents or one status is a range read.
 */
import { ClassicLevel } from 'classic-level';
import { StoreUnavailableError } from '../../core/errors';
import { queueOrderKey, type AgentRecord, type TaskRecord, type TaskStatus } from '../../core/model';
import type { StateStore } from '../../core/ports';
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
      if (stored) batch.del(indexKey(stored));
      batch.put(indexKey(task), task.task_id);
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

function indexKey(task: TaskRecord): string {
  return `s/${task.status}/${queueOrderKey(task)}`;
}
