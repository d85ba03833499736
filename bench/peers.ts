/**
 * `npm run bench:peers`: this project side by side with its nearest peer, `agent-squad`
 * (npm), on the reference scenario's workload, measured in the same process run. The peer is
 * installed on demand into a temporary folder (BENCH_PEER_DIR, default <tmp>/agent-coordinator-
 * bench-peer), never as a dependency. Without the registry it says so and prints our side only.
 *   --quick   fewer requests and runs
 */
import path from 'node:path';
import { MemoryStateStore } from '../shared/adapters/local/memory-store';
import { machine } from './index';
import { bareNode, findBundles, measureBundle } from './lib/cold-start';
import { bundlePeer, installPeer, measurePeer, PEER_DIR, PEER_SPEC, type PeerRun } from './lib/peer';
import { approxTokenizer } from './lib/prompts';
import { loadScenario, repoRoot, runReferenceScenario, summarize } from './lib/reference';
import { fmt, print, ratio, section, table } from './lib/table';
import { measureCore, type Timing } from './lib/throughput';

const QUICK = process.argv.includes('--quick');

export async function main(): Promise<void> {
  const scenario = loadScenario();
  const requests = QUICK ? 300 : 3000;
  const warmup = QUICK ? 50 : 300;
  print('# agent-coordinator vs agent-squad');
  print(`\nMachine: ${machine()}`);

  let version: string | undefined;
  let unavailable: string | undefined;
  try {
    process.stdout.write(`\nInstalling ${PEER_SPEC} into ${PEER_DIR} (once; not a project dependency)...\n`);
    version = installPeer();
  } catch (err) {
    unavailable = (err as Error).message;
    print(`\nPEER UNAVAILABLE: ${unavailable}`);
    print("The npm registry is needed once to install the peer. Printing this project's figures only.");
  }

  // Same process run: ours, then the peer, on the same machine state.
  const ours = await measureCore(scenario, new MemoryStateStore(), { requests, warmup, router: 'rules' });
  const oursLlm = await measureCore(scenario, new MemoryStateStore(), {
    requests,
    warmup,
    router: 'llm-instant',
  });
  let peer: PeerRun | undefined;
  if (version) {
    try {
      peer = await measurePeer(scenario, { requests, warmup, tokenizer: approxTokenizer });
    } catch (err) {
      unavailable = `the peer failed to run: ${(err as Error).message}`;
      print(`\nPEER FAILED: ${unavailable}`);
    }
  }
  const s = summarize(await runReferenceScenario(scenario));

  section('Routing throughput (same workload, same process, instant classifier / instant router)');
  const row = (label: string, t: Timing, base?: Timing): Array<string | number> => [
    label,
    t.perSecond,
    t.p50,
    t.p99,
    base ? ratio(t.perSecond, base.perSecond) : '1.00x',
  ];
  const rows = [row('agent-coordinator: Coordinator.handle, memory store, rules router', ours)];
  rows.push(row('agent-coordinator: same, LLM router (fast path, instant LLM)', oursLlm, ours));
  if (peer)
    rows.push(row(`agent-squad ${version}: AgentSquad.routeRequest, instant classifier`, peer.timing, ours));
  print(table(['system', 'requests/s', 'p50 ms', 'p99 ms', 'vs ours'], rows));
  print(
    `\nWorkload: the ${scenario.tasks.filter((t) => t.message.type === 'coordination_request').length} coordination requests of ` +
      `bench/reference-scenario.json, cycled, ${requests} timed after ${warmup} warm-up. Ours persists the task ledger and agent ` +
      'slots with conditional writes and publishes an assignment event; the peer classifies, calls the agent and saves chat history.',
  );

  section('LLM economics per request (reference scenario)');
  const econ: Array<Array<string | number>> = [
    [
      'LLM calls per request',
      s.llmCallsPerRequest,
      peer ? peer.classifierCallsPerRequest : 'n/a',
      peer ? ratio(peer.classifierCallsPerRequest, s.llmCallsPerRequest) : 'n/a',
    ],
    [
      'routing input tokens per request (chars/4)',
      s.inputTokensPerRequest,
      peer ? peer.promptTokensPerRequest : 'n/a',
      peer ? ratio(peer.promptTokensPerRequest, s.inputTokensPerRequest) : 'n/a',
    ],
    ['store calls per request', s.storeCallsPerRequest, peer ? peer.storageCallsPerRequest : 'n/a', '-'],
    [
      'routed to the labelled agent',
      `${s.matching}/${s.requests}`,
      peer
        ? `${peer.matching}/${Math.min(requests + warmup, scenario.tasks.filter((t) => t.message.type === 'coordination_request').length)}`
        : 'n/a',
      '-',
    ],
  ];
  print(table(['per request', 'agent-coordinator', 'agent-squad', 'peer / ours'], econ));
  print(
    '\nThe peer sends every request to its LLM classifier (here answered instantly and counted); its prompt is the ' +
      "classifier's system prompt with every agent's description plus the input. Store calls: ours are ledger round trips " +
      "(task, agent slots: what makes assignment exactly-once); the peer's are chat-history calls (a DynamoDB round trip each " +
      "with its DynamoDbChatStorage) and it keeps no task state. Direct assignments are left out of the peer's label count.",
  );

  section('Cold start (fresh Node process, median)');
  const root = repoRoot();
  const runs = QUICK ? 3 : 9;
  const bare = bareNode(runs);
  const cold = findBundles(path.join(root, 'dist')).map((b) => measureBundle(b.name, b.file, runs));
  if (version) {
    try {
      cold.push(measureBundle(`agent-squad ${version} (esbuild bundle)`, await bundlePeer(), runs));
    } catch (err) {
      print(`peer bundle failed: ${(err as Error).message}`);
    }
  }
  print(
    table(
      ['bundle', 'size KiB', 'module init ms', 'process wall ms'],
      [
        [bare.name, '-', '-', bare.wallMs],
        ...cold.map((c) => [
          c.name,
          fmt((c.bytes ?? 0) / 1024, 1),
          c.initMs ?? `error: ${c.error ?? '?'}`,
          c.wallMs,
        ]),
      ],
    ),
  );
  if (cold.length === 0 || !cold.some((c) => c.name.startsWith('aws')))
    print('\n(run `npm run build` first to measure every function bundle)');
  if (unavailable) print(`\nNote: ${unavailable}`);
}
