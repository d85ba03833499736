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
 * jest) and reads are served from there. The index entries are held in memory too (`SortedKeys`
 * per index, loaded at open with one range read per prefix), so a listing reads its page of
 * entries from memory and then its tasks from the cache or with one multi-get. The ids of every
 * task on disk (the `s/` entries' values) are held as well, so looking up an id no task has (the
 * idempotency check of a create) does not read the disk: about 50-100 bytes per task for its
 * `s/` entry and id, besides its other entries while they exist.
 *
 * Write-behind: a write is checked and applied to memory at once (it resolves with no disk round
 * trip, and every read sees it), and goes to LevelDB with the next batch. `flush` makes every
 * write before it durable by appending what is not yet to the journal (`journal.ts`): one
 * synchronous `write(2)` of the writes' values, where a LevelDB batch would be a round trip
 * through the thread pool. The core flushes before it publishes and before it acknowledges, so
 * nothing outside the process ever sees a write a crash could take back, and a request's writes
 * (task created, slot claimed, task committed) are one append. Every write is journaled before a
 * batch takes it, so LevelDB holds a prefix of the journal and opening the store replays the rest.
 * Batches go out in the background one at a time, in order, each atomic; what arrives while one
 * is in flight goes with the next, several writes of one key as its last. A batch that fails stays
 * pending and is tried again with the next one (it is in the journal already); an append that
 * fails makes its flush reject, retryably. `deferrable` writes (an outbox cleared after
 * publishing) do not make a flush append: they go with the next one, or the next batch.
 */
import { ClassicLevel } from 'classic-level';
import { Journal, type JournalValue } from './journal';
import { StoreUnavailableError } from '../../core/errors';
import {
  queueKeyOf,
  queueOrderKey,
  type AgentRecord,
  type TaskRecord,
  type TaskStatus,
} from '../../core/model';
import type { Page, PutOptions, SlotClaim, StateStore, WriteStamp } from '../../core/ports';
import { check, withSlotClaimed, withSlotReleased } from './memory-store';
import { SortedKeys } from './sorted-keys';

export interface LevelStoreOptions {
  /** fsync every write (survives power loss, not only a process crash). Default false. */
  sync?: boolean;
  /** Task records kept in memory, most recently used (default 20,000). */
  cachedTasks?: number;
  /** Size past which a journal file is sealed, to be deleted once LevelDB has it (default 8 MiB). */
  journalFileBytes?: number;
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
  /** Writes not on disk yet, key -> its last value (a record, an index entry's value or DELETE). */
  private pending = new Map<string, unknown>();
  /** The batch on its way to disk (still read from: the cache may have dropped its tasks). */
  private inFlight = new Map<string, unknown>();
  private writing: Promise<Error | undefined> | undefined;
  private scheduled = false;
  /** Writes not in the journal yet, key -> its last value (as `pending`, and the deletes `pending` drops). */
  private unjournaled = new Map<string, unknown>();
  /**
   * Pending index entries LevelDB has never had (put since the last batch, absent before): a
   * delete of one drops it from `pending` (LevelDB never hears of it), and is only journaled.
   * A task's queued, outbox and deadline entries mostly live and die between two batches.
   */
  private fresh = new Set<string>();
  /** Writes staged so far; the last one a flush must cover (not deferrable); the last journaled; the last in LevelDB. */
  private staged = 0;
  private required = 0;
  private journaled = 0;
  private durable = 0;
  private journal!: Journal;
  /** The append the flushes of this turn of the event loop wait for. */
  private grouped: Promise<void> | undefined;

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
    try {
      await store.replay();
    } catch (err) {
      (store.journal as Journal | undefined)?.close();
      await store.db.close();
      throw new StoreUnavailableError(
        `cannot replay the journal of the store at ${location}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    await store.warm();
    return store;
  }

  /** Opens the journal and writes what it holds beyond LevelDB (the writes of a process that stopped before their batch). */
  private async replay(): Promise<void> {
    const { journal, replay } = Journal.open(this.location, {
      sync: this.options.sync ?? false,
      ...(this.options.journalFileBytes ? { fileBytes: this.options.journalFileBytes } : {}),
    });
    this.journal = journal;
    if (replay.size > 0)
      await this.db.batch(
        [...replay].map(([key, value]) =>
          value === undefined ? { type: 'del' as const, key } : { type: 'put' as const, key, value },
        ),
        { sync: this.options.sync ?? false },
      );
    journal.clear();
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

  /** Writes what is pending to LevelDB, deferrable writes included, then closes. */
  async close(): Promise<void> {
    try {
      await this.settle();
      this.journal.clear();
    } finally {
      this.journal.close();
      await this.db.close();
    }
  }

  /** Resolves once every write that resolved before the call (but deferrable ones) is durable: in the journal. */
  flush(): Promise<void> {
    if (this.journaled >= this.required) return Promise.resolve();
    // Group commit: the flushes of one turn of the event loop (the requests a server read from
    // its sockets in one go) share one append, at the end of the turn.
    return (this.grouped ??= new Promise<void>((resolve, reject) =>
      setImmediate(() => {
        this.grouped = undefined;
        try {
          if (this.journaled < this.required) this.append();
          resolve();
        } catch (err) {
          reject(err as Error);
        }
      }),
    ));
  }

  /** Resolves once every write so far is in LevelDB itself (what a close waits for). */
  settle(): Promise<void> {
    return this.until(this.staged);
  }

  /** Appends every pending value not in the journal yet, as one line. */
  private append(): void {
    const upTo = this.staged;
    if (this.unjournaled.size > 0) {
      const entries: Array<[string, JournalValue]> = [];
      for (const [key, value] of this.unjournaled) entries.push([key, journalValue(value)]);
      try {
        this.journal.append(entries);
      } catch (err) {
        throw new StoreUnavailableError(
          `cannot write to the store at ${this.location}: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
      this.unjournaled = new Map();
    }
    this.journaled = upTo;
  }

  private async until(target: number): Promise<void> {
    while (this.durable < target) {
      const error = await (this.writing ?? this.writeNext());
      if (error && this.durable < target)
        throw new StoreUnavailableError(`cannot write to the store at ${this.location}: ${error.message}`, {
          cause: error,
        });
    }
  }

  /** Backpressure: a writer that never flushes (or outruns the disk) waits for the batches to catch up. */
  private async room(): Promise<void> {
    while (this.pending.size >= MAX_PENDING_KEYS) await this.settle();
  }

  /** Counts one write whose keys were put in `pending` (in memory at once, on disk with the next batch). */
  private stage(deferrable: boolean): void {
    this.staged += 1;
    if (!deferrable) this.required = this.staged;
    // A writer that never lets the timer run (one request after another, with no I/O between
    // them now that a flush is synchronous) still gets its batches, of about BATCH_KEYS keys.
    if (this.pending.size >= BATCH_KEYS && !this.writing) void this.writeNext();
    else this.schedule();
  }

  /** A batch soon, unless one is on its way (whose end schedules the next). */
  private schedule(): void {
    if (this.scheduled || this.writing) return;
    this.scheduled = true;
    // Soon, not at once: the flush a request ends with (or the next one's) takes what is
    // pending along, in its batch, rather than waiting behind a batch of its first writes.
    setTimeout(() => {
      this.scheduled = false;
      if (this.pending.size > 0) void this.writeNext();
    }, BACKGROUND_WRITE_MS);
  }

  /** Writes the pending batch (or waits for the one in flight); answers the error, if any. */
  private writeNext(): Promise<Error | undefined> {
    if (this.writing) return this.writing;
    if (this.pending.size === 0) {
      this.durable = this.staged;
      return Promise.resolve(undefined);
    }
    // LevelDB gets only what the journal has: a prefix of it, whatever a crash interrupts.
    try {
      if (this.unjournaled.size > 0) this.append();
    } catch (err) {
      return Promise.resolve(err as Error);
    }
    const ops = this.pending;
    // A chained batch: abstract-level's array form spends about 10 µs per operation on the main
    // thread (copying and re-checking each one), several times the chained form (bench/level-batch.ts).
    let batch: ReturnType<typeof this.db.batch> | undefined;
    try {
      batch = this.db.batch();
      for (const [key, value] of ops)
        if (value === DELETE) batch.del(key);
        else batch.put(key, typeof value === 'string' ? value : takeText(value as object));
    } catch (err) {
      // Nothing was taken (a closed database, say): it all stays pending, for the next batch.
      void batch?.close().catch(() => undefined);
      return Promise.resolve(err as Error);
    }
    const sealed = this.journal.seal();
    const upTo = this.staged;
    this.pending = new Map();
    this.fresh = new Set();
    this.inFlight = ops;
    const done = (error: Error | undefined) => {
      this.writing = undefined;
      this.inFlight = new Map();
      if (error) {
        // Still to be written, under what was staged since.
        for (const [key, value] of this.pending) ops.set(key, value);
        this.pending = ops;
      } else {
        this.durable = upTo;
        this.journal.release(sealed);
        if (this.pending.size > 0) this.schedule();
      }
      return error;
    };
    this.writing = batch.write({ sync: this.options.sync ?? false }).then(
      () => done(undefined),
      (err: unknown) => done(err instanceof Error ? err : new Error(String(err))),
    );
    return this.writing;
  }

  /** Stages a put; `absent` when the key is not in the version it replaces (nor, then, in LevelDB unless a write of it is pending or in flight). */
  private setPending(key: string, value: unknown, absent = false): void {
    if (absent && !this.pending.has(key) && !this.inFlight.has(key)) this.fresh.add(key);
    this.pending.set(key, value);
    this.unjournaled.set(key, value);
  }

  /** Stages a delete: for the journal always, for LevelDB unless it never had the key. */
  private deletePending(key: string): void {
    if (this.fresh.delete(key)) this.pending.delete(key);
    else this.pending.set(key, DELETE);
    this.unjournaled.set(key, DELETE);
  }

  /** A key's value not on disk yet (pending or in flight), or undefined. */
  private unwritten(key: string): unknown {
    return this.pending.get(key) ?? (this.inFlight.size > 0 ? this.inFlight.get(key) : undefined);
  }

  async getAgent(agentId: string): Promise<AgentRecord | undefined> {
    return this.agents.get(agentId);
  }

  async listAgents(): Promise<AgentRecord[]> {
    return [...this.agents.values()].sort((a, b) => (a.agent_id < b.agent_id ? -1 : 1));
  }

  async putAgent(agent: AgentRecord, expectedVersion: number | null): Promise<void> {
    if (this.pending.size >= MAX_PENDING_KEYS) await this.room();
    check(
      this.agents.get(agent.agent_id)?.version,
      expectedVersion,
      agent.version,
      `agent ${agent.agent_id}`,
    );
    this.writeAgent(agent);
  }

  /** The check and the write are one step (in memory, with no await between them). */
  async claimAgentSlot(
    agentId: string,
    taskId: string,
    stamp: WriteStamp,
    force: boolean,
  ): Promise<SlotClaim | undefined> {
    if (this.pending.size >= MAX_PENDING_KEYS) await this.room();
    const agent = this.agents.get(agentId);
    if (!agent) return undefined;
    const next = withSlotClaimed(agent, taskId, stamp, force);
    return next
      ? { agent: this.writeAgent(next), claimed: true }
      : { agent, claimed: agent.active_task_ids.includes(taskId) };
  }

  async releaseAgentSlot(
    agentId: string,
    taskId: string,
    stamp: WriteStamp,
  ): Promise<AgentRecord | undefined> {
    if (this.pending.size >= MAX_PENDING_KEYS) await this.room();
    const agent = this.agents.get(agentId);
    const next = agent && withSlotReleased(agent, taskId, stamp);
    return next ? this.writeAgent(next) : agent;
  }

  private writeAgent(agent: AgentRecord): AgentRecord {
    const kept = keep(agent);
    this.setPending(`a/${agent.agent_id}`, kept);
    this.stage(false);
    this.agents.set(agent.agent_id, kept);
    return kept;
  }

  async getTask(taskId: string): Promise<TaskRecord | undefined> {
    const known = this.knownTask(taskId);
    if (known) return known.stored;
    const task = await this.read<TaskRecord>(`t/${taskId}`);
    return task ? this.remember(keep(task)) : undefined;
  }

  async putTask(task: TaskRecord, expectedVersion: number | null, options?: PutOptions): Promise<void> {
    if (this.pending.size >= MAX_PENDING_KEYS) await this.room();
    const key = `t/${task.task_id}`;
    // A task memory knows is checked and written at once; one it must read waits for the disk,
    // and every other write of that task waits for it.
    const known = this.locks.has(key) ? undefined : this.knownTask(task.task_id);
    if (known) return this.writeTask(task, known.stored, expectedVersion, options?.deferrable ?? false);
    await this.withLock(key, async () => {
      const stored = this.knownTask(task.task_id)?.stored ?? (await this.read<TaskRecord>(key));
      this.writeTask(task, stored, expectedVersion, options?.deferrable ?? false);
    });
  }

  /** What memory knows of a task: its record, or that it has none (`stored` undefined); undefined when the disk must say. */
  private knownTask(taskId: string): { stored: TaskRecord | undefined } | undefined {
    const cached = this.tasks.get(taskId) ?? (this.unwritten(`t/${taskId}`) as TaskRecord | undefined);
    if (cached) return { stored: cached };
    return this.taskIds.has(taskId) ? undefined : { stored: undefined };
  }

  private writeTask(
    task: TaskRecord,
    stored: TaskRecord | undefined,
    expectedVersion: number | null,
    deferrable: boolean,
  ): void {
    check(stored?.version, expectedVersion, task.version, `task ${task.task_id}`);
    const kept = keep(task);
    const entries = indexEntries(kept);
    const before = stored ? indexEntries(stored) : undefined;
    // Queue keys (`k/`) stay: other tasks may wait in that queue; listQueueKeys skips empty ones.
    if (before)
      for (const [old] of before)
        if (!old.startsWith('k/') && !hasEntry(entries, old)) this.deletePending(old);
    for (const [entry, value] of entries)
      // A queue key (`k/`) is shared by the tasks of its queue: never taken for absent.
      this.setPending(
        entry,
        value,
        !entry.startsWith('k/') && (before === undefined || !hasEntry(before, entry)),
      );
    this.setPending(`t/${kept.task_id}`, kept);
    this.stage(deferrable);
    this.taskIds.add(kept.task_id);
    if (stored) this.unindex(stored);
    this.index(kept);
    this.tasks.delete(kept.task_id);
    this.remember(kept);
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
    const found = ids.map(
      (id) => this.tasks.get(id) ?? (this.unwritten(`t/${id}`) as TaskRecord | undefined),
    );
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
    const cached =
      this.tasks.get(task.task_id) ?? (this.unwritten(`t/${task.task_id}`) as TaskRecord | undefined);
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

/** Keys pending past which a write waits for the disk (a few thousand tasks' writes). */
const MAX_PENDING_KEYS = 16_384;

/** How long a write waits for others to go to LevelDB with it. */
const BACKGROUND_WRITE_MS = 20;

/** Keys pending at which a batch starts at once (when none is in flight) instead of at the timer. */
const BATCH_KEYS = 1024;

/** A pending write that deletes its key. */
const DELETE = Symbol('delete');

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

/** An index entry: its LevelDB key and value (the task id; empty for a queue key). */
type IndexEntry = readonly [key: string, value: string];

/**
 * The index entries of a task, all written in the task's batch: one to five, so an array (built
 * again for the version a write replaces, which costs less than keeping it: a cache keyed by
 * record would hold an entry per cached task, and the collector would trace every one).
 */
function indexEntries(task: TaskRecord): IndexEntry[] {
  const order = queueOrderKey(task);
  const entries: IndexEntry[] = [[`s/${task.status}/${order}`, task.task_id]];
  if (task.status === 'queued') {
    const queueKey = queueKeyOf(task);
    entries.push([`q/${queueKey}${SEP}${order}`, task.task_id], [`k/${queueKey}`, '']);
  }
  if (task.outbox.length > 0) entries.push([`o/${task.task_id}`, task.task_id]);
  if (task.status === 'assigned' && task.deadline_at)
    entries.push([`d/${task.deadline_at}${SEP}${task.task_id}`, task.task_id]);
  return entries;
}

function hasEntry(entries: readonly IndexEntry[], key: string): boolean {
  for (const [k] of entries) if (k === key) return true;
  return false;
}

/**
 * A record's JSON text, computed once for the journal and the batch both (records are
 * immutable), and let go of when its batch takes it: the cached tasks would otherwise keep
 * their text alive beside them.
 */
const texts = new WeakMap<object, string>();
function textOf(record: object): string {
  let text = texts.get(record);
  if (text === undefined) texts.set(record, (text = JSON.stringify(record)));
  return text;
}
function takeText(record: object): string {
  const text = texts.get(record) ?? JSON.stringify(record);
  texts.delete(record);
  return text;
}

/** A pending value as the journal writes it. */
function journalValue(value: unknown): JournalValue {
  if (value === DELETE) return undefined;
  return typeof value === 'string' ? { string: value } : { text: textOf(value as object) };
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
