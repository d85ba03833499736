/**
 * 16 (or 64) concurrent request-and-complete loops over one small agent pool, as concurrent
 * Lambda instances would run them. After quiescence (no sweep: the sweep would repair what
 * this checks) every agent's slots must equal the tasks assigned to it, no task may be lost or
 * assigned twice. It also counts optimistic-write conflicts and the slowest request.
 */
import { Coordinator } from '../../shared/core/coordinator/coordinator';
import { RulesRouter } from '../../shared/core/routing/rules-router';
import {
  checkInvariants,
  InterleavingStore,
  ManualClock,
  RecordingBus,
  rng,
  type Invariants,
  type StoreFixture,
} from './harness';

export interface ConcurrencyFigures extends Invariants {
  requests: number;
  /** Slots held by tasks that are not assigned to the agent (completed, queued, failed). */
  leakedSlots: number;
  conflicts: number;
  /** Store round trips of the slowest request, a machine-independent stand-in for its latency. */
  maxCallsPerRequest: number;
}

export async function concurrentLoops(
  fixture: StoreFixture,
  opts: { workers: number; loopsPerWorker: number; agents: number; slots: number; seed: number },
): Promise<ConcurrencyFigures> {
  const { store: base, close } = await fixture.open();
  const random = rng(opts.seed);
  const store = new InterleavingStore(base, random);
  const clock = new ManualClock();
  const bus = new RecordingBus();
  const instances = Array.from(
    { length: opts.workers },
    () => new Coordinator({ store, bus, router: new RulesRouter(), clock }),
  );
  const setup = instances[0]!;
  for (let i = 0; i < opts.agents; i++)
    await setup.handle({
      type: 'agent_state_change',
      agent_id: `pool-${i}`,
      new_state: 'available',
      capabilities: ['pooled'],
      max_concurrent_tasks: opts.slots,
    });
  const taskIds = new Set<string>();
  let maxCalls = 0;
  const loop = async (w: number) => {
    const c = instances[w]!;
    for (let i = 0; i < opts.loopsPerWorker; i++) {
      const id = `c${w}-${i}`;
      taskIds.add(id);
      const before = c.storeStats.reads + c.storeStats.writes;
      for (let tries = 0; tries < 50; tries++) {
        const [o] = await c.handle({ type: 'coordination_request', task_id: id, task_type: 'pooled' });
        if (o?.status !== 'retry') break;
      }
      maxCalls = Math.max(maxCalls, c.storeStats.reads + c.storeStats.writes - before);
      const task = await base.getTask(id);
      if (task?.status === 'assigned')
        for (const agent of task.assigned_agents)
          await c.handle({ type: 'task_completion', task_id: id, agent_id: agent });
    }
  };
  await Promise.all(instances.map((_, w) => loop(w)));
  // Quiescence without a sweep: complete whatever the drains assigned until nothing is left.
  for (let round = 0; round < 1000; round++) {
    const assigned = await base.listTasksByStatus('assigned', 10_000);
    if (assigned.length === 0) break;
    for (const t of assigned)
      for (const agent of t.assigned_agents)
        await setup.handle({ type: 'task_completion', task_id: t.task_id, agent_id: agent });
  }
  const inv = await checkInvariants(base, bus, taskIds);
  const assignedNow = new Set((await base.listTasksByStatus('assigned', 10_000)).map((t) => t.task_id));
  let leakedSlots = 0;
  for (const agent of await base.listAgents())
    leakedSlots += agent.active_task_ids.filter((id) => !assignedNow.has(id)).length;
  await close();
  return {
    ...inv,
    requests: taskIds.size,
    leakedSlots,
    conflicts: instances.reduce((n, c) => n + c.storeStats.conflicts, 0),
    maxCallsPerRequest: maxCalls,
  };
}
