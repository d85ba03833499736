/**
 * The stores the scale tables run on: memory, embedded LevelDB (a temporary folder) and
 * DynamoDB through the real SDK against dynalite started in this process (loopback only).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DynamoStateStore, documentClient } from '../../shared/adapters/aws/dynamo-store';
import { LevelStateStore } from '../../shared/adapters/local/level-store';
import { MemoryStateStore } from '../../shared/adapters/local/memory-store';
import type { StateStore } from '../../shared/core/ports';
import { startDynalite, type Dynalite } from '../../test/aws/local-aws';

/** Shards per sharded index on dynalite (the cloud default is 32; see docs/performance.md). */
export const DYNALITE_SHARDS = 2;

export type StoreKind = 'memory' | 'level' | 'dynalite';

export const STORE_LABEL: Record<StoreKind, string> = {
  memory: 'memory',
  level: 'LevelDB (embedded)',
  dynalite: `DynamoDB (dynalite, ${DYNALITE_SHARDS} shards)`,
};

export interface OpenStore {
  store: StateStore;
  close(): Promise<void>;
}

/** Opens fresh, empty stores; one dynalite server is started on first use and shared. */
export class StoreFactory {
  private dynalite?: Dynalite;

  async open(kind: StoreKind): Promise<OpenStore> {
    if (kind === 'memory') return { store: new MemoryStateStore(), close: async () => undefined };
    if (kind === 'level') {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'ac-bench-scale-'));
      const store = await LevelStateStore.open(dir);
      return {
        store,
        close: async () => {
          await store.close();
          await rm(dir, { recursive: true, force: true });
        },
      };
    }
    this.dynalite ??= await startDynalite();
    const table = await this.dynalite.createTable();
    await this.waitForActive(table);
    return {
      // Two shards: dynalite answers one query at a time, so a 32-shard listing (one round trip
      // of parallel queries in the cloud) would cost it 32 sequential queries here.
      store: new DynamoStateStore(documentClient(this.dynalite.client), table, { shards: DYNALITE_SHARDS }),
      close: async () => undefined,
    };
  }

  /** A new table is CREATING until dynalite marks it (and its indexes) ACTIVE. */
  private async waitForActive(table: string): Promise<void> {
    for (let i = 0; i < 500; i++) {
      const { Table } = await this.dynalite!.client.send(new DescribeTableCommand({ TableName: table }));
      const indexes = Table?.GlobalSecondaryIndexes ?? [];
      if (Table?.TableStatus === 'ACTIVE' && indexes.every((g) => g.IndexStatus === 'ACTIVE')) return;
      await sleep(10);
    }
    throw new Error(`dynalite table ${table} never became ACTIVE`);
  }

  async stop(): Promise<void> {
    await this.dynalite?.stop();
    this.dynalite = undefined;
  }
}
