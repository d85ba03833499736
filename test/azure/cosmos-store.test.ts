import { CosmosClient, Item } from '@azure/cosmos';
import {
  agentPartition,
  CosmosStateStore,
  QUEUE_KEY_COPIES,
  QUEUE_KEYS_PARTITION,
  SHARDS,
  shardOf,
  taskPartition,
} from '../../shared/adapters/azure/cosmos-store';
import { RELEASE_ATTEMPTS } from '../../shared/adapters/release-by-position';
import { ConditionFailedError, StoreUnavailableError } from '../../shared/core/errors';
import { makeAgent, makeTask } from '../support/factories';
import { describeStateStore } from '../support/state-store.contract';
import { CosmosTestServer } from './support/cosmos-server';

const server = new CosmosTestServer();
let client: CosmosClient;

beforeAll(async () => {
  await server.start();
  client = new CosmosClient({ endpoint: server.endpoint, key: server.key });
});
afterAll(async () => {
  client?.dispose();
  await server.stop();
});

describeStateStore('cosmos (real @azure/cosmos client, local Cosmos-protocol server)', async () => {
  server.reset();
  return {
    store: new CosmosStateStore(client.database(server.database).container(server.container)),
    itemsRead: () => server.documentsRead,
    atomicSlots: true,
  };
});

describe('CosmosStateStore specifics', () => {
  const container = () => client.database(server.database).container(server.container);
  beforeEach(() => server.reset());

  test('every listing is one single-partition query per shard: never a cross-partition query', async () => {
    const store = new CosmosStateStore(container());
    await store.putAgent(makeAgent({ agent_id: 'a1' }), null);
    await store.putTask(makeTask({ task_id: 't1' }), null);
    server.requests.length = 0;
    await store.listAgents();
    await store.listTasksByStatus('queued', 5);
    await store.listQueue('caps:nutrition_analysis', 5);
    await store.listPendingOutbox(5);
    await store.listOverdue('2026-01-02T00:00:00.000Z', 5);
    await store.listQueueKeys();
    const queries = server.requests.filter((r) => r.query !== undefined);
    const shards = Array.from({ length: SHARDS }, (_, n) => n);
    expect(queries.map((q) => q.partitionKey)).toEqual([
      ...shards.map((n) => `agents#${n}`),
      ...[1, 2, 3, 4].flatMap(() => shards.map((n) => `tasks#${n}`)),
      expect.stringMatching(new RegExp(`^${QUEUE_KEYS_PARTITION}#[0-7]$`)),
    ]);
    expect(JSON.parse(queries[SHARDS]!.query!).query).toMatch(/ORDER BY c\.queue_key/);
  });

  test('records spread over the shards; the directory holds each queue key once', async () => {
    const counts = new Array<number>(SHARDS).fill(0);
    for (let i = 0; i < 10_000; i++) counts[shardOf(`task-${i}`)]! += 1;
    expect(Math.max(...counts)).toBeLessThan((10_000 / SHARDS) * 1.2);
    const store = new CosmosStateStore(container());
    for (let i = 0; i < 4; i++) await store.putTask(makeTask({ task_id: `k${i}` }), null);
    await new CosmosStateStore(container()).putTask(makeTask({ task_id: 'k9' }), null);
    for (let copy = 0; copy < QUEUE_KEY_COPIES; copy++)
      expect(server.partitions.get(`${QUEUE_KEYS_PARTITION}#${copy}`)?.size).toBe(1);
    expect(await store.listQueueKeys()).toEqual(['caps:nutrition_analysis']);
  });

  test('a writer holding a stale ETag loses with ConditionFailedError (If-Match, 412)', async () => {
    const a = new CosmosStateStore(container());
    const b = new CosmosStateStore(container());
    await a.putAgent(makeAgent({ agent_id: 'x', status: 'available' }), null);
    const seenByA = (await a.getAgent('x'))!;
    const seenByB = (await b.getAgent('x'))!;
    await b.putAgent({ ...seenByB, status: 'busy', version: 2 }, 1);
    // A's cached ETag is for version 1; only the conditional replace can notice the change.
    await expect(a.putAgent({ ...seenByA, status: 'offline', version: 2 }, 1)).rejects.toBeInstanceOf(
      ConditionFailedError,
    );
    expect((await b.getAgent('x'))?.status).toBe('busy');
  });

  test('the stored document carries a relative Cosmos TTL and the query fields; reads return the bare record', async () => {
    const now = Date.UTC(2026, 0, 1);
    const store = new CosmosStateStore(container(), { clock: { now: () => now } });
    const task = makeTask({ task_id: 'ttl', priority: 'high', ttl: now / 1000 + 3600 });
    await store.putTask(task, null);
    const [doc] = server.documents().filter((d) => d.kind === 'task');
    expect(doc).toMatchObject({
      id: 'ttl',
      pk: taskPartition('ttl'),
      kind: 'task',
      status: 'queued',
      queue: 'caps:nutrition_analysis',
      ttl: 3600,
      queue_key: `1#${task.created_at}#ttl`,
    });
    expect(doc!._etag).toBeDefined();
    expect(await store.getTask('ttl')).toEqual(task);
  });

  describe('atomic slot changes: conditional patches', () => {
    const now = Date.UTC(2026, 0, 1);
    const stamp = { updatedAt: '2026-01-01T00:00:00.000Z', ttl: now / 1000 + 7200 };
    const clock = { now: () => now };
    const patches = () => server.requests.filter((r) => r.method === 'PATCH');
    const agentDoc = (id: string) => server.partitions.get(agentPartition(id))!.get(id)!;

    test('a claim is one conditional PATCH, no read; claims from other instances do not conflict', async () => {
      const stores = Array.from({ length: 5 }, () => new CosmosStateStore(container(), { clock }));
      await stores[0]!.putAgent(makeAgent({ agent_id: 'pool-1', max_concurrent_tasks: 3 }), null);
      server.requests.length = 0;
      expect((await stores[0]!.claimAgentSlot('pool-1', 'first', stamp, false))?.claimed).toBe(true);
      expect(server.requests.map((r) => [r.method, r.status])).toEqual([['PATCH', 200]]);
      const { condition, operations } = JSON.parse(patches()[0]!.patch!) as {
        condition: string;
        operations: Array<{ op: string; path: string; value?: unknown }>;
      };
      expect(condition).toBe(
        "FROM c WHERE c.record.status = 'available' AND c.record.active_tasks < c.record.max_concurrent_tasks" +
          ' AND NOT ARRAY_CONTAINS(c.record.active_task_ids, "first")',
      );
      expect(operations).toEqual([
        { op: 'add', path: '/record/active_task_ids/-', value: 'first' },
        { op: 'incr', path: '/record/active_tasks', value: 1 },
        { op: 'incr', path: '/record/version', value: 1 },
        { op: 'set', path: '/record/updated_at', value: stamp.updatedAt },
        { op: 'set', path: '/record/ttl', value: stamp.ttl },
        { op: 'set', path: '/ttl', value: 7200 },
      ]);
      // Four instances, each with its own ETag cache, race for the two slots left.
      const claims = await Promise.all(
        stores.slice(1).map((store, i) => store.claimAgentSlot('pool-1', `t${i}`, stamp, false)),
      );
      expect(claims.filter((c) => c?.claimed)).toHaveLength(2);
      expect(claims.filter((c) => c && !c.claimed).map((c) => c!.agent.active_tasks)).toEqual([3, 3]);
      expect(agentDoc('pool-1')).toMatchObject({ ttl: 7200, record: { active_tasks: 3, version: 4 } });
      expect(patches().filter((r) => r.status === 200)).toHaveLength(3);
    });

    test('a versioned write that read before a claim loses to it: the patch changed the ETag and the version', async () => {
      const a = new CosmosStateStore(container(), { clock });
      const b = new CosmosStateStore(container(), { clock });
      await a.putAgent(makeAgent({ agent_id: 'x', max_concurrent_tasks: 2 }), null);
      const seenByB = (await b.getAgent('x'))!;
      const claim = await a.claimAgentSlot('x', 'task-1', stamp, false);
      expect(claim?.agent).toMatchObject({ version: 2, active_task_ids: ['task-1'], active_tasks: 1 });
      await expect(b.putAgent({ ...seenByB, status: 'busy', version: 2 }, 1)).rejects.toBeInstanceOf(
        ConditionFailedError,
      );
      // The claimer's own cache holds the patch's ETag: its next versioned write is one replace.
      server.requests.length = 0;
      await a.putAgent({ ...claim!.agent, status: 'busy', version: 3 }, 2);
      expect(server.requests.map((r) => r.method)).toEqual(['PUT']);
      expect((await b.getAgent('x'))?.active_task_ids).toEqual(['task-1']);
    });

    test('ids with quotes, backslashes or predicate syntax are one string constant in the condition', async () => {
      const store = new CosmosStateStore(container(), { clock });
      await store.putAgent(makeAgent({ agent_id: 'odd', max_concurrent_tasks: 5 }), null);
      const ids = ["it's", 'a"b', 'back\\slash', '" OR true OR "', "') OR ('1' = '1"];
      for (const id of ids) expect((await store.claimAgentSlot('odd', id, stamp, false))?.claimed).toBe(true);
      // Held already: refused by the condition, reported as claimed, nothing written.
      for (const id of ids) expect((await store.claimAgentSlot('odd', id, stamp, true))?.claimed).toBe(true);
      expect((await store.getAgent('odd'))?.version).toBe(1 + ids.length);
      for (const id of [...ids].reverse()) await store.releaseAgentSlot('odd', id, stamp);
      expect(await store.getAgent('odd')).toMatchObject({
        active_task_ids: [],
        active_tasks: 0,
        version: 11,
      });
    });

    test('a claim on no agent is undefined after one PATCH (404), with no read', async () => {
      const store = new CosmosStateStore(container(), { clock });
      server.requests.length = 0;
      expect(await store.claimAgentSlot('ghost', 't', stamp, true)).toBeUndefined();
      expect(server.requests.map((r) => [r.method, r.status])).toEqual([['PATCH', 404]]);
    });

    test('a release whose slot moved under it reads the agent again and removes the right task', async () => {
      const a = new CosmosStateStore(container(), { clock });
      const b = new CosmosStateStore(container(), { clock });
      await a.putAgent(
        makeAgent({
          agent_id: 'r',
          max_concurrent_tasks: 4,
          active_task_ids: ['a', 'b', 'c'],
          active_tasks: 3,
        }),
        null,
      );
      // Between a's read of the agent and its patch, b releases an earlier slot.
      const original = Item.prototype.patch;
      const spy = jest.spyOn(Item.prototype, 'patch').mockImplementationOnce(async function (
        this: Item,
        ...args
      ) {
        await b.releaseAgentSlot('r', 'a', stamp);
        return original.apply(this, args);
      });
      try {
        server.requests.length = 0;
        const after = await a.releaseAgentSlot('r', 'b', stamp);
        expect(after).toMatchObject({ active_task_ids: ['c'], active_tasks: 1, version: 3 });
        expect(JSON.parse(patches()[1]!.patch!).condition).toBe(
          'FROM c WHERE c.record.active_task_ids[1] = "b"',
        );
        expect(patches().map((r) => r.status)).toEqual([200, 412, 200]);
      } finally {
        spy.mockRestore();
      }
    });

    test('a release that keeps losing its position gives up after RELEASE_ATTEMPTS with ConditionFailedError', async () => {
      const store = new CosmosStateStore(container(), { clock });
      await store.putAgent(makeAgent({ agent_id: 'busy', active_task_ids: ['t'], active_tasks: 1 }), null);
      server.requests.length = 0;
      server.failNext(RELEASE_ATTEMPTS, { status: 412, match: (method) => method === 'PATCH' });
      await expect(store.releaseAgentSlot('busy', 't', stamp)).rejects.toBeInstanceOf(ConditionFailedError);
      expect(patches()).toHaveLength(RELEASE_ATTEMPTS);
      expect((await store.getAgent('busy'))?.active_task_ids).toEqual(['t']);
      expect((await store.releaseAgentSlot('busy', 't', stamp))?.active_task_ids).toEqual([]);
    });

    test('throttling on a patch is StoreUnavailableError, not a lost race', async () => {
      const noRetry = new CosmosClient({
        endpoint: server.endpoint,
        key: server.key,
        connectionPolicy: {
          retryOptions: {
            maxRetryAttemptCount: 0,
            fixedRetryIntervalInMilliseconds: 0,
            maxWaitTimeInSeconds: 0,
          },
        },
      });
      try {
        const store = new CosmosStateStore(noRetry.database(server.database).container(server.container));
        await store.putAgent(makeAgent({ agent_id: 'th', active_task_ids: ['t'], active_tasks: 1 }), null);
        server.failNext(2, { status: 429, match: (method) => method === 'PATCH' });
        await expect(store.claimAgentSlot('th', 'u', stamp, false)).rejects.toBeInstanceOf(
          StoreUnavailableError,
        );
        await expect(store.releaseAgentSlot('th', 't', stamp)).rejects.toBeInstanceOf(StoreUnavailableError);
      } finally {
        noRetry.dispose();
      }
    });
  });

  test('throttling and unavailability surface as StoreUnavailableError; a wrong key does not look like a race', async () => {
    const noRetry = new CosmosClient({
      endpoint: server.endpoint,
      key: server.key,
      connectionPolicy: {
        retryOptions: {
          maxRetryAttemptCount: 0,
          fixedRetryIntervalInMilliseconds: 0,
          maxWaitTimeInSeconds: 0,
        },
      },
    });
    try {
      const store = new CosmosStateStore(noRetry.database(server.database).container(server.container));
      await store.listAgents();
      server.failNext(1, { status: 429, headers: { 'x-ms-retry-after-ms': '1' } });
      await expect(store.getAgent('a')).rejects.toBeInstanceOf(StoreUnavailableError);
      // The client also asks for a query plan in parallel and retries a 503 once, and listAgents
      // queries every shard: fail every request until the faults are cleared.
      server.failNext(10_000, { status: 503 });
      await expect(store.listAgents()).rejects.toBeInstanceOf(StoreUnavailableError);
      server.clearFaults();
      const wrongKey = new CosmosClient({
        endpoint: server.endpoint,
        key: Buffer.from('wrong').toString('base64'),
      });
      const bad = new CosmosStateStore(wrongKey.database(server.database).container(server.container));
      const err = await bad.getAgent('a').catch((e: unknown) => e);
      expect(err).not.toBeInstanceOf(ConditionFailedError);
      expect((err as { code?: number }).code).toBe(401);
      wrongKey.dispose();
    } finally {
      noRetry.dispose();
    }
  });
});
