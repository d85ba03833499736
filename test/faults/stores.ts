/** The store adapters the fault suite runs against: every one with a real local server here. */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoStateStore, documentClient } from '../../shared/adapters/aws/dynamo-store';
import { LevelStateStore } from '../../shared/adapters/local/level-store';
import { MemoryStateStore } from '../../shared/adapters/local/memory-store';
import { Firestore } from '@google-cloud/firestore';
import { FirestoreStateStore } from '../../shared/adapters/gcp/firestore-store';
import { startDynalite, type Dynalite } from '../aws/local-aws';
import { GCLOUD, startEmulator } from '../gcp/support/emulators';
import type { StoreFixture } from './harness';

export const memoryFixture: StoreFixture = {
  name: 'memory',
  open: async () => ({ store: new MemoryStateStore(), close: async () => undefined }),
};

export const levelFixture: StoreFixture = {
  name: 'level (embedded)',
  open: async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ac-faults-'));
    const store = await LevelStateStore.open(dir);
    return {
      store,
      close: async () => {
        await store.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
};

/** DynamoDB through the real SDK against dynalite; `stop` ends the server. */
export async function dynamoFixture(): Promise<StoreFixture & { stop(): Promise<void> }> {
  const dynalite: Dynalite = await startDynalite();
  return {
    name: 'dynamodb (dynalite)',
    open: async () => {
      const table = await dynalite.createTable();
      await waitForActive(dynalite.client, table);
      return {
        // Two shards: dynalite answers one query at a time, so the 32-shard listings of the
        // deployed layout would make the suite slow without testing anything more.
        store: new DynamoStateStore(documentClient(dynalite.client), table, { shards: 2 }),
        close: async () => undefined,
      };
    },
    stop: () => dynalite.stop(),
  };
}

/**
 * A new table is CREATING until DynamoDB (or dynalite, even with `createTableMs: 0`) marks it
 * ACTIVE; a write before that fails with ResourceNotFoundException. Waits on DescribeTable, as
 * the SDK's waiter does, table and indexes both.
 */
export async function waitForActive(client: DynamoDBClient, table: string, attempts = 200): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: table }));
    const indexes = Table?.GlobalSecondaryIndexes ?? [];
    if (Table?.TableStatus === 'ACTIVE' && indexes.every((g) => g.IndexStatus === 'ACTIVE')) return;
    await sleep(10);
  }
  throw new Error(`table ${table} is not ACTIVE after ${attempts} DescribeTable calls`);
}

/** Firestore through the real client against the google-cloud-cli emulator (a fresh prefix per open). */
export async function firestoreFixture(): Promise<(StoreFixture & { stop(): Promise<void> }) | undefined> {
  if (!GCLOUD) return undefined;
  const emulator = await startEmulator('firestore');
  const firestore = new Firestore({ projectId: 'demo-faults', host: emulator.host, ssl: false });
  let n = 0;
  return {
    name: 'firestore (emulator)',
    open: async () => ({
      store: new FirestoreStateStore({
        firestore,
        collectionPrefix: `f${++n}-`,
        agentsCollection: 'agents',
        tasksCollection: 'tasks',
      }),
      close: async () => undefined,
    }),
    stop: async () => {
      await firestore.terminate();
      await emulator.stop();
    },
  };
}
