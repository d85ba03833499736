/**
 * Concurrency: W workers (separate `Coordinator` instances over one store, as W Lambda
 * instances would be) each run request-and-complete loops on one pool of agents. Reported:
 * wall throughput, request latency (p50/p99/max, retries included), optimistic-write
 * conflicts per request, and the invariants after quiescence (checked with the fault suite's
 * `checkInvariants`: no double assignment, slots equal the ledger, nothing lost).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import { Coordinator } from '../../shared/core/coordinator/coordinator';
import type { OutboundEvent } from '../../shared/core/model';
import type { Logger, Router, StateStore } from '../../shared/core/ports';
import { RulesRouter } from '../../shared/core/routing/rules-router';
import { checkInvariants, RecordingBus, type Invariants } from '../../test/faults/harness';
import { percentile } from './table';

export const POOL_CAPABILITY = 'pooled';

/** Records what was published without the fault suite's deep copy (events are immutable values). */
class LightRecordingBus extends RecordingBus {
  override async publish(events: readonly OutboundEvent[]): Promise<void> {
    this.raw.push(...events);
    await this.inner.publish(events);
  }
}

export interface ConcurrencyOptions {
  workers: number;
  loopsPerWorker: number;
  /** The pool: this many agents with `slots` each (enough for every worker's one task at a time). */
  agents: number;
  slots: number;
  /** Default: the core's rules router. */
  router?: Router;
  /** Default: none (the core logs nothing). */
  logger?: Logger;
}

export interface ConcurrencyFigures extends Invariants {
  workers: number;
  requests: number;
  wallSeconds: number;
  perSecond: number;
  p50: number;
  p99: number;
  max: number;
  conflicts: number;
  conflictsPerRequest: number;
  /** Requests answered `retry` (a queue would redeliver them), redelivered here at once. */
  retries: number;
  /** Completions answered `retry` (their optimistic loop ran out of attempts), redelivered at once. */
  completionRetries: number;
  /** Requests that ended queued (no free slot when decided); a drain assigned them later. */
  queued: number;
  /** Tasks still assigned after the loops and the agents' completions, completed at quiescence (expected 0). */
  completedAtQuiescence: number;
}

export async function measureConcurrency(
  store: StateStore,
  options: ConcurrencyOptions,
): Promise<ConcurrencyFigures> {
  const bus = new LightRecordingBus();
  const router = options.router ?? new RulesRouter();
  const instances = Array.from(
    { length: options.workers },
    () => new Coordinator({ store, bus, router, ...(options.logger ? { logger: options.logger } : {}) }),
  );
  const setup = instances[0]!;
  for (let i = 0; i < options.agents; i++) {
    const [o] = await setup.handle({
      type: 'agent_state_change',
      agent_id: `pool-${String(i).padStart(2, '0')}`,
      new_state: 'available',
      capabilities: [POOL_CAPABILITY],
      max_concurrent_tasks: options.slots,
    });
    if (o?.status !== 'done') throw new Error(`registering the pool failed: ${JSON.stringify(o)}`);
  }
  const baseConflicts = instances.reduce((n, c) => n + c.storeStats.conflicts, 0);
  const taskIds = new Set<string>();
  const latencies: number[] = [];
  let retries = 0;
  let queued = 0;
  // The agents: every accepted assignment (from a request or from a drain) is completed by
  // the next worker that finishes a request, as a prompt agent would. An agent sees an
  // assignment once the delivery that published it has returned: a bus takes milliseconds to
  // deliver, while here the subscriber runs inside the publish, and an agent completing the task
  // before the publisher's next write (clearing the outbox) is a race a real bus makes rare.
  const pending: Array<{ taskId: string; agentId: string }> = [];
  const delivery = new AsyncLocalStorage<Array<{ taskId: string; agentId: string }>>();
  bus.inner.subscribe((e) => {
    if (e.type === 'Task Assignment' && e.target_agent)
      (delivery.getStore() ?? pending).push({ taskId: e.task_id, agentId: e.target_agent });
  });
  const handle = async (c: Coordinator, message: Record<string, unknown>) => {
    const published: Array<{ taskId: string; agentId: string }> = [];
    try {
      return await delivery.run(published, () => c.handle(message));
    } finally {
      pending.push(...published);
    }
  };
  let completionRetries = 0;
  const completePending = async (c: Coordinator) => {
    for (let next = pending.shift(); next; next = pending.shift()) {
      for (let tries = 0; ; tries++) {
        const [done] = await handle(c, {
          type: 'task_completion',
          task_id: next.taskId,
          agent_id: next.agentId,
          status: 'succeeded',
        });
        if (done?.status === 'done') break;
        if (done?.status !== 'retry' || tries >= 50)
          throw new Error(`completion of ${next.taskId} failed: ${JSON.stringify(done)}`);
        completionRetries += 1;
      }
    }
  };
  const loop = async (w: number) => {
    const c = instances[w]!;
    for (let i = 0; i < options.loopsPerWorker; i++) {
      const taskId = `w${w}-${i}`;
      taskIds.add(taskId);
      const started = performance.now();
      let result: { status?: string } | undefined;
      for (let tries = 0; tries < 50; tries++) {
        const [o] = await handle(c, {
          type: 'coordination_request',
          task_id: taskId,
          task_type: POOL_CAPABILITY,
        });
        if (o?.status === 'done') {
          result = o.result as typeof result;
          break;
        }
        if (o?.status !== 'retry') throw new Error(`request ${taskId} failed: ${JSON.stringify(o)}`);
        retries += 1;
      }
      latencies.push(performance.now() - started);
      if (result?.status !== 'assigned') queued += 1;
      await completePending(c);
    }
  };
  const started = performance.now();
  await Promise.all(instances.map((_, w) => loop(w)));
  await completePending(setup);
  const wallSeconds = (performance.now() - started) / 1000;
  const conflicts = instances.reduce((n, c) => n + c.storeStats.conflicts, 0) - baseConflicts;
  // Quiescence (no sweep: the sweep would repair what this checks): complete what drains assigned.
  let completedAtQuiescence = 0;
  for (let round = 0; round < 100; round++) {
    const assigned = await store.listTasksByStatus('assigned', 10_000);
    if (assigned.length === 0) break;
    for (const t of assigned)
      for (const agentId of t.assigned_agents) {
        await setup.handle({
          type: 'task_completion',
          task_id: t.task_id,
          agent_id: agentId,
          status: 'succeeded',
        });
        completedAtQuiescence += 1;
      }
  }
  const invariants = await checkInvariants(store, bus, taskIds);
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    ...invariants,
    workers: options.workers,
    requests: taskIds.size,
    wallSeconds,
    perSecond: taskIds.size / wallSeconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? NaN,
    conflicts,
    conflictsPerRequest: conflicts / Math.max(1, taskIds.size),
    retries,
    completionRetries,
    queued,
    completedAtQuiescence,
  };
}
