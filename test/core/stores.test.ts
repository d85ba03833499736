import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LevelStateStore } from '../../shared/adapters/local/level-store';
import { MemoryStateStore } from '../../shared/adapters/local/memory-store';
import { describeStateStore } from '../support/state-store.contract';

describeStateStore('memory', async () => ({ store: new MemoryStateStore(), atomicSlots: true }));

describeStateStore('level (embedded)', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ac-level-'));
  const store = await LevelStateStore.open(dir);
  return {
    store,
    atomicSlots: true,
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
