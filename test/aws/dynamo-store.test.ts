import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoStateStore, documentClient, mapDynamoError } from '../../shared/adapters/aws/dynamo-store';
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

describeStateStore('dynamodb (dynalite)', async () => {
  const table = await dynalite.createTable();
  return { store: new DynamoStateStore(documentClient(dynalite.client), table) };
});

describe('DynamoStateStore key design', () => {
  test('records carry pk/sk/gsi keys and ttl in the table, and none of the keys on read', async () => {
    const table = await dynalite.createTable();
    const store = new DynamoStateStore(documentClient(dynalite.client), table);
    await store.putAgent(makeAgent({ agent_id: 'a1' }), null);
    await store.putTask(
      makeTask({ task_id: 't1', priority: 'high', created_at: '2026-01-01T00:00:00.000Z' }),
      null,
    );
    const raw = await dynalite.client.send(
      new QueryCommand({
        TableName: table,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :s',
        ExpressionAttributeValues: { ':s': { S: 'STATUS#queued' } },
      }),
    );
    expect(raw.Items?.[0]).toMatchObject({
      pk: { S: 'TASK#t1' },
      sk: { S: 'TASK' },
      gsi1sk: { S: '1#2026-01-01T00:00:00.000Z#t1' },
      ttl: { N: '1900000000' },
    });
    const agents = await dynalite.client.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :p',
        ExpressionAttributeValues: { ':p': { S: 'AGENT' } },
      }),
    );
    expect(agents.Items?.map((i) => i.sk?.S)).toEqual(['a1']);
    expect(Object.keys((await store.getTask('t1'))!)).not.toContain('gsi1pk');
    expect(Object.keys((await store.listAgents())[0]!)).not.toContain('pk');
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
