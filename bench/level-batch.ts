/**
 * `node scripts/run-ts.js bench/level-batch.ts`: what one LevelDB batch costs the main thread
 * per operation, in abstract-level's array form (`db.batch(ops)`) and in the chained form
 * (`db.batch().put(...).write()`), for batches of 1 KB records like the store's. The time is the
 * synchronous part of the call (before its promise), which is what the event loop pays; the
 * write itself runs on libuv's thread pool. Alternates the two forms, 3 rounds each.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ClassicLevel } from 'classic-level';
import { fmt, print, table } from './lib/table';

const BATCHES = 20;
const OPS = 1000;

export async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ac-level-batch-'));
  const db = new ClassicLevel<string, string>(dir, { valueEncoding: 'utf8' });
  await db.open();
  const micros: Record<'array' | 'chained', number[]> = { array: [], chained: [] };
  try {
    for (let round = 0; round < 3; round++) {
      for (const form of ['array', 'chained'] as const) {
        let spent = 0;
        for (let b = 0; b < BATCHES; b++) {
          const ops = Array.from({ length: OPS }, (_, i) => ({
            key: `t/${form}-${round}-${b}-${i}`,
            value: JSON.stringify({ task_id: `${b}-${i}`, payload: 'x'.repeat(1000) }),
          }));
          const started = performance.now();
          let written: Promise<void>;
          if (form === 'array') written = db.batch(ops.map((op) => ({ type: 'put' as const, ...op })));
          else {
            const chained = db.batch();
            for (const op of ops) chained.put(op.key, op.value);
            written = chained.write();
          }
          spent += performance.now() - started;
          await written;
        }
        micros[form].push((spent * 1000) / (BATCHES * OPS));
      }
    }
  } finally {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  print(
    table(
      ['form', 'µs per operation on the main thread (3 rounds)', 'median'],
      (['array', 'chained'] as const).map((form) => [
        form,
        micros[form].map((m) => fmt(m, 2)).join(' / '),
        fmt(median(micros[form]), 2),
      ]),
    ),
  );
  print(`array / chained: ${fmt(median(micros.array) / median(micros.chained), 1)}x`);
}
