/**
 * The nearest peer, `agent-squad` (npm), installed on demand into a temporary folder (never a
 * dependency of this project), driven through its orchestrator's routing (`routeRequest`) with
 * a classifier that answers instantly and agents that answer instantly.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ReferenceScenario } from './scenario-types';
import type { Tokenizer } from './prompts';
import { timingOf, workload, type Timing } from './throughput';

/** Pinned so that figures are comparable run to run; change it to measure another release. */
export const PEER_SPEC = 'agent-squad@1.0.1';
export const PEER_DIR = process.env.BENCH_PEER_DIR ?? path.join(os.tmpdir(), 'agent-coordinator-bench-peer');
const PKG_DIR = path.join(PEER_DIR, 'node_modules', 'agent-squad');

export function peerInstalled(): string | undefined {
  const pkg = path.join(PKG_DIR, 'package.json');
  if (!existsSync(pkg)) return undefined;
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
}

/** `npm i --prefix <tmp> agent-squad`; returns the installed version or throws with npm's message. */
export function installPeer(): string {
  const existing = peerInstalled();
  if (existing) return existing;
  mkdirSync(PEER_DIR, { recursive: true });
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(
    npm,
    ['i', '--prefix', PEER_DIR, '--no-audit', '--no-fund', '--ignore-scripts', '--no-save', PEER_SPEC],
    {
      encoding: 'utf8',
      timeout: 300_000,
    },
  );
  const version = peerInstalled();
  if (r.status !== 0 || !version) {
    const why = (r.error?.message ?? r.stderr ?? '')
      .trim()
      .split('\n')
      .filter((l) => /ERR|error/i.test(l))
      .slice(0, 3)
      .join(' / ');
    throw new Error(
      `could not install ${PEER_SPEC} into ${PEER_DIR}: ${why || `npm exited with ${r.status}`}`,
    );
  }
  return version;
}

/** An esbuild bundle of the peer's orchestrator (what a Lambda would ship), for the cold-start table. */
export async function bundlePeer(): Promise<string> {
  const out = path.join(PEER_DIR, 'bundle', 'index.js');
  if (existsSync(out)) return out;
  const entry = path.join(PEER_DIR, 'bench-entry.js');
  writeFileSync(entry, "module.exports = require('agent-squad');\n");
  const { build } = await import('esbuild');
  await build({
    entryPoints: [entry],
    outfile: out,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    legalComments: 'none',
    logLevel: 'error',
    absWorkingDir: PEER_DIR,
    // Optional native modules the peer's SQL storage loads lazily (not used by the orchestrator).
    external: ['better-sqlite3', '@libsql/client'],
  });
  return out;
}

// The few parts of the peer's API this benchmark uses (read from its .d.ts).
interface PeerMessage {
  role: string;
  content: Array<{ text: string }>;
}
interface PeerAgent {
  id: string;
  name: string;
}
interface PeerClassifierResult {
  selectedAgent: PeerAgent | null;
  confidence: number;
}
interface PeerSquad {
  addAgent(agent: PeerAgent): void;
  routeRequest(
    input: string,
    userId: string,
    sessionId: string,
  ): Promise<{ metadata: { agentId: string }; output: unknown }>;
}
interface PeerModule {
  AgentSquad: new (options: Record<string, unknown>) => PeerSquad;
  Agent: abstract new (options: { name: string; description: string }) => PeerAgent;
  Classifier: abstract new () => object;
  InMemoryChatStorage: new () => object;
}

export function loadPeer(): PeerModule {
  return require(PKG_DIR) as PeerModule;
}

export interface PeerRun {
  timing: Timing;
  /** Classifier invocations per request: each one is an LLM call with the peer's real classifiers. */
  classifierCallsPerRequest: number;
  /** Chat-storage calls per request (DynamoDB round trips with its DynamoDbChatStorage). */
  storageCallsPerRequest: number;
  /** Tokens of the classifier's system prompt plus the user input, per request (what its LLM classifier sends). */
  promptTokensPerRequest: number;
  /** Requests routed to the labelled agent. */
  matching: number;
}

/** The scenario's workload through the peer's orchestrator, in this process. */
export async function measurePeer(
  scenario: ReferenceScenario,
  options: { requests: number; warmup: number; tokenizer: Tokenizer },
): Promise<PeerRun> {
  const peer = loadPeer();
  const labels = new Map(scenario.tasks.map((t) => [t.task_id, t.expect.agents[0]!]));
  const idOf = (agentId: string) => agentId.toLowerCase(); // the peer derives ids from names
  const messages = workload(scenario);

  class InstantAgent extends peer.Agent {
    async processRequest(): Promise<PeerMessage> {
      return { role: 'assistant', content: [{ text: 'accepted' }] };
    }
  }
  let classifierCalls = 0;
  let promptTokens = 0;
  let countTokens = true;
  class InstantClassifier extends peer.Classifier {
    async processRequest(inputText: string): Promise<PeerClassifierResult> {
      classifierCalls += 1;
      const self = this as unknown as { systemPrompt: string; agents: Record<string, PeerAgent> };
      if (countTokens)
        promptTokens += options.tokenizer.count(self.systemPrompt) + options.tokenizer.count(inputText);
      const taskId = (JSON.parse(inputText) as { task_id: string }).task_id.replace(/-\d+$/, '');
      const agent = self.agents[idOf(labels.get(taskId) ?? '')] ?? null;
      return { selectedAgent: agent, confidence: 1 };
    }
  }
  let storageCalls = 0;
  const storage = new Proxy(new peer.InMemoryChatStorage(), {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        storageCalls += 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  const squad = new peer.AgentSquad({
    classifier: new InstantClassifier(),
    storage,
    config: { LOG_AGENT_CHAT: false, LOG_CLASSIFIER_CHAT: false, LOG_EXECUTION_TIMES: false },
    logger: { info() {}, warn() {}, error() {}, debug() {}, log() {} },
  });
  for (const a of scenario.agents) {
    squad.addAgent(
      new InstantAgent({ name: a.agent_id, description: `Handles ${a.capabilities.join(', ')}.` }),
    );
  }

  // Tokens and calls over one pass of the workload; timings over warmup + requests.
  const samples: number[] = [];
  let matching = 0;
  for (let i = 0; i < options.warmup + options.requests; i++) {
    if (i === messages.length) countTokens = false;
    const base = messages[i % messages.length]!;
    const message = { ...base, task_id: `${String(base.task_id)}-${i}` };
    const input = JSON.stringify(message);
    const started = performance.now();
    const response = await squad.routeRequest(input, String(base.agent_id ?? 'user'), message.task_id);
    const elapsed = performance.now() - started;
    if (i >= options.warmup) samples.push(elapsed);
    if (i < messages.length && response.metadata.agentId === idOf(labels.get(String(base.task_id)) ?? ''))
      matching += 1;
  }
  const total = options.warmup + options.requests;
  const onePass = Math.min(total, messages.length);
  return {
    timing: timingOf(samples),
    classifierCallsPerRequest: classifierCalls / total,
    storageCallsPerRequest: storageCalls / total,
    promptTokensPerRequest: promptTokens / onePass,
    matching,
  };
}
