import { CosmosClient } from '@azure/cosmos';
import {
  CosmosStateStore,
  QUEUE_KEY_COPIES,
  QUEUE_KEYS_PARTITION,
  SHARDS,
  shardOf,
  taskPartition,
} from '../../shared/adapters/azure/cosmos-store';
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
