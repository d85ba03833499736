/**
 * In-batch concurrency against a remote store: SQS-shaped batches of 10 coordination requests
 * for one pool of free agents through `Coordinator.handle`, against DynamoDB (dynalite) with a
 * fixed latency added to every store call, once with the batch's tasks one after another
 * (IN_BATCH_CONCURRENCY=1) and once side by side (the default, 10). The latency stands for the
 * network round trip to the service, which dynalite in this process does not have.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { LocalBus } from '../../shared/adapters/local/local-bus';
import { Coordinator } from '../../shared/core/coordinator/coordinator';
import type { StateStore } from '../../shared/core/ports';
import { RulesRouter } from '../../shared/core/routing/rules-router';
import { sqsEvent } from './reference';
import { percentile } from './table';

export interface InBatchFigures {
  concurrency: number;
  latencyMs: number;
  batches: number;
  /** Wall time of one batch of 10 requests (the completions are not timed). */
  meanMs: number;
  p50Ms: number;
  storeCallsPerBatch: number;
  /** Most store calls in flight at once during a batch. */
  maxInFlight: number;
}

/** Every port method (the atomic slot changes too) delayed by `latencyMs` before it is forwarded. */
function withLatency(
  inner: StateStore,
  latencyMs: number,
  seen: { calls: number; inFlight: number; max: number },
): StateStore {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function' || prop === 'constructor' || prop === 'close') return value;
      return async (...args: unknown[]) => {
        seen.calls += 1;
        seen.inFlight += 1;
        seen.max = Math.max(seen.max, seen.inFlight);
        try {
          await sleep(latencyMs);
          return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } finally {
          seen.inFlight -= 1;
        }
      };
    },
  });
}

export async function measureInBatch(
  store: StateStore,
  options: { concurrency: number; latencyMs: number; batches: number; tag: string },
): Promise<InBatchFigures> {
  const seen = { calls: 0, inFlight: 0, max: 0 };
  const slow = withLatency(store, options.latencyMs, seen);
  const coordinator = new Coordinator({
    store: slow,
    bus: new LocalBus(),
    router: new RulesRouter(),
    settings: { inBatchConcurrency: options.concurrency },
  });
  for (let i = 0; i < 10; i++) {
    await coordinator.handle({
      type: 'agent_state_change',
      agent_id: `${options.tag}-agent-${i}`,
      new_state: 'available',
      capabilities: [`${options.tag}-skill`],
      max_concurrent_tasks: 10,
    });
  }
  const times: number[] = [];
  let calls = 0;
  let maxInFlight = 0;
  for (let b = 0; b < options.batches; b++) {
    const messages = Array.from({ length: 10 }, (_, i) => ({
      type: 'coordination_request',
      task_id: `${options.tag}-t-${b}-${i}`,
      task_type: `${options.tag}-skill`,
    }));
    const before = seen.calls;
    seen.max = 0;
    const started = performance.now();
    const outcomes = await coordinator.handle(sqsEvent(messages, `${options.tag}-m-${b}`));
    times.push(performance.now() - started);
    calls += seen.calls - before;
    maxInFlight = Math.max(maxInFlight, seen.max);
    if (outcomes.some((o) => o.status !== 'done'))
      throw new Error(`a batch failed: ${JSON.stringify(outcomes)}`);
    // The agents finish the batch's tasks (untimed) so the next batch finds the pool free.
    for (const [i] of messages.entries()) {
      const task = await store.getTask(`${options.tag}-t-${b}-${i}`);
      for (const agentId of task?.assigned_agents ?? [])
        await coordinator.handle({
          type: 'task_completion',
          task_id: task!.task_id,
          agent_id: agentId,
          status: 'succeeded',
        });
    }
  }
  const sorted = [...times].sort((a, b) => a - b);
  return {
    concurrency: options.concurrency,
    latencyMs: options.latencyMs,
    batches: options.batches,
    meanMs: times.reduce((a, b) => a + b, 0) / times.length,
    p50Ms: percentile(sorted, 50),
    storeCallsPerBatch: calls / options.batches,
    maxInFlight,
  };
}
