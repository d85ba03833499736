import { Firestore } from '@google-cloud/firestore';
import { docId, FirestoreStateStore, shardOf } from '../../shared/adapters/gcp/firestore-store';
import { ConditionFailedError, StoreUnavailableError } from '../../shared/core/errors';
import { describeStateStore } from '../support/state-store.contract';
import { makeAgent, makeTask } from '../support/factories';
import { describeWithEmulators, startEmulator, type Emulator } from './support/emulators';

describeWithEmulators('Firestore state store (Firestore emulator)', () => {
  let emulator: Emulator;
  let firestore: Firestore;
  let namespace = 0;
  beforeAll(async () => {
    emulator = await startEmulator('firestore');
    firestore = new Firestore({ projectId: 'demo-store', host: emulator.host, ssl: false });
  });
  afterAll(async () => {
    await firestore?.terminate();
    await emulator?.stop();
  });

  // A fresh collection prefix per test: an empty store without restarting the emulator.
  const make = (options: { prefix?: string } = {}) =>
    new FirestoreStateStore({
      firestore,
      collectionPrefix: options.prefix ?? `t${++namespace}-`,
      agentsCollection: 'agents',
      tasksCollection: 'tasks',
    });

  describeStateStore('firestore', async () => ({ store: make() }));

  test('documents carry the queue key, a TTL timestamp and the record; the queue key is not in the record read back', async () => {
    const prefix = `raw${++namespace}-`;
    const store = make({ prefix });
    const task = makeTask({ task_id: 'a/b', priority: 'high', ttl: 1_900_000_000 });
    await store.putTask(task, null);
    const doc = await firestore.collection(`${prefix}tasks`).doc(docId('a/b')).get();
    expect(doc.get('queue_key')).toBe(`1#${task.created_at}#a/b`);
    expect(doc.get('status')).toBe('queued');
    expect(doc.get('expires_at').toMillis()).toBe(1_900_000_000_000);
    expect(await store.getTask('a/b')).toEqual(task);
    expect(await store.getTask('a/b')).not.toHaveProperty('queue_key');
    // The sparse index fields: in the queue while queued, gone once assigned; a shard always.
    expect(doc.get('queue')).toBe('caps:nutrition_analysis');
    expect(doc.get('shard')).toBe(shardOf('a/b'));
    await store.putTask(
      { ...task, status: 'assigned', deadline_at: '2026-01-02T00:00:00.000Z', version: 2 },
      1,
    );
    const after = await firestore.collection(`${prefix}tasks`).doc(docId('a/b')).get();
    expect(after.get('queue')).toBeUndefined();
    expect(after.get('due_key')).toBe('2026-01-02T00:00:00.000Z#a/b');
    expect((await firestore.collection(`${prefix}queue_keys`).get()).docs.map((d) => d.get('key'))).toEqual([
      'caps:nutrition_analysis',
    ]);
  });

  test('task data Firestore cannot store natively (nested arrays, undefined) round-trips', async () => {
    const store = make();
    const task = makeTask({
      task_id: 'nested',
      task_data: {
        grid: [
          [1, 2],
          [3, [4]],
        ],
        empty: {},
        '': 'empty key',
      },
      result: [[null]],
    });
    await store.putTask(task, null);
    expect(await store.getTask('nested')).toEqual(task);
  });

  test('reserved and odd ids map to valid document ids', async () => {
    const store = make();
    for (const id of ['.', '..', '__x__', 'a%2Fb', 'a/b'])
      await store.putAgent(makeAgent({ agent_id: id }), null);
    expect((await store.listAgents()).map((a) => a.agent_id).sort()).toEqual(
      ['.', '..', '__x__', 'a%2Fb', 'a/b'].sort(),
    );
  });

  test('transient gRPC codes surface as StoreUnavailableError and conflicts as ConditionFailedError', async () => {
    // The SDK itself retries UNAVAILABLE for up to minutes against a dead host, so the codes it
    // finally reports are injected here through the injectable Firestore instance.
    const failing = (code: number) =>
      ({
        collection: () => ({
          doc: () => ({
            get: async () => Promise.reject(Object.assign(new Error(`code ${code}`), { code })),
            create: async () => Promise.reject(Object.assign(new Error(`code ${code}`), { code })),
          }),
        }),
      }) as unknown as Firestore;
    for (const code of [4, 8, 14]) {
      const store = new FirestoreStateStore({ firestore: failing(code) });
      await expect(store.getAgent('x')).rejects.toBeInstanceOf(StoreUnavailableError);
    }
    await expect(
      new FirestoreStateStore({ firestore: failing(6) }).putAgent(makeAgent(), null),
    ).rejects.toBeInstanceOf(ConditionFailedError);
    await expect(new FirestoreStateStore({ firestore: failing(3) }).getAgent('x')).rejects.not.toBeInstanceOf(
      StoreUnavailableError,
    );
  });
});
