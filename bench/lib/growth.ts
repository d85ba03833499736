/**
 * Growth: N tasks through `Coordinator.handle` on one store, each completed right after, so
 * the ledger accumulates every completed task (and the scenario's tasks for a busy agent stay
 * queued). The cost of a task (request + completion) in the last quarter against the first
 * should stay flat; the records read per task are counted at the port as a machine-
 * independent check. `warmup` tasks go first, untimed, on the same store: the store adapter's
 * code warms up and one-time writes (a DynamoDB queue key's directory entry, the first time the
 * key is used) are made, neither of which is growth.
 */
import { performance } from 'node:perf_hooks';
import { LocalBus } from '../../shared/adapters/local/local-bus';
import { Coordinator } from '../../shared/core/coordinator/coordinator';
import type { StateStore } from '../../shared/core/ports';
import { RulesRouter } from '../../shared/core/routing/rules-router';
import { ItemCountingStore } from './item-counting';
import { ManualClock, registerFleet } from './reference';
import type { ReferenceScenario } from './scenario-types';
import { percentile } from './table';
import { workload } from './throughput';

export interface GrowthFigures {
  tasks: number;
  wallSeconds: number;
  /** Mean ms per task (request + completion) in the first and the last quarter. */
  firstMean: number;
  lastMean: number;
  firstP50: number;
  lastP50: number;
  /** Records read per task in the first and the last quarter. */
  firstItems: number;
  lastItems: number;
  /** Tasks left queued at the end (the scenario's tasks for its busy agent). */
  queuedAtEnd: number;
}

export async function measureGrowth(
  scenario: ReferenceScenario,
  store: StateStore,
  options: { tasks: number; warmup?: number },
): Promise<GrowthFigures> {
  const counting = new ItemCountingStore(store);
  const clock = new ManualClock(Date.now());
  const coordinator = new Coordinator({
    store: counting,
    bus: new LocalBus(),
    router: new RulesRouter(),
    clock,
  });
  await registerFleet(coordinator, scenario);
  const messages = workload(scenario);
  const n = options.tasks;
  const warmup = options.warmup ?? 0;
  const ms = new Float64Array(n);
  const items = new Float64Array(n);
  let started = performance.now();
  for (let i = -warmup; i < n; i++) {
    if (i === 0) started = performance.now();
    const base = messages[(i + warmup) % messages.length]!;
    const taskId = `${String(base.task_id)}-${i < 0 ? `w${-i}` : `g${i}`}`;
    clock.advance(5);
    counting.take();
    const t0 = performance.now();
    const [outcome] = await coordinator.handle({ ...base, task_id: taskId });
    if (outcome?.status !== 'done') throw new Error(`request failed: ${JSON.stringify(outcome)}`);
    const result = outcome.result as { status?: string; assigned_agents?: string[] };
    if (result.status === 'assigned')
      for (const agentId of result.assigned_agents ?? []) {
        const [done] = await coordinator.handle({
          type: 'task_completion',
          task_id: taskId,
          agent_id: agentId,
          status: 'succeeded',
        });
        if (done?.status !== 'done') throw new Error(`completion failed: ${JSON.stringify(done)}`);
      }
    if (i < 0) continue;
    ms[i] = performance.now() - t0;
    items[i] = counting.take().items;
  }
  const wallSeconds = (performance.now() - started) / 1000;
  const q = Math.floor(n / 4);
  const mean = (a: Float64Array) => a.reduce((s, v) => s + v, 0) / Math.max(1, a.length);
  const p50 = (a: Float64Array) =>
    percentile(
      [...a].sort((x, y) => x - y),
      50,
    );
  const first = ms.subarray(0, q);
  const last = ms.subarray(n - q);
  return {
    tasks: n,
    wallSeconds,
    firstMean: mean(first),
    lastMean: mean(last),
    firstP50: p50(first),
    lastP50: p50(last),
    firstItems: mean(items.subarray(0, q)),
    lastItems: mean(items.subarray(n - q)),
    queuedAtEnd: (await store.listTasksByStatus('queued', n)).length,
  };
}
