/**
 * The cost of one completion against the depth of the queue. A completion frees a slot and
 * drains: the freed agent should read only the heads of the queues it can serve, so tasks
 * queued for other capabilities (agents that are busy) must not cost it anything.
 *
 * Fleet: `free-1` (capability `alpha`, one slot) and four blockers (`beta-0..3`, one slot
 * each, busy). `depth` tasks are queued for the blockers (nobody free may take them) and a few
 * `alpha` tasks are queued for `free-1`. Each measured step completes `free-1`'s task (the
 * drain hands it the next `alpha` task), then, untimed, one more `alpha` task is queued.
 */
import { performance } from 'node:perf_hooks';
import { LocalBus } from '../../shared/adapters/local/local-bus';
import { Coordinator } from '../../shared/core/coordinator/coordinator';
import type { StateStore } from '../../shared/core/ports';
import { RulesRouter } from '../../shared/core/routing/rules-router';
import { ItemCountingStore, totalCalls, type ReadCounts } from './item-counting';
import { ManualClock } from './reference';
import { percentile } from './table';

export const FREE_AGENT = 'free-1';
const BLOCKERS = 4;
/** `alpha` tasks waiting for the freed agent at any time. */
const FEW = 3;

export interface QueueDepthOptions {
  depth: number;
  /** Completions measured. */
  completions: number;
  /** Of which the first ones also measure the bytes read (not timed). */
  byteSamples?: number;
}

export interface QueueDepthFigures {
  depth: number;
  completions: number;
  msMean: number;
  msP50: number;
  /** Records read from the store per completion (agents and tasks, counted at the port). */
  itemsPerCompletion: number;
  /** Store reads (calls) per completion. */
  readCallsPerCompletion: number;
  /** KB of records read per completion (JSON). */
  kbPerCompletion: number;
  /** Queued tasks the completions left in the queues (the depth plus the few, unchanged). */
  queuedAfter: number;
}

type Sqs = { Records: Array<{ messageId: string; body: string }> };

const request = (taskId: string, capability: string) => ({
  type: 'coordination_request',
  task_id: taskId,
  task_type: capability,
  priority: 'medium',
});

/** A queue-depth fixture: the fleet registered, `depth` blocked tasks and `FEW` alpha tasks queued. */
export async function queueDepthFixture(store: StateStore, depth: number) {
  const counting = new ItemCountingStore(store);
  const clock = new ManualClock(Date.parse('2026-06-01T00:00:00.000Z'));
  const coordinator = new Coordinator({
    store: counting,
    bus: new LocalBus(),
    router: new RulesRouter(),
    clock,
  });
  const handleOk = async (input: unknown) => {
    const outcomes = await coordinator.handle(input);
    for (const o of outcomes)
      if (o.status !== 'done') throw new Error(`queue-depth setup failed: ${JSON.stringify(o)}`);
    return outcomes;
  };
  await handleOk({
    type: 'agent_state_change',
    agent_id: FREE_AGENT,
    new_state: 'available',
    capabilities: ['alpha'],
    max_concurrent_tasks: 1,
  });
  for (let b = 0; b < BLOCKERS; b++) {
    await handleOk({
      type: 'agent_state_change',
      agent_id: `busy-${b}`,
      new_state: 'available',
      capabilities: [`beta-${b}`],
      max_concurrent_tasks: 1,
    });
    await handleOk(request(`hold-${b}`, `beta-${b}`)); // takes the blocker's only slot
  }
  for (let start = 0; start < depth; start += 10) {
    clock.advance(1);
    const batch: Sqs = { Records: [] };
    for (let i = start; i < Math.min(depth, start + 10); i++)
      batch.Records.push({
        messageId: `m-${i}`,
        body: JSON.stringify(request(`blocked-${i}`, `beta-${i % BLOCKERS}`)),
      });
    await handleOk(batch);
  }
  let next = 0;
  const queueAlpha = async () => {
    clock.advance(1);
    await handleOk(request(`alpha-${next++}`, 'alpha'));
  };
  await queueAlpha(); // assigned: free-1 is busy from here on
  for (let i = 0; i < FEW; i++) await queueAlpha();
  const current = async () => {
    const agent = await store.getAgent(FREE_AGENT);
    const id = agent?.active_task_ids[0];
    if (!id) throw new Error(`${FREE_AGENT} holds no task: the drain did not assign the next alpha task`);
    return id;
  };
  /** Completes free-1's task (it frees the slot and drains); returns the reads it made and its time. */
  const completeOne = async (): Promise<{ ms: number; reads: ReadCounts }> => {
    const taskId = await current();
    clock.advance(5);
    counting.take();
    const started = performance.now();
    await handleOk({ type: 'task_completion', task_id: taskId, agent_id: FREE_AGENT, status: 'succeeded' });
    const ms = performance.now() - started;
    const reads = counting.take();
    await current(); // the drain gave it the next one
    await queueAlpha();
    return { ms, reads };
  };
  return { coordinator, counting, clock, completeOne };
}

export async function measureQueueDepth(
  store: StateStore,
  options: QueueDepthOptions,
): Promise<QueueDepthFigures> {
  const f = await queueDepthFixture(store, options.depth);
  const byteSamples = Math.min(options.byteSamples ?? 20, options.completions);
  let bytes = 0;
  f.counting.measureBytes = true;
  for (let i = 0; i < byteSamples; i++) bytes += (await f.completeOne()).reads.bytes;
  f.counting.measureBytes = false;
  const ms: number[] = [];
  let items = 0;
  let calls = 0;
  for (let i = 0; i < options.completions; i++) {
    const r = await f.completeOne();
    ms.push(r.ms);
    items += r.reads.items;
    calls += totalCalls(r.reads) - (r.reads.calls.putAgent ?? 0) - (r.reads.calls.putTask ?? 0);
  }
  const queued = await store.listTasksByStatus('queued', options.depth + 100);
  const sorted = [...ms].sort((a, b) => a - b);
  return {
    depth: options.depth,
    completions: options.completions,
    msMean: ms.reduce((s, v) => s + v, 0) / ms.length,
    msP50: percentile(sorted, 50),
    itemsPerCompletion: items / options.completions,
    readCallsPerCompletion: calls / options.completions,
    kbPerCompletion: byteSamples > 0 ? bytes / byteSamples / 1024 : NaN,
    queuedAfter: queued.length,
  };
}
