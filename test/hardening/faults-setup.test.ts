/**
 * Issue 12, item 10: the fault suite's crash part must not run on a table that is still being
 * created, and a setup message that does not end `done` must show as a named failure, not as a
 * crash point that silently went missing.
 */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type http from 'node:http';
import { randomUUID } from 'node:crypto';
import {
  DynamoStateStore,
  documentClient,
  dynamoTableDefinition,
} from '../../shared/adapters/aws/dynamo-store';
import { MemoryStateStore } from '../../shared/adapters/local/memory-store';
import { StoreUnavailableError } from '../../shared/core/errors';
import { crashes, type StoreFixture } from '../faults/harness';
import { waitForActive } from '../faults/stores';
import { close, credentials, listen, region } from '../aws/local-aws';
import { makeAgent } from '../support/factories';

test('a dynalite table is written to only once DescribeTable says ACTIVE (tables and indexes)', async () => {
  // A creation that takes a while, as on real DynamoDB: writes before ACTIVE fail.
  const dynalite = require('dynalite') as (o: object) => http.Server;
  const server = dynalite({ createTableMs: 150 });
  const endpoint = await listen(server);
  const client = new DynamoDBClient({ endpoint, region, credentials });
  try {
    const early = `t-${randomUUID().slice(0, 8)}`;
    await client.send(new CreateTableCommand(dynamoTableDefinition(early)));
    const tooEarly = await new DynamoStateStore(documentClient(client), early)
      .putAgent(makeAgent({ agent_id: 'a' }), null)
      .catch((e: unknown) => e);
    expect(tooEarly).toBeInstanceOf(StoreUnavailableError);

    const table = `t-${randomUUID().slice(0, 8)}`;
    await client.send(new CreateTableCommand(dynamoTableDefinition(table)));
    await waitForActive(client, table);
    const store = new DynamoStateStore(documentClient(client), table);
    await store.putAgent(makeAgent({ agent_id: 'a' }), null);
    expect((await store.getAgent('a'))?.agent_id).toBe('a');
  } finally {
    client.destroy();
    await close(server);
  }
});

test('crash cases whose setup does not end done are counted as failures and named', async () => {
  // A store that refuses its first writes, as a table not yet ACTIVE does.
  let refusals = 3;
  const fixture: StoreFixture = {
    name: 'flaky setup',
    open: async () => {
      const store = new MemoryStateStore();
      const putAgent = store.putAgent.bind(store);
      store.putAgent = async (agent, expected) => {
        if (refusals > 0) {
          refusals -= 1;
          throw new StoreUnavailableError('table is being created');
        }
        return putAgent(agent, expected);
      };
      return { store, close: async () => undefined };
    },
  };
  const figures = await crashes(fixture);
  expect(figures.failures).toBeGreaterThan(0);
  expect(figures.details.join('\n')).toMatch(/setup message .* ended retry: .*table is being created/);
});
