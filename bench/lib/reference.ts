/**
 * Runs the reference scenario through the real core (`Coordinator.handle`) with counting
 * decorators at the ports, and reports what decided each task and what it cost.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { LocalBus } from '../../shared/adapters/local/local-bus';
import { MemoryStateStore } from '../../shared/adapters/local/memory-store';
import { Coordinator } from '../../shared/core/coordinator/coordinator';
import type { TaskRecord } from '../../shared/core/model';
import type { Clock, Router, StateStore } from '../../shared/core/ports';
import { LlmRouter } from '../../shared/core/routing/llm-router';
import { RulesRouter } from '../../shared/core/routing/rules-router';
import {
  CountingLlm,
  CountingStore,
  diffCounts,
  zeroStoreCounts,
  type LlmCounts,
  type StoreCounts,
} from './counting';
import { labelAnswer, ScriptedLlm, type ScriptedAnswer } from './scripted-llm';
import type { ReferenceScenario, ScenarioExpectation, ScenarioTask } from './scenario-types';

/** The repository root, whether this runs from bench/lib (jest) or from a bundle in .esbuild/. */
export function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'bench', 'reference-scenario.json'))) {
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
}

export const SCENARIO_FILE = path.join(repoRoot(), 'bench', 'reference-scenario.json');

export function loadScenario(file = SCENARIO_FILE): ReferenceScenario {
  return JSON.parse(readFileSync(file, 'utf8')) as ReferenceScenario;
}

export function expectations(scenario: ReferenceScenario): Map<string, ScenarioExpectation> {
  return new Map(scenario.tasks.map((t) => [t.task_id, t.expect]));
}

/** A clock that moves only when told: runs are deterministic and budgets never roll over by accident. */
export class ManualClock implements Clock {
  constructor(public t = Date.parse('2026-01-01T00:00:00.000Z')) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

export interface LlmRouterSettings {
  fastPath: boolean;
  batchSize: number;
  callsPerMinute: number;
  tokensPerMinute: number;
}

export const DEFAULT_LLM_SETTINGS: LlmRouterSettings = {
  fastPath: true,
  batchSize: 10,
  callsPerMinute: 0,
  tokensPerMinute: 0,
};

export function makeLlmRouter(
  client: CountingLlm,
  clock: Clock,
  settings: Partial<LlmRouterSettings> = {},
): LlmRouter {
  const s = { ...DEFAULT_LLM_SETTINGS, ...settings };
  return new LlmRouter(client, {
    timeoutMs: 10_000,
    fastPath: s.fastPath,
    batchSize: s.batchSize,
    maxOutputTokens: 1024,
    circuitFailures: 5,
    circuitCooldownMs: 30_000,
    callsPerMinute: s.callsPerMinute,
    tokensPerMinute: s.tokensPerMinute,
    clock,
  });
}

export interface RunOptions {
  /** The store under the counting decorator (default: a fresh memory store). */
  store?: StateStore;
  /** `rules`: the deterministic router only; `llm`: the scripted LLM behind the LLM router. */
  router?: 'llm' | 'rules';
  llm?: Partial<LlmRouterSettings>;
  /** How the scripted LLM answers (default: each task's label). */
  answer?: ScriptedAnswer;
  /** Deliver each SQS batch as one event (default) or every message on its own. */
  sqsBatches?: boolean;
  /** Only the first n tasks. */
  limit?: number;
  /** Wraps the store exactly as the core sees it (tests record what the core touches). */
  wrapStore?: (store: StateStore) => StateStore;
}

export interface TaskOutcome {
  task_id: string;
  kind: ScenarioTask['kind'];
  expect: ScenarioExpectation;
  status: TaskRecord['status'];
  action?: string;
  assigned_agents: string[];
  router?: string;
  path?: string;
  fallback_reason?: string;
  /** Decided without asking the LLM: the fast path or a direct assignment. */
  noLlm: boolean;
  fastPath: boolean;
  matchesLabel: boolean;
  /** The first assigned agent is the label's preferred one (or the task is queued as labelled). */
  matchesPreferred: boolean;
}

export interface RunReport {
  tasks: TaskOutcome[];
  requests: number;
  llm: LlmCounts;
  /** Store round trips while handling the requests (not the completions). */
  store: StoreCounts;
  /** Store round trips of the completions that free the agents after each batch. */
  completionStore: StoreCounts;
  completions: number;
  batches: number;
}

export function matchesLabel(
  o: Pick<TaskOutcome, 'status' | 'action' | 'assigned_agents'>,
  expect: ScenarioExpectation,
): boolean {
  if (expect.action === 'queue_task') return o.status === 'queued' && o.action === 'queue_task';
  return (
    o.action === expect.action &&
    o.status === 'assigned' &&
    o.assigned_agents.length > 0 &&
    o.assigned_agents.every((a) => expect.agents.includes(a))
  );
}

export function sqsEvent(
  messages: ReadonlyArray<Record<string, unknown>>,
  prefix: string,
): { Records: unknown[] } {
  return {
    Records: messages.map((m, i) => ({
      messageId: `${prefix}-${i}`,
      receiptHandle: `rh-${prefix}-${i}`,
      body: JSON.stringify(m),
      attributes: { ApproximateReceiveCount: '1' },
      messageAttributes: {},
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:coordination',
      awsRegion: 'us-east-1',
    })),
  };
}

export async function registerFleet(coordinator: Coordinator, scenario: ReferenceScenario): Promise<void> {
  for (const a of scenario.agents) {
    const [outcome] = await coordinator.handle({
      type: 'agent_state_change',
      agent_id: a.agent_id,
      new_state: a.status,
      capabilities: a.capabilities,
      max_concurrent_tasks: a.max_concurrent_tasks,
    });
    if (outcome?.status !== 'done')
      throw new Error(`registering ${a.agent_id} failed: ${JSON.stringify(outcome)}`);
  }
}

/** Everything a run needs, built the way a runtime composition root would. */
export function buildCore(scenario: ReferenceScenario, options: RunOptions = {}) {
  const clock = new ManualClock();
  const store = new CountingStore(options.store ?? new MemoryStateStore());
  const llm = new CountingLlm(new ScriptedLlm(options.answer ?? labelAnswer(expectations(scenario))));
  const router: Router =
    options.router === 'rules' ? new RulesRouter() : makeLlmRouter(llm, clock, options.llm);
  const seen = options.wrapStore ? options.wrapStore(store) : store;
  const coordinator = new Coordinator({ store: seen, bus: new LocalBus(), router, clock });
  return { clock, store, llm, router, coordinator };
}

export async function runReferenceScenario(
  scenario: ReferenceScenario,
  options: RunOptions = {},
): Promise<RunReport> {
  const { clock, store, llm, coordinator } = buildCore(scenario, options);
  await registerFleet(coordinator, scenario);
  const tasks = scenario.tasks.slice(0, options.limit ?? scenario.tasks.length);
  const outcomes: TaskOutcome[] = [];
  let requestCounts = zeroStoreCounts();
  let completionCounts = zeroStoreCounts();
  let completions = 0;
  let batches = 0;
  for (let start = 0; start < tasks.length; start += scenario.batch_size) {
    const batch = tasks.slice(start, start + scenario.batch_size);
    batches += 1;
    clock.advance(1000);
    const before = store.snapshot();
    const deliveries =
      options.sqsBatches === false
        ? batch.map((t) => sqsEvent([t.message], t.task_id))
        : [
            sqsEvent(
              batch.map((t) => t.message),
              `batch-${batches}`,
            ),
          ];
    for (const event of deliveries) {
      const results = await coordinator.handle(event);
      const failed = results.find((r) => r.status !== 'done');
      if (failed) throw new Error(`delivery failed: ${JSON.stringify(failed)}`);
    }
    requestCounts = sum(requestCounts, diffCounts(store.snapshot(), before));

    // Read the outcome past the counter, then let the agents finish so the next batch starts fresh.
    const assigned: TaskRecord[] = [];
    for (const t of batch) {
      const record = await store.inner.getTask(t.task_id);
      if (!record) throw new Error(`task ${t.task_id} was not recorded`);
      outcomes.push(outcomeOf(t, record));
      if (record.status === 'assigned') assigned.push(record);
    }
    const beforeCompletions = store.snapshot();
    for (const record of assigned) {
      for (const agentId of record.assigned_agents) {
        const [r] = await coordinator.handle({
          type: 'task_completion',
          task_id: record.task_id,
          agent_id: agentId,
          status: 'succeeded',
        });
        if (r?.status !== 'done') throw new Error(`completion failed: ${JSON.stringify(r)}`);
        completions += 1;
      }
    }
    completionCounts = sum(completionCounts, diffCounts(store.snapshot(), beforeCompletions));
  }
  return {
    tasks: outcomes,
    requests: tasks.length,
    llm: llm.counts,
    store: requestCounts,
    completionStore: completionCounts,
    completions,
    batches,
  };
}

function outcomeOf(t: ScenarioTask, record: TaskRecord): TaskOutcome {
  const d = record.decision;
  const fastPath = d?.path.startsWith('fast_path') ?? false;
  const o: TaskOutcome = {
    task_id: t.task_id,
    kind: t.kind,
    expect: t.expect,
    status: record.status,
    assigned_agents: record.assigned_agents,
    noLlm: fastPath || d?.router === 'direct',
    fastPath,
    matchesLabel: false,
    matchesPreferred: false,
    ...(d ? { action: d.action, router: d.router, path: d.path } : {}),
    ...(d?.fallback_reason ? { fallback_reason: d.fallback_reason } : {}),
  };
  o.matchesLabel = matchesLabel(o, t.expect);
  o.matchesPreferred =
    o.matchesLabel && (t.expect.action === 'queue_task' || o.assigned_agents[0] === t.expect.agents[0]);
  return o;
}

function sum(a: StoreCounts, b: StoreCounts): StoreCounts {
  const s = zeroStoreCounts();
  for (const k of Object.keys(s) as Array<keyof StoreCounts>) s[k] = a[k] + b[k];
  return s;
}

/** The figures the bench prints and the tests check. */
export function summarize(report: RunReport) {
  const fast = report.tasks.filter((t) => t.fastPath);
  const noLlm = report.tasks.filter((t) => t.noLlm);
  const byPath = new Map<string, number>();
  for (const t of report.tasks) byPath.set(t.path ?? 'none', (byPath.get(t.path ?? 'none') ?? 0) + 1);
  const storeTotal = Object.values(report.store).reduce((n, v) => n + v, 0);
  return {
    requests: report.requests,
    noLlmShare: noLlm.length / report.requests,
    noLlm: noLlm.length,
    fastPath: fast.length,
    fastPathMatching: fast.filter((t) => t.matchesLabel).length,
    matching: report.tasks.filter((t) => t.matchesLabel).length,
    preferred: report.tasks.filter((t) => t.matchesPreferred).length,
    llmCalls: report.llm.calls,
    llmCallsPerRequest: report.llm.calls / report.requests,
    llmTasksDecided: report.llm.tasksPerCall.reduce((n, v) => n + v, 0),
    inputTokensPerRequest: report.llm.inputTokens / report.requests,
    outputTokensPerRequest: report.llm.outputTokens / report.requests,
    storeCallsPerRequest: storeTotal / report.requests,
    storePerRequest: Object.fromEntries(
      Object.entries(report.store).map(([k, v]) => [k, v / report.requests]),
    ) as Record<keyof StoreCounts, number>,
    completionStorePerCompletion:
      Object.values(report.completionStore).reduce((n, v) => n + v, 0) / Math.max(1, report.completions),
    byPath,
  };
}
