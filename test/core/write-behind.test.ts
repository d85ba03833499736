/**
 * Write-behind stores (`flush` on the port). The core flushes before anything outside the
 * store can see its writes: before a publish and before a delivery is acknowledged; a failed
 * flush turns the delivery into a retry with nothing published. The LevelDB store is one: a
 * coordination request's writes reach its journal as one append before the assignment is
 * published (and LevelDB in a batch behind it), and the outbox clear after it is not waited for.
 */
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ClassicLevel } from 'classic-level';
import { Journal } from '../../shared/adapters/local/journal';
import { LevelStateStore } from '../../shared/adapters/local/level-store';
import { LocalBus } from '../../shared/adapters/local/local-bus';
import { MemoryStateStore } from '../../shared/adapters/local/memory-store';
import { ObservedStore } from '../../shared/runtime/dashboard/observed-store';
import { instrumentStore } from '../../shared/adapters/otel/instrument';
import { Coordinator } from '../../shared/core/coordinator/coordinator';
import { StoreUnavailableError } from '../../shared/core/errors';
import type { TaskRecord } from '../../shared/core/model';
import { noopTelemetry, type EventBus, type PutOptions, type StateStore } from '../../shared/core/ports';
import { RulesRouter } from '../../shared/core/routing/rules-router';
import { CountingStore } from '../../bench/lib/counting';
import { ItemCountingStore } from '../../bench/lib/item-counting';
import { CrashSwitch, FaultyStore, InterleavingStore } from '../faults/harness';
import { makeTask } from '../support/factories';

type Db = ClassicLevel<string, string>;
const dbOf = (store: LevelStateStore) => (store as unknown as { db: Db }).db;
const pendingOf = (store: LevelStateStore) => (store as unknown as { pending: Map<string, unknown> }).pending;
const inFlightOf = (store: LevelStateStore) =>
  (store as unknown as { inFlight: Map<string, unknown> }).inFlight;
const journalOf = (store: LevelStateStore) => (store as unknown as { journal: Journal }).journal;

/** Records the operations of every batch written to LevelDB from now on (the store writes chained batches). */
function recordBatches(db: Db): Array<Array<{ type: 'put' | 'del'; key: string }>> {
  const batches: Array<Array<{ type: 'put' | 'del'; key: string }>> = [];
  const open = db.batch.bind(db) as () => ReturnType<Db['batch']>;
  jest.spyOn(db, 'batch').mockImplementation((() => {
    const chained = open();
    const ops: Array<{ type: 'put' | 'del'; key: string }> = [];
    const put = chained.put.bind(chained);
    const del = chained.del.bind(chained);
    const write = chained.write.bind(chained);
    return Object.assign(chained, {
      put: (key: string, value: string) => (ops.push({ type: 'put', key }), put(key, value)),
      del: (key: string) => (ops.push({ type: 'del', key }), del(key)),
      write: (options: Parameters<typeof write>[0]) => (batches.push(ops), write(options)),
    });
  }) as unknown as Db['batch']);
  return batches;
}
/** The journal files of a store directory, oldest first. */
const journalFiles = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.startsWith('coordinator-journal-'))
    .sort((a, b) => Number(a.split('-').pop()) - Number(b.split('-').pop()));
/** The journal's lines (appends) of a store directory, in order. */
const journalLines = (dir: string) =>
  journalFiles(dir).flatMap((f) =>
    readFileSync(path.join(dir, f), 'utf8')
      .split('\n')
      .filter((l) => l !== ''),
  );
/** What a process killed now leaves: the journal and LevelDB as they are, nothing pending written. */
async function crash(store: LevelStateStore): Promise<void> {
  journalOf(store).close();
  await dbOf(store).close();
}

/** A memory store posing as write-behind: it logs every write and flush into `log`. */
class ProbeStore extends MemoryStateStore {
  constructor(
    readonly log: string[],
    private readonly failFlush: () => boolean = () => false,
  ) {
    super();
  }
  override async putTask(task: TaskRecord, expected: number | null, options?: PutOptions): Promise<void> {
    await super.putTask(task, expected);
    this.log.push(`${options?.deferrable ? 'deferrable ' : ''}write ${task.task_id} ${task.status}`);
  }
  async flush(): Promise<void> {
    if (this.failFlush()) {
      this.log.push('flush failed');
      throw new StoreUnavailableError('injected: the disk is full');
    }
    this.log.push('flush');
  }
}

function logBus(log: string[]): EventBus {
  return {
    name: 'log',
    publish: async (events) => void log.push(...events.map((e) => `publish ${e.type}`)),
  };
}

const register = { type: 'agent_state_change', agent_id: 'a1', new_state: 'available', capabilities: ['x'] };
const request = (id: string) => ({ type: 'coordination_request', task_id: id, task_type: 'x' });

describe('the core and a write-behind store', () => {
  test('it flushes before it publishes and before it acknowledges; the outbox clear is deferrable', async () => {
    const log: string[] = [];
    const coordinator = new Coordinator({
      store: new ProbeStore(log),
      bus: logBus(log),
      router: new RulesRouter(),
    });
    await coordinator.handle(register);
    log.length = 0;
    const [outcome] = await coordinator.handle(request('t1'));
    expect(outcome).toMatchObject({ status: 'done', result: { status: 'assigned' } });
    const publish = log.indexOf('publish Task Assignment');
    expect(publish).toBeGreaterThan(0);
    // Everything written before the publish was flushed before it.
    expect(log[publish - 1]).toBe('flush');
    expect(log.slice(0, publish).filter((l) => l.startsWith('write'))).toEqual([
      'write t1 queued',
      'write t1 assigned',
    ]);
    // After it, only the outbox clear, which need not be waited for; and the acknowledgement's flush.
    expect(log.slice(publish + 1)).toEqual(['deferrable write t1 assigned', 'flush']);
  });

  test('a flush that fails is a retry, with nothing published', async () => {
    const log: string[] = [];
    let failing = false;
    const coordinator = new Coordinator({
      store: new ProbeStore(log, () => failing),
      bus: logBus(log),
      router: new RulesRouter(),
    });
    await coordinator.handle(register);
    failing = true;
    const [outcome] = await coordinator.handle(request('t2'));
    expect(outcome).toMatchObject({ status: 'retry', code: 'STORE_UNAVAILABLE' });
    expect(log.filter((l) => l.startsWith('publish'))).toEqual([]);
    // An agent registration (no publish at all) is acknowledged only after its flush too.
    const [registration] = await coordinator.handle({ ...register, agent_id: 'a2' });
    expect(registration).toMatchObject({ status: 'retry', code: 'STORE_UNAVAILABLE' });
    failing = false;
    const [again] = await coordinator.handle(request('t2'));
    expect(again).toMatchObject({ status: 'done', result: { status: 'assigned' } });
    expect(log.filter((l) => l.startsWith('publish'))).toEqual(['publish Task Assignment']);
  });

  test('the sweep returns once what it wrote is flushed', async () => {
    const log: string[] = [];
    const coordinator = new Coordinator({
      store: new ProbeStore(log),
      bus: logBus(log),
      router: new RulesRouter(),
    });
    log.length = 0;
    await coordinator.sweep();
    expect(log[log.length - 1]).toBe('flush');
  });

  test('every decorator of a store forwards its flush, and has none when the store has none', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ac-wb-deco-'));
    const level = await LevelStateStore.open(dir);
    const crash = new CrashSwitch();
    const decorators: Array<[string, (s: StateStore) => StateStore]> = [
      ['ObservedStore', (s) => new ObservedStore(s)],
      ['instrumentStore', (s) => instrumentStore(s, noopTelemetry)],
      ['CountingStore', (s) => new CountingStore(s)],
      ['ItemCountingStore', (s) => new ItemCountingStore(s)],
      ['InterleavingStore', (s) => new InterleavingStore(s, () => 0)],
      [
        'FaultyStore',
        (s) =>
          new FaultyStore(
            s,
            { unavailableBefore: 0, unavailableAfterWrite: 0, spuriousConflict: 0 },
            () => 1,
          ),
      ],
      ['CrashSwitch', (s) => crash.store(s)],
    ];
    try {
      for (const [name, wrap] of decorators) {
        expect({ name, flush: typeof wrap(level).flush }).toEqual({ name, flush: 'function' });
        expect({ name, flush: typeof wrap(new MemoryStateStore()).flush }).toEqual({
          name,
          flush: 'undefined',
        });
        const wrapped = wrap(level);
        await wrapped.putTask(makeTask({ task_id: `deco-${name}` }), null);
        const before = journalLines(dir).length;
        await wrapped.flush!();
        expect(journalLines(dir).slice(before).join('\n')).toContain(`"t/deco-${name}"`);
      }
    } finally {
      await level.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the LevelDB store, write-behind', () => {
  let dir: string;
  let store: LevelStateStore;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ac-wb-'));
    store = await LevelStateStore.open(dir);
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("a request's writes reach the journal as one append, before the assignment is published", async () => {
    const append = jest.spyOn(journalOf(store), 'append');
    const local = new LocalBus();
    const seen: Array<{ appends: number; lines: string[] }> = [];
    const bus: EventBus = {
      name: 'watching',
      publish: async (events) => {
        seen.push({ appends: append.mock.calls.length, lines: journalLines(dir) });
        await local.publish(events);
      },
    };
    const coordinator = new Coordinator({ store, bus, router: new RulesRouter() });
    await coordinator.handle(register);
    await store.flush();
    const before = journalLines(dir).length;
    append.mockClear();
    const [outcome] = await coordinator.handle(request('r1'));
    // The outbox clear was not waited for: it goes with the next append or batch.
    const clearPending = (pendingOf(store).get('t/r1') as TaskRecord | undefined)?.outbox;
    expect(outcome).toMatchObject({ status: 'done', result: { status: 'assigned' } });
    // Created, slot claimed, committed: one append, in the journal when the bus is handed the event.
    expect(seen).toHaveLength(1);
    expect(seen[0]!.appends).toBe(1);
    const [line] = seen[0]!.lines.slice(before);
    expect(seen[0]!.lines.slice(before)).toHaveLength(1);
    // One entry per key: the task once (its last value), the agent's claimed slot.
    expect(line!.match(/"t\/r1"/g)).toHaveLength(1);
    expect(line).toMatch(/"status":"assigned"/);
    expect(line).toMatch(/"a\/a1"\t\{[^\t]*"active_task_ids":\["r1"\]/);
    expect(clearPending).toEqual([]);
    // A process killed right after the publish: the journal brings it all back.
    await crash(store);
    store = await LevelStateStore.open(dir);
    expect(await store.getTask('r1')).toMatchObject({ status: 'assigned', assigned_agents: ['a1'] });
    expect(await store.getAgent('a1')).toMatchObject({ active_task_ids: ['r1'] });
  });

  test('a crash loses nothing flushed; a torn last append is not replayed; a failed append is a retryable flush', async () => {
    const task = makeTask({ task_id: 'j1' });
    await store.putTask(task, null);
    await store.putTask({ ...task, version: 2, status: 'assigned' }, 1);
    await store.flush();
    // Not flushed: it may or may not survive a crash (here the kill comes before any batch).
    await store.putTask(makeTask({ task_id: 'j2' }), null);
    await crash(store);
    // The tail of an append cut short by the crash (no newline, its length does not match).
    const [last] = journalFiles(dir).slice(-1);
    appendFileSync(path.join(dir, last!), '900\t"t/j3"\t{"task_id":"j3"');
    store = await LevelStateStore.open(dir);
    expect(await store.getTask('j1')).toMatchObject({ status: 'assigned', version: 2 });
    expect(await store.getTask('j3')).toBeUndefined();
    expect(await store.listTasksByStatus('assigned')).toEqual([await store.getTask('j1')]);
    // Replayed into LevelDB at open: the journal starts empty again.
    expect(journalLines(dir)).toEqual([]);
    expect(JSON.parse((await dbOf(store).get('t/j1'))!)).toMatchObject({ version: 2 });

    // A failed append (the disk full): the flush rejects retryably and the next one writes it all.
    const fail = jest.spyOn(journalOf(store), 'append').mockImplementationOnce(() => {
      throw new Error('ENOSPC: no space left on device');
    });
    await store.putTask(makeTask({ task_id: 'j4' }), null);
    const failure = await store.flush().catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(StoreUnavailableError);
    expect((failure as Error).message).toMatch(/no space left/);
    fail.mockRestore();
    await store.flush();
    await crash(store);
    store = await LevelStateStore.open(dir);
    expect(await store.getTask('j4')).toMatchObject({ task_id: 'j4' });
  });

  test('a closed journal is written no more: a late write fails instead of landing in the file that took its descriptor', async () => {
    await store.putTask(makeTask({ task_id: 'late0' }), null);
    await crash(store);
    const other = await mkdtemp(path.join(os.tmpdir(), 'ac-wb-other-'));
    const next = await LevelStateStore.open(other);
    try {
      // The crashed store's own timer, or a caller that kept it, writes after its journal closed.
      await store.putTask(makeTask({ task_id: 'late1' }), null);
      await expect(store.flush()).rejects.toThrow(/journal .* is closed/);
      await new Promise((r) => setTimeout(r, 50)); // past its background batch's timer
      await next.putTask(makeTask({ task_id: 'mine' }), null);
      await next.flush();
      expect(journalLines(other).join('\n')).not.toMatch(/late/);
    } finally {
      await next.close();
      await rm(other, { recursive: true, force: true });
    }
    store = await LevelStateStore.open(dir);
    expect(await store.getTask('late1')).toBeUndefined();
  });

  test('journal files are sealed past their size and deleted once LevelDB has what they hold', async () => {
    await store.close();
    store = await LevelStateStore.open(dir, { journalFileBytes: 2048 });
    const written: TaskRecord[] = [];
    for (let i = 0; i < 60; i++) {
      const task = makeTask({ task_id: `f${i}`, task_data: { pad: 'x'.repeat(200) } });
      await store.putTask(task, null);
      await store.flush();
      written.push(task);
      // Now and then LevelDB catches up: what it has, no file need keep.
      if (i % 20 === 19) {
        await store.settle();
        expect(journalFiles(dir).length).toBeLessThanOrEqual(2);
      }
    }
    // The last appends are in the journal only; a crash now loses none of them.
    await crash(store);
    store = await LevelStateStore.open(dir);
    for (const task of written) expect(await store.getTask(task.task_id)).toEqual(task);
    expect(journalFiles(dir)).toHaveLength(1);
  });

  test('the flushes of one turn of the event loop share one append (group commit); the next turn appends again', async () => {
    const append = jest.spyOn(journalOf(store), 'append');
    // Five requests in one turn, each writing and then flushing (a server reads five sockets in
    // one go, and each request reaches its flush before the next one starts).
    const flushed: Array<Promise<void>> = [];
    for (let i = 0; i < 5; i++) {
      await store.putTask(makeTask({ task_id: `g${i}` }), null);
      flushed.push(store.flush());
    }
    await Promise.all(flushed);
    expect(append).toHaveBeenCalledTimes(1);
    expect([...append.mock.calls[0]![0]].filter(([key]) => key.startsWith('t/')).map(([key]) => key)).toEqual(
      ['t/g0', 't/g1', 't/g2', 't/g3', 't/g4'],
    );
    // Durable when the flush resolves: a crash now loses none of the five.
    await store.putTask(makeTask({ task_id: 'g5' }), null);
    await store.flush();
    expect(append).toHaveBeenCalledTimes(2);
    await crash(store);
    store = await LevelStateStore.open(dir);
    for (let i = 0; i < 6; i++) expect((await store.getTask(`g${i}`))?.task_id).toBe(`g${i}`);
  });

  test('a flush does not wait for a deferrable write, which is written soon after anyway', async () => {
    const task = makeTask({ task_id: 'd1' });
    await store.putTask(task, null);
    await store.flush();
    const append = jest.spyOn(journalOf(store), 'append');
    const batch = jest.spyOn(dbOf(store), 'batch');
    await store.putTask({ ...task, version: 2, outbox: [] }, 1, { deferrable: true });
    await store.flush();
    expect(append).not.toHaveBeenCalled();
    expect(pendingOf(store).has('t/d1')).toBe(true);
    // A strict write after it takes it along, in the same append.
    await store.putTask({ ...task, version: 3, status: 'assigned' }, 2);
    await store.flush();
    expect(append).toHaveBeenCalledTimes(1);
    await store.settle();
    expect(JSON.parse((await dbOf(store).get('t/d1'))!).version).toBe(3);
    batch.mockClear();
    // Alone, a deferrable write goes out with no flush at all.
    await store.putTask({ ...task, version: 4, status: 'assigned' }, 3, { deferrable: true });
    // Until that batch has started and landed (a flush does not wait for a deferrable write).
    while (pendingOf(store).size > 0 || inFlightOf(store).size > 0 || batch.mock.calls.length < 1)
      await new Promise((r) => setImmediate(r));
    expect(JSON.parse((await dbOf(store).get('t/d1'))!).version).toBe(4);
  });

  test('several writes of one key between batches go out as its last value; entries that lived between two never reach LevelDB', async () => {
    const task = makeTask({ task_id: 'k1', required_capabilities: ['x'], outbox: [] });
    const batches = recordBatches(dbOf(store));
    await store.putTask(task, null);
    await store.putTask({ ...task, version: 2, status: 'assigned', deadline_at: task.created_at }, 1);
    await store.putTask({ ...task, version: 3, status: 'completed' }, 2);
    await store.settle();
    expect(batches).toHaveLength(1);
    const ops = batches[0]!;
    expect(ops.filter((op) => op.key === 't/k1')).toHaveLength(1);
    // The queued, assigned and deadline entries came and went before the batch: no put, no delete.
    expect(ops.map((op) => `${op.type} ${op.key.slice(0, 2)}`).sort()).toEqual([
      'put k/',
      'put s/',
      'put t/',
    ]);
    // The status entries of the versions in between were never written; their deletes were.
    const statusEntries = await dbOf(store).keys({ gt: 's/', lt: 's0' }).all();
    expect(statusEntries).toHaveLength(1);
    expect(statusEntries[0]).toMatch(/^s\/completed\//);
  });

  test('a writer that never flushes is held back: what waits for the disk stays bounded', async () => {
    let most = 0;
    for (let i = 0; i < 12_000; i++) {
      await store.putTask(makeTask({ task_id: `b${i}` }), null);
      most = Math.max(most, pendingOf(store).size);
    }
    expect(most).toBeLessThan(16_384 + 8);
    await store.settle();
    expect(await dbOf(store).get('t/b11999')).toBeDefined();
  });
});
