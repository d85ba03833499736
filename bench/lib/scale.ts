/**
 * The scale sections of `npm run bench` (issue 13): the minimal-loop baseline as a ratio, the
 * concurrency table, the queue-depth table, the growth table and agent-squad side by side when
 * it is installed. Each prints a Markdown table; `--quick` uses smaller sizes. With
 * `--json=<file>` the figures are also written to that file (to take medians over runs).
 */
import { writeFileSync } from 'node:fs';
import { MemoryStateStore } from '../../shared/adapters/local/memory-store';
import { measureBaseline, type BaselineFigures } from './baseline';
import { measureConcurrency, type ConcurrencyFigures } from './concurrency';
import { measureGrowth, type GrowthFigures } from './growth';
import { measureInBatch, type InBatchFigures } from './in-batch';
import { measurePeer, PEER_DIR, PEER_SPEC, peerInstalled } from './peer';
import { approxTokenizer } from './prompts';
import { measureQueueDepth, type QueueDepthFigures } from './queue-depth';
import { loadScenario } from './reference';
import type { ReferenceScenario } from './scenario-types';
import { STORE_LABEL, StoreFactory, type StoreKind } from './stores';
import { fmt, print, ratio, section, table } from './table';
import { measureCore, workload, type Timing } from './throughput';

export interface ScaleSizes {
  baseline: { requests: number; warmup: number; rounds: number };
  /** Per store: total requests of the sequential run, and per worker count. */
  concurrency: Record<StoreKind, { sequential: number; perWorkers: Record<number, number> }>;
  pool: { agents: number; slots: number };
  queueDepth: { depths: number[]; completions: Record<'memory' | 'level', number> };
  growth: Record<StoreKind, number>;
  peer: { requests: number; warmup: number };
  inBatch: { batches: number; latencyMs: number };
}

export const FULL_SIZES: ScaleSizes = {
  baseline: { requests: 10_000, warmup: 1_000, rounds: 3 },
  concurrency: {
    memory: { sequential: 3_200, perWorkers: { 16: 3_200, 64: 3_200 } },
    level: { sequential: 800, perWorkers: { 16: 800, 64: 832 } },
    dynalite: { sequential: 32, perWorkers: { 16: 128, 64: 128 } },
  },
  pool: { agents: 10, slots: 10 },
  queueDepth: { depths: [0, 1_000, 10_000], completions: { memory: 200, level: 100 } },
  growth: { memory: 100_000, level: 1_500, dynalite: 400 },
  // The issue's own measurement of the peer: 20,000 requests (it degrades over them).
  peer: { requests: 20_000, warmup: 1_000 },
  inBatch: { batches: 20, latencyMs: 10 },
};

export const QUICK_SIZES: ScaleSizes = {
  baseline: { requests: 2_000, warmup: 200, rounds: 1 },
  concurrency: {
    memory: { sequential: 320, perWorkers: { 16: 320, 64: 320 } },
    level: { sequential: 160, perWorkers: { 16: 160, 64: 128 } },
    dynalite: { sequential: 8, perWorkers: { 16: 16, 64: 64 } },
  },
  pool: { agents: 10, slots: 10 },
  queueDepth: { depths: [0, 100, 1_000], completions: { memory: 30, level: 30 } },
  growth: { memory: 5_000, level: 400, dynalite: 40 },
  peer: { requests: 300, warmup: 50 },
  inBatch: { batches: 4, latencyMs: 10 },
};

export interface ScaleFigures {
  sizes: ScaleSizes;
  baseline?: BaselineFigures;
  concurrency: Array<ConcurrencyFigures & { store: StoreKind; sequentialP99: number }>;
  queueDepth: Array<QueueDepthFigures & { store: StoreKind }>;
  growth: Array<GrowthFigures & { store: StoreKind }>;
  inBatch: InBatchFigures[];
  peer?: { version: string; ours: Timing; peer: Timing } | { unavailable: string };
}

const STORES: StoreKind[] = ['memory', 'level', 'dynalite'];

async function baselineSection(
  scenario: ReferenceScenario,
  sizes: ScaleSizes,
  out: ScaleFigures,
): Promise<void> {
  section('Baseline: a minimal correct coordination loop in the same run (bench/lib/minimal-loop.ts)');
  const b = await measureBaseline(scenario, sizes.baseline);
  out.baseline = b;
  const row = (label: string, t: typeof b.core) => [
    label,
    t.perSecond,
    t.withCompletionsPerSecond,
    t.cpuPerSecond,
    fmt(t.p50, 4),
    fmt(t.p99, 3),
    `${fmt(t.slowShare * 100, 1)}% / ${fmt(t.slowTimeShare * 100, 0)}%`,
  ];
  print(
    table(
      [
        'loop (memory, rules, sequential, each request completed right after)',
        'requests/s',
        'with completions/s (wall)',
        'with completions/s (CPU)',
        'p50 ms',
        'p99 ms',
        'requests > 1 ms / their share of the time',
      ],
      [
        row('minimal loop: Maps, capability index, one zod parse, one outbox event', b.minimal),
        row('`Coordinator.handle`, memory store, rules router', b.core),
        [
          'minimal / ours',
          ratio(b.minimal.perSecond, b.core.perSecond),
          ratio(b.minimal.withCompletionsPerSecond, b.core.withCompletionsPerSecond),
          ratio(b.minimal.cpuPerSecond, b.core.cpuPerSecond),
          ratio(b.core.p50, b.minimal.p50),
          '',
          '',
        ],
      ],
    ),
  );
  print(
    `\n${b.rounds} alternating round(s) of ${sizes.baseline.requests} timed requests after ${sizes.baseline.warmup} warm-up; medians. ` +
      `Ratio per round: ${b.ratios.map((r) => `${fmt(r, 1)}x`).join(', ')}. "requests/s" is 1 / mean request time (completions untimed); ` +
      '"with completions/s" is requests per second of wall time (or of this process\'s CPU time, which load from other ' +
      'processes does not change), completions included. Goal: >= 25,000 req/s for `Coordinator.handle`.',
  );
}

async function concurrencySection(
  factory: StoreFactory,
  sizes: ScaleSizes,
  out: ScaleFigures,
): Promise<void> {
  section(
    'Concurrency: W coordinators (separate instances, like Lambda instances) over one store and one agent pool',
  );
  const rows: Array<Array<string | number>> = [];
  for (const store of STORES) {
    const plan = sizes.concurrency[store];
    const run = async (workers: number, total: number) => {
      const opened = await factory.open(store);
      try {
        return await measureConcurrency(opened.store, {
          workers,
          loopsPerWorker: Math.max(1, Math.round(total / workers)),
          ...sizes.pool,
        });
      } finally {
        await opened.close();
      }
    };
    const seq = await run(1, plan.sequential);
    const runs = [seq];
    for (const [w, total] of Object.entries(plan.perWorkers)) runs.push(await run(Number(w), total));
    for (const r of runs) {
      out.concurrency.push({ ...r, store, sequentialP99: seq.p99 });
      const ok =
        r.doubleAssignments === 0 && r.slotMismatches === 0 && r.lost === 0 && r.indexMismatches === 0;
      rows.push([
        STORE_LABEL[store],
        r.workers === 1 ? '1 (sequential)' : String(r.workers),
        String(r.requests),
        fmt(r.perSecond, r.perSecond < 10 ? 1 : 0),
        fmt(r.p50, 2),
        fmt(r.p99, 1),
        fmt(r.max, 1),
        r.workers === 1 ? '1.00x' : ratio(r.p99, seq.p99),
        `${fmt(r.conflictsPerRequest * 100, 1)}%`,
        `${r.retries} / ${r.completionRetries}`,
        `${ok ? 'hold' : 'BROKEN'} (double ${r.doubleAssignments}, slot mismatches ${r.slotMismatches}, lost ${r.lost})`,
      ]);
    }
  }
  print(
    table(
      [
        'store',
        'workers',
        'requests',
        'req/s wall',
        'p50 ms',
        'p99 ms',
        'max ms',
        'p99 / sequential p99',
        'conflicts / request',
        'retries (requests / completions)',
        'invariants',
      ],
      rows,
    ),
  );
  print(
    `\nPool: ${sizes.pool.agents} agents x ${sizes.pool.slots} slots with one capability; each worker loops: request (timed, ` +
      'redelivered at once on `retry`), then completes every assignment published so far (an agent sees an assignment once ' +
      'the delivery that published it has returned, and answers at once). ' +
      'Conflicts: failed conditional writes (`Coordinator.storeStats`) per request. Invariants after quiescence, with ' +
      '`checkInvariants` of the fault suite. Everything runs in this one process (dynalite too): W workers share its CPU, ' +
      "so a request waits for the others' work, a floor of about W / (req/s) on latency that W Lambda instances would not have. " +
      'Goal: no request slowed by seconds, p99 <= 3x the sequential p99, conflicts <= 1%.',
  );
}

async function inBatchSection(factory: StoreFactory, sizes: ScaleSizes, out: ScaleFigures): Promise<void> {
  section(
    'In-batch concurrency: SQS batches of 10 against DynamoDB (dynalite) with a fixed latency per store call',
  );
  const rows: Array<Array<string | number>> = [];
  const figures: InBatchFigures[] = [];
  for (const concurrency of [1, 10]) {
    const opened = await factory.open('dynalite');
    try {
      const f = await measureInBatch(opened.store, {
        concurrency,
        ...sizes.inBatch,
        tag: `ib${concurrency}`,
      });
      figures.push(f);
      out.inBatch.push(f);
    } finally {
      await opened.close();
    }
  }
  const one = figures[0]!;
  for (const f of figures)
    rows.push([
      f.concurrency === 1 ? '1 (one after another)' : `${f.concurrency} (default)`,
      f.latencyMs,
      f.batches,
      fmt(f.meanMs, 0),
      fmt(f.p50Ms, 0),
      fmt(f.storeCallsPerBatch, 1),
      f.maxInFlight,
      f === one ? '1.00x' : ratio(one.meanMs, f.meanMs),
    ]);
  print(
    table(
      [
        'IN_BATCH_CONCURRENCY',
        'latency per call ms',
        'batches',
        'ms / batch (mean)',
        'p50 ms',
        'store calls / batch',
        'most calls in flight',
        'speed-up',
      ],
      rows,
    ),
  );
  print(
    '\nOne pool of 10 free agents x 10 slots; each batch is 10 routine requests (rules router), its tasks completed ' +
      'untimed afterwards. The latency stands for the network round trip to DynamoDB that dynalite in this process ' +
      "does not have. Goal: a batch of 10 costs about one task's round trips, not ten.",
  );
}

async function queueDepthSection(factory: StoreFactory, sizes: ScaleSizes, out: ScaleFigures): Promise<void> {
  section('Queue depth: one completion (frees a slot, drains) against the tasks queued for others');
  const rows: Array<Array<string | number>> = [];
  for (const store of ['memory', 'level'] as const) {
    for (const depth of sizes.queueDepth.depths) {
      const opened = await factory.open(store);
      try {
        const f = await measureQueueDepth(opened.store, {
          depth,
          completions: sizes.queueDepth.completions[store],
        });
        out.queueDepth.push({ ...f, store });
        rows.push([
          STORE_LABEL[store],
          fmt(depth, 0),
          String(f.completions),
          fmt(f.msMean, 3),
          fmt(f.msP50, 3),
          fmt(f.itemsPerCompletion, 1),
          fmt(f.readCallsPerCompletion, 1),
          fmt(f.kbPerCompletion, 1),
        ]);
      } finally {
        await opened.close();
      }
    }
  }
  print(
    table(
      [
        'store',
        'queued for busy agents',
        'completions',
        'ms / completion (mean)',
        'p50 ms',
        'records read / completion',
        'read calls / completion',
        'KB read / completion',
      ],
      rows,
    ),
  );
  print(
    '\nThe freed agent (`alpha`, one slot) has 3 tasks queued for it; the depth is tasks queued for 4 busy agents of other ' +
      'capabilities. Records read (agents and tasks returned by the store) counted at the port, every index method ' +
      'included; KB is their JSON size. Goal: independent of the depth.',
  );
}

async function growthSection(
  factory: StoreFactory,
  scenario: ReferenceScenario,
  sizes: ScaleSizes,
  out: ScaleFigures,
): Promise<void> {
  section('Growth: tasks with completions accumulating in the ledger, last quarter against the first');
  // Warm the core's code paths on a throwaway store first, so the first quarter is not JIT warm-up.
  await measureGrowth(scenario, new MemoryStateStore(), { tasks: Math.min(2_000, sizes.growth.memory) });
  const rows: Array<Array<string | number>> = [];
  for (const store of STORES) {
    const opened = await factory.open(store);
    try {
      // One pass over the workload first (its 200 requests), untimed, on this store.
      const g = await measureGrowth(scenario, opened.store, {
        tasks: sizes.growth[store],
        warmup: workload(scenario).length,
      });
      out.growth.push({ ...g, store });
      rows.push([
        STORE_LABEL[store],
        fmt(g.tasks, 0),
        fmt(g.wallSeconds, 1),
        fmt(g.firstMean, 3),
        fmt(g.lastMean, 3),
        ratio(g.lastMean, g.firstMean),
        ratio(g.lastP50, g.firstP50),
        `${fmt(g.firstItems, 1)} -> ${fmt(g.lastItems, 1)}`,
        fmt(g.queuedAtEnd, 0),
      ]);
    } finally {
      await opened.close();
    }
  }
  print(
    table(
      [
        'store',
        'tasks',
        'wall s',
        'first quarter ms / task',
        'last quarter ms / task',
        'last / first (mean)',
        'last / first (p50)',
        'records read / task',
        'left queued',
      ],
      rows,
    ),
  );
  print(
    '\nThe reference workload cycled (rules router), each task a request plus its completion, timed together, after one ' +
      'untimed pass of the workload on the same store (the adapter warm, the queue keys known); every ' +
      "completed task stays in the ledger and the tasks for the scenario's busy agent stay queued. " +
      `Sizes: memory ${sizes.growth.memory}, LevelDB ${sizes.growth.level}, dynalite ${sizes.growth.dynalite} (what finishes ` +
      'in a bench run on this machine: see docs/performance.md). Goal: last / first <= 1.2x on every store.',
  );
}

async function peerSection(scenario: ReferenceScenario, sizes: ScaleSizes, out: ScaleFigures): Promise<void> {
  section(`Side by side with ${PEER_SPEC} (same workload, same process)`);
  const version = peerInstalled();
  if (!version) {
    const why = `agent-squad is not installed in ${PEER_DIR}: run \`npm run bench:peers\` once (it installs ${PEER_SPEC} there, never into this project) and this table appears in every \`npm run bench\`.`;
    out.peer = { unavailable: why };
    print(why);
    return;
  }
  const ours = await measureCore(scenario, new MemoryStateStore(), { ...sizes.peer, router: 'rules' });
  const peer = (await measurePeer(scenario, { ...sizes.peer, tokenizer: approxTokenizer })).timing;
  out.peer = { version, ours, peer };
  print(
    table(
      ['system', 'requests/s', 'p50 ms', 'p99 ms', 'last / first quarter (mean)', 'ours / peer'],
      [
        [
          'agent-coordinator: `Coordinator.handle`, memory store, rules router',
          ours.perSecond,
          fmt(ours.p50, 3),
          fmt(ours.p99, 2),
          `${fmt(ours.drift, 2)}x`,
          ratio(ours.perSecond, peer.perSecond),
        ],
        [
          `agent-squad ${version}: \`AgentSquad.routeRequest\`, instant classifier and agents`,
          peer.perSecond,
          fmt(peer.p50, 3),
          fmt(peer.p99, 2),
          `${fmt(peer.drift, 2)}x`,
          '1.00x',
        ],
      ],
    ),
  );
  print(
    `\n${sizes.peer.requests} requests each after ${sizes.peer.warmup} warm-up, one after another. ` +
      'Goal: ours >= 10x the peer, and flat (last / first quarter near 1.00x).',
  );
}

export async function scaleSections(options: { quick: boolean; json?: string }): Promise<ScaleFigures> {
  const sizes = options.quick ? QUICK_SIZES : FULL_SIZES;
  const scenario = loadScenario();
  const out: ScaleFigures = { sizes, concurrency: [], queueDepth: [], growth: [], inBatch: [] };
  const factory = new StoreFactory();
  try {
    await baselineSection(scenario, sizes, out);
    await concurrencySection(factory, sizes, out);
    await inBatchSection(factory, sizes, out);
    await queueDepthSection(factory, sizes, out);
    await growthSection(factory, scenario, sizes, out);
    await peerSection(scenario, sizes, out);
  } finally {
    await factory.stop();
    if (options.json) writeFileSync(options.json, `${JSON.stringify(out, null, 2)}\n`);
  }
  return out;
}
