/**
 * A completion frees a slot and drains the queue: what it reads must not grow with tasks queued
 * for other agents. 0 and then 10,000 tasks queued for busy agents of other capabilities, a few
 * for the freed agent; the records and calls a completion reads are counted at the port (every
 * index method included) on the memory and LevelDB stores. Counts only, no timings.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LevelStateStore } from '../../shared/adapters/local/level-store';
import { MemoryStateStore } from '../../shared/adapters/local/memory-store';
import type { StateStore } from '../../shared/core/ports';
import { queueDepthFixture } from '../../bench/lib/queue-depth';
import { totalCalls, type ReadCounts } from '../../bench/lib/item-counting';

const DEEP = 10_000;

async function completionReads(store: StateStore, depth: number): Promise<ReadCounts[]> {
  const f = await queueDepthFixture(store, depth);
  f.counting.measureBytes = true;
  const reads: ReadCounts[] = [];
  for (let i = 0; i < 5; i++) reads.push((await f.completeOne()).reads);
  const queued = await store.listTasksByStatus('queued', depth + 100);
  expect(queued.length).toBe(depth + 3); // nothing for the busy agents moved; 3 stay queued for the freed one
  return reads;
}

const stores: Array<[string, () => Promise<{ store: StateStore; close(): Promise<void> }>]> = [
  ['memory', async () => ({ store: new MemoryStateStore(), close: async () => undefined })],
  [
    'LevelDB',
    async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'ac-queue-depth-'));
      const store = await LevelStateStore.open(dir);
      return {
        store,
        close: async () => {
          await store.close();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
  ],
];

describe.each(stores)('a completion on the %s store', (_name, open) => {
  test(`reads the same records with 0 and ${DEEP.toLocaleString('en-US')} unrelated queued tasks`, async () => {
    const shallow = await open();
    const deep = await open();
    try {
      const before = await completionReads(shallow.store, 0);
      const after = await completionReads(deep.store, DEEP);
      for (let i = 0; i < before.length; i++) {
        expect(after[i]!.items).toBe(before[i]!.items);
        expect(after[i]!.calls).toEqual(before[i]!.calls);
        expect(totalCalls(after[i]!)).toBe(totalCalls(before[i]!));
        // The same records, so the same size give or take the digits of the ids and times.
        expect(Math.abs(after[i]!.bytes - before[i]!.bytes)).toBeLessThan(200);
      }
      // Small in absolute terms too: the freed agent, the registry, the task, one queue page.
      expect(before[0]!.items).toBeLessThan(40);
      expect(before[0]!.calls.listTasksByStatus ?? 0).toBe(0);
    } finally {
      await shallow.close();
      await deep.close();
    }
  }, 180_000);
});
