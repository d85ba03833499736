/**
 * The hot path alone, for profiling: `node --cpu-prof scripts/run-ts.js bench/hot-path.ts [store] [n]`.
 * Coordination requests through Coordinator.handle, each completed right after, on the memory
 * (default) or LevelDB store with the rules router; prints requests per second.
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LevelStateStore } from '../shared/adapters/local/level-store';
import { MemoryStateStore } from '../shared/adapters/local/memory-store';
import { loadScenario } from './lib/reference';
import { measureCore } from './lib/throughput';

async function main(): Promise<void> {
  const kind = process.argv[2] ?? 'memory';
  const n = Number(process.argv[3] ?? 20_000);
  const store =
    kind === 'level'
      ? await LevelStateStore.open(await mkdtemp(path.join(os.tmpdir(), 'ac-hot-')))
      : new MemoryStateStore();
  const t = await measureCore(loadScenario(), store, { requests: n, warmup: 1000, router: 'rules' });
  console.log(
    `${kind}: ${Math.round(t.perSecond)} req/s, p50 ${t.p50.toFixed(3)} ms, p99 ${t.p99.toFixed(3)} ms over ${t.n}`,
  );
  if (store instanceof LevelStateStore) await store.close();
}

void main();
