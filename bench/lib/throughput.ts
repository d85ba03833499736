/**
 * Core throughput: coordination requests through `Coordinator.handle`, one message per call,
 * timed one by one. Agents complete each assigned task right after (untimed), so the fleet
 * never fills up and every request does the full work: create, decide, claim, commit, publish.
 */
import { performance } from 'node:perf_hooks';
import { LocalBus } from '../../shared/adapters/local/local-bus';
import { Coordinator } from '../../shared/core/coordinator/coordinator';
import type { Router, StateStore } from '../../shared/core/ports';
import { RulesRouter } from '../../shared/core/routing/rules-router';
import { CountingLlm } from './counting';
import { expectations, makeLlmRouter, ManualClock, registerFleet } from './reference';
import { labelAnswer, ScriptedLlm } from './scripted-llm';
import type { ReferenceScenario } from './scenario-types';
import { percentile } from './table';

export interface Timing {
  n: number;
  perSecond: number;
  p50: number;
  p99: number;
  /** Mean latency of the last quarter of the run over the first quarter's (1.00x: flat). */
  drift: number;
}

export function timingOf(samples: number[]): Timing {
  const sorted = [...samples].sort((a, b) => a - b);
  const total = samples.reduce((s, v) => s + v, 0);
  const quarter = Math.max(1, Math.floor(samples.length / 4));
  const mean = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / Math.max(1, xs.length);
  return {
    n: samples.length,
    perSecond: (samples.length / total) * 1000,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    drift: mean(samples.slice(-quarter)) / mean(samples.slice(0, quarter)),
  };
}

/** The coordination requests of the scenario (direct assignments are not routed). */
export function workload(scenario: ReferenceScenario): Array<Record<string, unknown>> {
  return scenario.tasks.filter((t) => t.message.type === 'coordination_request').map((t) => t.message);
}

export type RouterChoice = 'rules' | 'llm-instant';

export async function measureCore(
  scenario: ReferenceScenario,
  store: StateStore,
  options: { requests: number; warmup: number; router: RouterChoice },
): Promise<Timing> {
  const clock = new ManualClock(Date.now());
  const router: Router =
    options.router === 'rules'
      ? new RulesRouter()
      : makeLlmRouter(new CountingLlm(new ScriptedLlm(labelAnswer(expectations(scenario)))), clock, {
          batchSize: 1,
        });
  const coordinator = new Coordinator({ store, bus: new LocalBus(), router, clock });
  await registerFleet(coordinator, scenario);
  const messages = workload(scenario);
  const samples: number[] = [];
  for (let i = 0; i < options.warmup + options.requests; i++) {
    const base = messages[i % messages.length]!;
    const message = { ...base, task_id: `${String(base.task_id)}-${i}` };
    clock.advance(5);
    const started = performance.now();
    const [outcome] = await coordinator.handle(message);
    const elapsed = performance.now() - started;
    if (outcome?.status !== 'done') throw new Error(`request failed: ${JSON.stringify(outcome)}`);
    if (i >= options.warmup) samples.push(elapsed);
    const result = outcome.result as { status?: string; assigned_agents?: string[] };
    if (result.status === 'assigned') {
      for (const agentId of result.assigned_agents ?? []) {
        await coordinator.handle({
          type: 'task_completion',
          task_id: message.task_id,
          agent_id: agentId,
          status: 'succeeded',
        });
      }
    }
  }
  // A store that writes in the background (LevelDB: its batches behind the journal) has the
  // time it takes to catch up charged to the run, as if one request more had taken it.
  const settle = (store as { settle?: () => Promise<void> }).settle;
  if (typeof settle === 'function') {
    const started = performance.now();
    await settle.call(store);
    const timing = timingOf(samples);
    const total = samples.reduce((sum, v) => sum + v, 0) + (performance.now() - started);
    return { ...timing, perSecond: (samples.length / total) * 1000 };
  }
  return timingOf(samples);
}
