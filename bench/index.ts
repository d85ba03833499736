/**
 * `npm run bench`: prints the performance and LLM-economics tables (no pass/fail).
 *   --quick       fewer requests and runs (a smoke run)
 *   --no-build    measure the bundles already in dist/ instead of rebuilding them
 *   --scale-json=<file>   also write the scale sections' figures (baseline, concurrency, queue depth,
 *                 growth, peer) as JSON, to take medians over runs
 * The peer side by side: `npm run bench:peers`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LevelStateStore } from '../shared/adapters/local/level-store';
import { MemoryStateStore } from '../shared/adapters/local/memory-store';
import { capacityReport } from './lib/capacity';
import { bareNode, buildBundles, findBundles, measureBundle, type ColdStart } from './lib/cold-start';
import { STORE_METHODS } from './lib/counting';
import { bundlePeer, peerInstalled } from './lib/peer';
import { approxTokenizer, cl100kTokenizer, promptRow, type Tokenizer } from './lib/prompts';
import { loadScenario, repoRoot, runReferenceScenario, summarize, type RunOptions } from './lib/reference';
import { scaleSections } from './lib/scale';
import { fmt, print, ratio, section, table } from './lib/table';
import { measureCore } from './lib/throughput';

const args = new Set(process.argv.slice(2));
const QUICK = args.has('--quick');

export function machine(): string {
  const cpus = os.cpus();
  return [
    `node ${process.version} on ${os.platform()} ${os.release()} (${os.arch()})`,
    `${cpus.length} x ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${fmt(os.totalmem() / 2 ** 30, 1)} GiB RAM`,
    `run at ${new Date().toISOString()}`,
  ].join('; ');
}

async function throughputSection(): Promise<void> {
  section('Core throughput (Coordinator.handle, one coordination request per call)');
  const scenario = loadScenario();
  const n = QUICK ? 300 : 3000;
  const warmup = QUICK ? 50 : 300;
  const rows: Array<Array<string | number>> = [];
  const add = (label: string, t: Awaited<ReturnType<typeof measureCore>>) =>
    rows.push([label, t.perSecond, t.p50, t.p99, t.n]);
  add(
    'memory store, rules router',
    await measureCore(scenario, new MemoryStateStore(), { requests: n, warmup, router: 'rules' }),
  );
  add(
    'memory store, LLM router (fast path, instant scripted LLM)',
    await measureCore(scenario, new MemoryStateStore(), { requests: n, warmup, router: 'llm-instant' }),
  );
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ac-bench-level-'));
  const level = await LevelStateStore.open(dir);
  try {
    add(
      'embedded LevelDB store, rules router',
      await measureCore(scenario, level, { requests: n, warmup, router: 'rules' }),
    );
  } finally {
    await level.close();
    await rm(dir, { recursive: true, force: true });
  }
  print(table(['configuration', 'requests/s', 'p50 ms', 'p99 ms', 'requests'], rows));
  print(
    '\nEach request: create the task, read the registry, decide, claim the slot, commit, publish (local bus). ' +
      'The agent completes each task right after (untimed), so the fleet never fills up.',
  );
}

async function scenarioSection(): Promise<void> {
  section('LLM and store calls per coordination request (reference scenario, counted at the ports)');
  const scenario = loadScenario();
  const configs: Array<[string, RunOptions]> = [
    ['this project: fast path + one call per SQS batch', {}],
    ['fast path, one call per request', { llm: { batchSize: 1 } }],
    ['no fast path, one call per request (seed design)', { llm: { fastPath: false, batchSize: 1 } }],
    ['rules router only (no LLM)', { router: 'rules' }],
  ];
  const rows: Array<Array<string | number>> = [];
  let main: ReturnType<typeof summarize> | undefined;
  for (const [label, options] of configs) {
    const s = summarize(await runReferenceScenario(scenario, options));
    main ??= s;
    rows.push([
      label,
      s.llmCallsPerRequest,
      `${s.noLlm}/${s.requests} (${fmt(s.noLlmShare * 100, 0)}%)`,
      s.inputTokensPerRequest,
      s.storeCallsPerRequest,
      `${s.fastPathMatching}/${s.fastPath}`,
      `${s.preferred}/${s.requests}`,
    ]);
  }
  print(
    table(
      [
        'router',
        'LLM calls/request',
        'decided without LLM',
        'LLM input tokens/request',
        'store calls/request',
        'fast path = label',
        'preferred agent',
      ],
      rows,
    ),
  );
  const m = main!;
  print(
    `\nReference scenario: ${scenario.tasks.length} tasks, ${scenario.agents.length} agents, SQS batches of ${scenario.batch_size}.`,
  );
  print(
    `Decided without an LLM call: ${m.noLlm}/${m.requests} = ${fmt(m.noLlmShare * 100, 1)}% (target >= 50%).`,
  );
  print(
    `Fast-path decisions matching the label: ${m.fastPathMatching}/${m.fastPath} = ${fmt((m.fastPathMatching / Math.max(1, m.fastPath)) * 100, 1)}% (target 100%).`,
  );
  print(`Paths: ${[...m.byPath.entries()].map(([p, k]) => `${p} ${k}`).join(', ')}.`);
  print(
    `Store calls per request by method: ${STORE_METHODS.map((k) => `${k} ${fmt(m.storePerRequest[k])}`).join(', ')}; ` +
      `per completion (untimed, frees the agent): ${fmt(m.completionStorePerCompletion)}.`,
  );
  print(
    'Tokens: the core estimate (chars/4) of system + prompt + tool schema, as the scripted LLM reports them.',
  );
}

function promptSection(): void {
  section('Prompt economics (routing prompt tokens vs the seed design)');
  const tokenizers: Tokenizer[] = [approxTokenizer];
  const bpe = cl100kTokenizer();
  if (bpe) tokenizers.push(bpe);
  else print('(gpt-tokenizer is not installed: chars/4 only)\n');
  for (const tk of tokenizers) {
    const rows = [5, 20, 100].map((n) => {
      const r = promptRow(n, tk);
      return [
        String(n),
        r.seed,
        r.total,
        `${r.system} + ${r.tool}`,
        r.perCall,
        r.batchedPerTask,
        ratio(r.seed, r.total),
        ratio(r.seed, r.batchedPerTask),
        r.fastPath ? 'yes (0 tokens)' : 'no',
      ];
    });
    print(`Tokenizer: ${tk.name}\n`);
    print(
      table(
        [
          'agents',
          'seed prompt',
          'ours: total',
          'stable prefix (system + tool)',
          'per-call part',
          'per task in a batch of 10',
          'seed / ours',
          'seed / batched',
          'seed request on the fast path',
        ],
        rows,
      ),
    );
    print('');
  }
  print(
    'Seed: the prompt of the design this project grew from (bench/baseline/seed-20.txt; 5 agents = its first 5 states, ' +
      '100 = its 20 states repeated with new ids). Ours: the same registry and request, made ambiguous (every capable ' +
      'agent free) so that the LLM is asked; the tool schema counts because providers bill it as input.',
  );
}

async function coldStartSection(root: string): Promise<void> {
  section('Cold start (fresh Node process per run, median)');
  if (!args.has('--no-build')) {
    const failed = buildBundles(root);
    if (failed) print(`build failed, measuring the bundles already in dist/: ${failed}\n`);
  }
  const runs = QUICK ? 3 : 9;
  const results: ColdStart[] = [bareNode(runs)];
  for (const b of findBundles(path.join(root, 'dist'))) results.push(measureBundle(b.name, b.file, runs));
  const peerVersion = peerInstalled();
  if (peerVersion) {
    try {
      results.push(
        measureBundle(`peer: agent-squad ${peerVersion} (esbuild bundle)`, await bundlePeer(), runs),
      );
    } catch (err) {
      print(`peer bundle failed: ${(err as Error).message}`);
    }
  }
  const bare = results[0]!.wallMs;
  print(
    table(
      ['bundle', 'size KiB', 'module init ms', 'process wall ms', 'over bare node ms'],
      results.map((r) => [
        r.name,
        r.bytes === undefined ? '-' : fmt(r.bytes / 1024, 1),
        r.initMs === undefined ? (r.error ? `error: ${r.error.slice(0, 60)}` : '-') : fmt(r.initMs),
        r.wallMs,
        r.bytes === undefined ? '-' : fmt(r.wallMs - bare),
      ]),
    ),
  );
  if (!peerVersion)
    print('\n(peer not installed: run `npm run bench:peers` once to add its bundle to this table)');
}

export async function main(): Promise<void> {
  const root = repoRoot();
  print('# agent-coordinator benchmark');
  print(`\nMachine: ${machine()}`);
  await throughputSection();
  await scenarioSection();
  promptSection();
  await coldStartSection(root);
  section('Cloud capacity model (store calls counted at the port, mapped onto each key design)');
  print(await capacityReport());
  const json = process.argv.find((a) => a.startsWith('--scale-json='))?.slice('--scale-json='.length);
  await scaleSections({ quick: QUICK, ...(json ? { json } : {}) });
}
