/**
 * The LevelDB store serves its listings from indexes held in memory. Here every listing is
 * checked against what the index entries on disk give with one range read each (the way the
 * store listed before), cursor for cursor, over a random workload, before and after a reopen;
 * and the id lookups that skip the disk never call a task on disk missing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ClassicLevel } from 'classic-level';
import { LevelStateStore } from '../../shared/adapters/local/level-store';
import { isRetryable, StoreUnavailableError } from '../../shared/core/errors';
import { queueKeyOf, TASK_STATUSES, type TaskRecord, type TaskStatus } from '../../shared/core/model';
import type { Page } from '../../shared/core/ports';
import { makeTask } from '../support/factories';
import { rng } from '../faults/harness';

type Db = ClassicLevel<string, string>;
const dbOf = (store: LevelStateStore) => (store as unknown as { db: Db }).db;

const SEP = '\u0000';
const at = (m: number) => new Date(Date.UTC(2026, 0, 1, 0, m)).toISOString();

/** One range read of index entries, as the store did it before it held them in memory. */
async function diskPage(
  db: Db,
  prefix: string,
  end: string,
  limit: number,
  cursor?: string,
): Promise<{ ids: string[]; cursor?: string }> {
  const entries = await db
    .iterator({ gt: cursor === undefined ? prefix : `${prefix}${cursor}`, lt: end, limit })
    .all();
  const last = entries[entries.length - 1];
  const ids = entries.map(([, id]) => id);
  return entries.length === limit && last ? { ids, cursor: last[0].slice(prefix.length) } : { ids };
}

const shown = (page: Page<TaskRecord>) => ({
  ids: page.items.map((t) => t.task_id),
  ...(page.cursor !== undefined ? { cursor: page.cursor } : {}),
});

describe('LevelDB store: listings from the in-memory indexes', () => {
  let dir: string;
  let store: LevelStateStore;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ac-level-idx-'));
    store = await LevelStateStore.open(dir, { cachedTasks: 7 });
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('every listing and cursor matches the range reads of the entries on disk, before and after a reopen', async () => {
    const random = rng(11);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const tasks = new Map<string, TaskRecord>();
    const capSets = [['a'], ['b'], ['a', 'b'], []];
    const event = (taskId: string, n: number) => ({
      id: `${taskId}:${n}`,
      type: 'Task Assignment' as const,
      task_id: taskId,
      detail: {},
      time: at(n),
    });
    const step = async (i: number) => {
      const existing = tasks.size > 0 && random() < 0.6 ? pick([...tasks.values()]) : undefined;
      const status = pick(TASK_STATUSES);
      const fields = {
        status,
        priority: pick(['critical', 'high', 'medium', 'low'] as const),
        required_capabilities: pick(capSets),
        ...(random() < 0.15 ? { pinned_agent: pick(['agent-x', 'agent-y']) } : {}),
        ...(status === 'assigned' || random() < 0.1 ? { deadline_at: at(Math.floor(random() * 20)) } : {}),
        outbox: random() < 0.3 ? [event(`t${i}`, i)] : [],
        created_at: at(Math.floor(random() * 10)),
      };
      if (existing) {
        const next: TaskRecord = { ...existing, ...fields, version: existing.version + 1 };
        if (!('pinned_agent' in fields)) delete next.pinned_agent;
        if (!('deadline_at' in fields)) delete next.deadline_at;
        await store.putTask(next, existing.version);
        tasks.set(next.task_id, next);
      } else {
        const task = makeTask({ task_id: `t${String(i).padStart(4, '0')}`, ...fields });
        await store.putTask(task, null);
        tasks.set(task.task_id, task);
      }
    };

    const compare = async () => {
      // What is compared with LevelDB is what it holds once the store has caught up.
      await store.settle();
      const db = dbOf(store);
      for (const status of TASK_STATUSES as readonly TaskStatus[]) {
        for (const limit of [1, 5, 1000]) {
          const fromDisk = await diskPage(db, `s/${status}/`, `s/${status}0`, limit);
          expect((await store.listTasksByStatus(status, limit)).map((t) => t.task_id)).toEqual(fromDisk.ids);
        }
        const all = await store.listTasksByStatus(status, 1000);
        for (const t of all) expect(t).toEqual(tasks.get(t.task_id));
      }
      const queueKeys = new Set([...tasks.values()].filter((t) => t.status === 'queued').map(queueKeyOf));
      expect(new Set(await store.listQueueKeys())).toEqual(queueKeys);
      const listings: Array<{
        list: (limit: number, cursor?: string) => Promise<Page<TaskRecord>>;
        prefix: string;
        end: string;
      }> = [
        ...[...queueKeys, 'caps:none'].map((key) => ({
          list: (limit: number, cursor?: string) => store.listQueue(key, limit, cursor),
          prefix: `q/${key}${SEP}`,
          end: `q/${key}\u0001`,
        })),
        { list: (limit, cursor) => store.listPendingOutbox(limit, cursor), prefix: 'o/', end: 'o0' },
        ...[at(0), at(7), at(30)].map((before) => ({
          list: (limit: number, cursor?: string) => store.listOverdue(before, limit, cursor),
          prefix: 'd/',
          end: `d/${before}`,
        })),
      ];
      for (const { list, prefix, end } of listings) {
        for (const limit of [1, 3, 50]) {
          // Follow the cursors to the end, and start from cursors no entry has.
          let cursor: string | undefined;
          for (let pages = 0; pages < 200; pages++) {
            const expected = await diskPage(db, prefix, end, limit, cursor);
            const page = shown(await list(limit, cursor));
            expect(page).toEqual(expected);
            if (expected.cursor === undefined) break;
            cursor = expected.cursor;
          }
          for (const odd of ['', '0', '2#', `2#${at(3)}`, `${at(5)}`, 't0', 'zzz', '\u00ff']) {
            expect(shown(await list(limit, odd))).toEqual(await diskPage(db, prefix, end, limit, odd));
          }
        }
      }
    };

    for (let i = 0; i < 400; i++) {
      await step(i);
      if (i % 100 === 99) await compare();
    }
    await store.close();
    store = await LevelStateStore.open(dir, { cachedTasks: 7 });
    await compare();
    for (const [id, task] of tasks) expect(await store.getTask(id)).toEqual(task);
    for (let i = 400; i < 600; i++) await step(i);
    await compare();
  });

  test('an id no task has is answered from memory; every task on disk is found after a reopen', async () => {
    for (let i = 0; i < 30; i++) await store.putTask(makeTask({ task_id: `k${i}` }), null);
    await store.close();
    store = await LevelStateStore.open(dir, { cachedTasks: 2 });
    const get = jest.spyOn(dbOf(store), 'get');
    expect(await store.getTask('never-created')).toBeUndefined();
    await store.putTask(makeTask({ task_id: 'fresh' }), null);
    expect(get).not.toHaveBeenCalled();
    for (let i = 0; i < 30; i++) expect((await store.getTask(`k${i}`))?.task_id).toBe(`k${i}`);
    expect(get).toHaveBeenCalled();
    // A create of a task on disk but not in the cache still conflicts.
    await expect(store.putTask(makeTask({ task_id: 'k0' }), null)).rejects.toThrow(/expected version none/);
  });

  test('a failed batch stays pending: the writes stay durable in the journal, memory keeps them, the next batch writes them', async () => {
    const first = makeTask({ task_id: 'w1', required_capabilities: ['a'] });
    await store.putTask(first, null);
    await store.settle();
    const db = dbOf(store);
    // LevelDB refuses the batch's write (the store writes chained batches).
    const spy = jest.spyOn(db, 'batch').mockImplementation((() => ({
      put: () => undefined,
      del: () => undefined,
      write: async () => {
        throw new Error('disk full');
      },
      close: async () => undefined,
    })) as unknown as Db['batch']);
    const assigned = { ...first, status: 'assigned' as const, version: 2 };
    await store.putTask(assigned, 1);
    const second = makeTask({ task_id: 'w2', required_capabilities: ['a'] });
    await store.putTask(second, null);
    // The flush is the journal's: it has them, whatever LevelDB does.
    await store.flush();
    // Catching up with LevelDB is what fails, retryably, naming the cause.
    const failure = await store.settle().catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(StoreUnavailableError);
    expect(isRetryable(failure)).toBe(true);
    expect((failure as Error).message).toMatch(/disk full/);
    // Reads see the writes ...
    expect((await store.listQueue('caps:a', 10)).items).toEqual([second]);
    expect(await store.listTasksByStatus('assigned')).toEqual([assigned]);
    // ... and a write after them goes with them.
    await store.putTask({ ...second, priority: 'high', version: 2 }, 1);
    await store.flush();
    await expect(store.settle()).rejects.toThrow(/disk full/);
    expect(await db.get('t/w1')).toBe(JSON.stringify(first));
    expect(await db.get('t/w2')).toBeUndefined();
    spy.mockRestore();
    await store.settle();
    expect(JSON.parse((await db.get('t/w2'))!)).toMatchObject({ priority: 'high', version: 2 });
    await store.close();
    store = await LevelStateStore.open(dir, { cachedTasks: 7 });
    expect(await store.getTask('w1')).toEqual(assigned);
    expect(await store.getTask('w2')).toEqual({ ...second, priority: 'high', version: 2 });
    expect((await store.listQueue('caps:a', 10)).items.map((t) => t.task_id)).toEqual(['w2']);
  });

  test('a read from disk that finishes after a write does not put the older record back in memory', async () => {
    const task = makeTask({ task_id: 'r1' });
    await store.putTask(task, null);
    for (let i = 0; i < 10; i++) await store.putTask(makeTask({ task_id: `evict${i}` }), null);
    await store.settle(); // r1 is now only on disk
    const db = dbOf(store);
    const original = db.get.bind(db) as (key: string) => Promise<string | undefined>;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    jest.spyOn(db, 'get').mockImplementationOnce((async (key: string) => {
      const value = await original(key);
      await gate;
      return value;
    }) as unknown as Db['get']);
    const slowRead = store.getTask('r1');
    await store.putTask({ ...task, status: 'assigned', version: 2 }, 1);
    release();
    expect((await slowRead)?.version).toBe(2);
    expect((await store.getTask('r1'))?.version).toBe(2);
    await store.putTask({ ...task, status: 'completed', version: 3 }, 2);
    expect((await store.getTask('r1'))?.version).toBe(3);
  });
});
