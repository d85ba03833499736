/** The store adapters the fault suite runs against: every one with a real local server here. */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
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
      return {
        store: new DynamoStateStore(documentClient(dynalite.client), table),
        close: async () => undefined,
      };
    },
    stop: () => dynalite.stop(),
  };
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
