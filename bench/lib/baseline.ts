/**
 * `Coordinator.handle` against the minimal loop (minimal-loop.ts) on the same workload in the
 * same run: memory store, rules router, sequential, each assigned task completed right after.
 * Rounds alternate the two so both see the same machine state; the medians are reported.
 */
import { performance } from 'node:perf_hooks';
import { LocalBus } from '../../shared/adapters/local/local-bus';
import { MemoryStateStore } from '../../shared/adapters/local/memory-store';
import { Coordinator } from '../../shared/core/coordinator/coordinator';
import { RulesRouter } from '../../shared/core/routing/rules-router';
import { cpuMs, loopTiming, measureMinimalLoop, type LoopTiming } from './minimal-loop';
import { ManualClock, registerFleet } from './reference';
import type { ReferenceScenario } from './scenario-types';
import { median } from './table';
import { workload } from './throughput';

/** `measureCore` with the rules router on a fresh memory store, plus the wall rate with completions. */
export async function measureCoreLoop(
  scenario: ReferenceScenario,
  options: { requests: number; warmup: number },
): Promise<LoopTiming> {
  const clock = new ManualClock(Date.now());
  const coordinator = new Coordinator({
    store: new MemoryStateStore(),
    bus: new LocalBus(),
    router: new RulesRouter(),
    clock,
  });
  await registerFleet(coordinator, scenario);
  const messages = workload(scenario);
  const samples: number[] = [];
  let wallStart = 0;
  let cpuStart = 0;
  for (let i = 0; i < options.warmup + options.requests; i++) {
    if (i === options.warmup) {
      wallStart = performance.now();
      cpuStart = cpuMs();
    }
    const base = messages[i % messages.length]!;
    const message = { ...base, task_id: `${String(base.task_id)}-${i}` };
    clock.advance(5);
    const started = performance.now();
    const [outcome] = await coordinator.handle(message);
    const elapsed = performance.now() - started;
    if (outcome?.status !== 'done') throw new Error(`request failed: ${JSON.stringify(outcome)}`);
    if (i >= options.warmup) samples.push(elapsed);
    const result = outcome.result as { status?: string; assigned_agents?: string[] };
    if (result.status === 'assigned')
      for (const agentId of result.assigned_agents ?? [])
        await coordinator.handle({
          type: 'task_completion',
          task_id: message.task_id,
          agent_id: agentId,
          status: 'succeeded',
        });
  }
  return loopTiming(samples, performance.now() - wallStart, cpuMs() - cpuStart);
}

export interface BaselineFigures {
  rounds: number;
  core: LoopTiming;
  minimal: LoopTiming;
  /** Per round: minimal / core requests per second. */
  ratios: number[];
}

const medianTiming = (runs: LoopTiming[]): LoopTiming => ({
  n: runs[0]!.n,
  perSecond: median(runs.map((r) => r.perSecond)),
  p50: median(runs.map((r) => r.p50)),
  p99: median(runs.map((r) => r.p99)),
  drift: median(runs.map((r) => r.drift)),
  withCompletionsPerSecond: median(runs.map((r) => r.withCompletionsPerSecond)),
  cpuPerSecond: median(runs.map((r) => r.cpuPerSecond)),
  slowShare: median(runs.map((r) => r.slowShare)),
  slowTimeShare: median(runs.map((r) => r.slowTimeShare)),
});

export async function measureBaseline(
  scenario: ReferenceScenario,
  options: { requests: number; warmup: number; rounds: number },
): Promise<BaselineFigures> {
  const core: LoopTiming[] = [];
  const minimal: LoopTiming[] = [];
  for (let r = 0; r < options.rounds; r++) {
    minimal.push(measureMinimalLoop(scenario, options));
    core.push(await measureCoreLoop(scenario, options));
  }
  return {
    rounds: options.rounds,
    core: medianTiming(core),
    minimal: medianTiming(minimal),
    ratios: core.map((c, i) => minimal[i]!.perSecond / c.perSecond),
  };
}
