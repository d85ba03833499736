import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  AGENTS_INDEX,
  DUE_INDEX,
  DynamoStateStore,
  documentClient,
  mapDynamoError,
  OUTBOX_INDEX,
  QUEUE_INDEX,
  QUEUE_KEY_COPIES,
  QUEUE_KEYS_PARTITION,
  SHARDS,
  shardOf,
  STATUS_INDEX,
} from '../../shared/adapters/aws/dynamo-store';
import { ConditionFailedError, StoreUnavailableError } from '../../shared/core/errors';
import { makeAgent, makeTask } from '../support/factories';
import { describeStateStore } from '../support/state-store.contract';
import { credentials, region, startDynalite, type Dynalite } from './local-aws';

let dynalite: Dynalite;
beforeAll(async () => {
  dynalite = await startDynalite();
});
afterAll(async () => {
  await dynalite.stop();
});

/** A document client that counts the items DynamoDB evaluated (Query) or returned (Get, BatchGet). */
function countingClient(): { doc: DynamoDBDocumentClient; itemsRead: () => number } {
  const doc = documentClient(dynalite.client);
  let read = 0;
  const send = doc.send.bind(doc) as (command: unknown) => Promise<Record<string, unknown>>;
  (doc as { send: unknown }).send = async (command: unknown) => {
    const out = await send(command);
    const responses = (out.Responses ?? {}) as Record<string, unknown[]>;
    read +=
      (out.ScannedCount as number | undefined) ??
      (out.Item ? 1 : 0) + Object.values(responses).reduce((n, items) => n + items.length, 0);
    return out;
  };
  return { doc, itemsRead: () => read };
}

describeStateStore('dynamodb (dynalite)', async () => {
  const table = await dynalite.createTable();
  const { doc, itemsRead } = countingClient();
  return { store: new DynamoStateStore(doc, table), itemsRead, atomicSlots: true };
});

// The shard count is an option (fewer make local emulator runs faster); the contract holds for any.
describeStateStore('dynamodb (dynalite, 3 shards)', async () => {
  const table = await dynalite.createTable();
  const { doc, itemsRead } = countingClient();
  return { store: new DynamoStateStore(doc, table, { shards: 3 }), itemsRead, atomicSlots: true };
});

describe('DynamoStateStore key design', () => {
  test('one partition key per agent, sharded sparse KEYS_ONLY task indexes, none of the keys on read', async () => {
    const table = await dynalite.createTable();
    const store = new DynamoStateStore(documentClient(dynalite.client), table);
    await store.putAgent(makeAgent({ agent_id: 'a1' }), null);
    const task = makeTask({ task_id: 't1', priority: 'high', created_at: '2026-01-01T00:00:00.000Z' });
    await store.putTask(task, null);
    const shard = shardOf('t1');
    const query = (index: string | undefined, hash: string, value: string) =>
      dynalite.client.send(
        new QueryCommand({
          TableName: table,
          ...(index ? { IndexName: index } : {}),
          KeyConditionExpression: `${hash} = :v`,
          ExpressionAttributeValues: { ':v': { S: value } },
        }),
      );
    const status = await query(STATUS_INDEX, 'gsi1pk', `STATUS#queued#${shard}`);
    // KEYS_ONLY: the index entry is the keys, not a copy of the task.
    expect(status.Items).toEqual([
      {
        pk: { S: 'TASK#t1' },
        sk: { S: 'TASK' },
        gsi1pk: { S: `STATUS#queued#${shard}` },
        gsi1sk: { S: '1#2026-01-01T00:00:00.000Z#t1' },
      },
    ]);
    expect((await query(QUEUE_INDEX, 'qpk', `Q#caps:nutrition_analysis#${shard}`)).Items).toHaveLength(1);
    expect((await query(OUTBOX_INDEX, 'opk', `OUTBOX#${shard}`)).Items).toHaveLength(0);
    const agent = await query(undefined, 'pk', 'AGENT#a1');
    expect(agent.Items?.[0]).toMatchObject({ sk: { S: 'AGENT' }, apk: { S: `AGENTS#${shardOf('a1')}` } });
    const listed = await query(AGENTS_INDEX, 'apk', `AGENTS#${shardOf('a1')}`);
    expect(listed.Items?.[0]?.ttl).toEqual({ N: '1900000000' }); // ALL: routing reads whole agents
    expect((await query(undefined, 'pk', `${QUEUE_KEYS_PARTITION}#0`)).Items?.map((i) => i.sk?.S)).toEqual([
      'caps:nutrition_analysis',
    ]);
    // Assigned: out of the queue index (the attribute is gone), into the deadline index.
    await store.putTask(
      { ...task, status: 'assigned', deadline_at: '2026-01-01T00:05:00.000Z', version: 2 },
      1,
    );
    expect((await query(QUEUE_INDEX, 'qpk', `Q#caps:nutrition_analysis#${shard}`)).Items).toHaveLength(0);
    expect((await query(DUE_INDEX, 'dpk', `DUE#${shard}`)).Items?.[0]?.dsk).toEqual({
      S: '2026-01-01T00:05:00.000Z#t1',
    });
    expect(Object.keys((await store.getTask('t1'))!)).not.toContain('gsi1pk');
    expect(Object.keys((await store.listAgents())[0]!)).not.toContain('apk');
    expect(await store.getTask('t1')).toEqual({
      ...task,
      status: 'assigned',
      deadline_at: '2026-01-01T00:05:00.000Z',
      version: 2,
    });
  });

  test('shards spread ids evenly and listAgents merges every shard', async () => {
    const counts = new Array<number>(SHARDS).fill(0);
    for (let i = 0; i < 10_000; i++) counts[shardOf(`agent-${i}`)]! += 1;
    expect(Math.max(...counts)).toBeLessThan((10_000 / SHARDS) * 1.2);
    const table = await dynalite.createTable();
    const store = new DynamoStateStore(documentClient(dynalite.client), table);
    const ids = Array.from({ length: 40 }, (_, i) => `ag-${i}`);
    for (const id of ids) await store.putAgent(makeAgent({ agent_id: id }), null);
    expect((await store.listAgents()).map((a) => a.agent_id)).toEqual([...ids].sort());
  });

  test('the queue-key directory is written once per key per process', async () => {
    const table = await dynalite.createTable();
    const { doc } = countingClient();
    const puts: string[] = [];
    const send = doc.send.bind(doc) as (command: unknown) => Promise<unknown>;
    (doc as { send: unknown }).send = (command: { input?: { Item?: { pk?: string } } }) => {
      if (command.input?.Item?.pk) puts.push(command.input.Item.pk);
      return send(command);
    };
    const store = new DynamoStateStore(doc, table);
    for (let i = 0; i < 5; i++) await store.putTask(makeTask({ task_id: `k${i}` }), null);
    // Once, in every copy (a read takes one copy).
    expect(puts.filter((pk) => pk.startsWith(QUEUE_KEYS_PARTITION)).sort()).toEqual(
      Array.from({ length: QUEUE_KEY_COPIES }, (_, i) => `${QUEUE_KEYS_PARTITION}#${i}`).sort(),
    );
    expect(await store.listQueueKeys()).toEqual(['caps:nutrition_analysis']);
  });

  test('an unreachable endpoint surfaces as StoreUnavailableError', async () => {
    const client = new DynamoDBClient({
      endpoint: 'http://127.0.0.1:9',
      region,
      credentials,
      maxAttempts: 1,
    });
    const store = new DynamoStateStore(documentClient(client), 'missing');
    await expect(store.getAgent('x')).rejects.toBeInstanceOf(StoreUnavailableError);
    client.destroy();
  });

  test('a missing table and throttling are unavailable, a failed condition is a conflict', () => {
    const meta = (status: number) => ({ $metadata: { httpStatusCode: status } });
    const named = (name: string, status: number) => Object.assign(new Error(name), { name, ...meta(status) });
    expect(mapDynamoError(named('ProvisionedThroughputExceededException', 400), 'w')).toBeInstanceOf(
      StoreUnavailableError,
    );
    expect(mapDynamoError(named('ThrottlingException', 400), 'w')).toBeInstanceOf(StoreUnavailableError);
    expect(mapDynamoError(named('ResourceNotFoundException', 400), 'w')).toBeInstanceOf(
      StoreUnavailableError,
    );
    expect(mapDynamoError(named('ConditionalCheckFailedException', 400), 'w', 3)).toBeInstanceOf(
      ConditionFailedError,
    );
  });
});
