/**
 * The concurrency figures' properties, counted and never timed: W coordinator instances over one
 * store and one agent pool (the bench's concurrency loop, `bench/lib/concurrency.ts`) make no
 * conflicting write at all on the stores that change slots atomically, assign no task twice and
 * leave every agent's slots equal to the tasks the ledger assigns it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { measureConcurrency } from '../../bench/lib/concurrency';
import { LevelStateStore } from '../../shared/adapters/local/level-store';
import { MemoryStateStore } from '../../shared/adapters/local/memory-store';
import type { StateStore } from '../../shared/core/ports';

jest.setTimeout(60_000);

const invariantsHold = (f: Awaited<ReturnType<typeof measureConcurrency>>) => ({
  lost: f.lost,
  doubleAssignments: f.doubleAssignments,
  slotMismatches: f.slotMismatches,
  indexMismatches: f.indexMismatches,
  unpublished: f.unpublished,
});
const HOLD = { lost: 0, doubleAssignments: 0, slotMismatches: 0, indexMismatches: 0, unpublished: 0 };

describe.each([
  ['memory', async () => ({ store: new MemoryStateStore() as StateStore, close: async () => undefined })],
  [
    'LevelDB',
    async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'ac-conc-'));
      const store = await LevelStateStore.open(dir);
      return {
        store: store as StateStore,
        close: async () => {
          await store.close();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
  ],
])('%s: concurrent instances on one agent pool', (_name, open) => {
  test.each([16, 64])('%i workers: no conflicting write, no retry, invariants hold', async (workers) => {
    const { store, close } = await open();
    try {
      const f = await measureConcurrency(store, { workers, loopsPerWorker: 5, agents: 10, slots: 10 });
      expect(f.requests).toBe(workers * 5);
      expect(invariantsHold(f)).toEqual(HOLD);
      expect({ conflicts: f.conflicts, retries: f.retries, completionRetries: f.completionRetries }).toEqual({
        conflicts: 0,
        retries: 0,
        completionRetries: 0,
      });
    } finally {
      await close();
    }
  });
});

test('without atomic slot changes the same loop does conflict (what the test above rules out)', async () => {
  const store = new MemoryStateStore();
  const optimistic: StateStore = Object.assign(Object.create(store) as StateStore, {
    claimAgentSlot: undefined,
    releaseAgentSlot: undefined,
  });
  const f = await measureConcurrency(optimistic, { workers: 16, loopsPerWorker: 5, agents: 10, slots: 10 });
  expect(invariantsHold(f)).toEqual(HOLD);
  expect(f.conflicts).toBeGreaterThan(0);
});
