/**
 * A completion drains only the queues the freed agent can serve: what it reads does not grow
 * with the other queues, even where free agents could serve them (tasks waiting for a
 * dependency). A DynamoDB queue listing is a query per shard, and its directory of queue keys
 * keeps every key ever used, so a completion that read every servable queue cost
 * (queue keys x shards) queries. The end of a task others wait for still drains their queues at
 * once. Counted at the port on memory, LevelDB and DynamoDB (dynalite); no timings.
 */
import { LocalBus } from '../../shared/adapters/local/local-bus';
import { Coordinator } from '../../shared/core/coordinator/coordinator';
import type { Router, RouterResult, RoutingRequest, StateStore } from '../../shared/core/ports';
import { RulesRouter } from '../../shared/core/routing/rules-router';
import { ItemCountingStore } from '../../bench/lib/item-counting';
import { ManualClock } from '../../bench/lib/reference';
import { StoreFactory, type StoreKind } from '../../bench/lib/stores';

const factory = new StoreFactory();

/** The rules' decisions, with the dependencies a task names in `task_data.after` and a rejection for `task_data.reject` (as an LLM may decide). */
class DependingRouter implements Router {
  readonly name = 'depending';
  private readonly rules = new RulesRouter();
  async decide(request: RoutingRequest): Promise<RouterResult> {
    const result = await this.rules.decide(request);
    const data = request.task.task_data as { after?: string[]; reject?: boolean } | undefined;
    if (data?.reject)
      return { ...result, decision: { ...result.decision, action: 'reject_task', target_agents: [] } };
    return data?.after ? { ...result, decision: { ...result.decision, dependencies: data.after } } : result;
  }
}
afterAll(() => factory.stop());

/** A fleet with `waiting` queues of tasks that wait for task `dep` (free agents could serve them). */
async function fixture(store: StateStore, waiting: number) {
  const counting = new ItemCountingStore(store);
  const clock = new ManualClock(Date.parse('2026-06-01T00:00:00.000Z'));
  const coordinator = new Coordinator({
    store: counting,
    bus: new LocalBus(),
    router: new DependingRouter(),
    clock,
  });
  const ok = async (input: Record<string, unknown>) => {
    const [outcome] = await coordinator.handle(input);
    if (outcome?.status !== 'done') throw new Error(`setup failed: ${JSON.stringify(outcome)}`);
    clock.advance(10);
    return outcome.result as { status: string; assigned_agents?: string[] };
  };
  const agent = (id: string, capability: string) =>
    ok({ type: 'agent_state_change', agent_id: id, new_state: 'available', capabilities: [capability] });
  await agent('worker', 'work');
  await agent('holder', 'hold');
  for (let i = 0; i < waiting; i++) await agent(`free-${i}`, `cap-${i}`);
  await ok({ type: 'coordination_request', task_id: 'dep', task_type: 'hold' });
  for (let i = 0; i < waiting; i++) {
    const r = await ok({
      type: 'coordination_request',
      task_id: `waits-${i}`,
      task_type: `cap-${i}`,
      task_data: { after: ['dep'] },
    });
    expect(r.status).toBe('queued');
  }
  /** Completes one `work` task on the worker; what the completion read, by port method. */
  const completeWork = async (n: number) => {
    await ok({ type: 'coordination_request', task_id: `work-${n}`, task_type: 'work' });
    counting.take();
    await ok({ type: 'task_completion', task_id: `work-${n}`, agent_id: 'worker' });
    return counting.take().calls;
  };
  return { coordinator, counting, ok, completeWork };
}

const kinds: StoreKind[] = ['memory', 'level', 'dynalite'];

describe.each(kinds)('the drain after a completion, on the %s store', (kind) => {
  test('reads only the queues the freed agent can serve, however many others free agents could', async () => {
    const few = await factory.open(kind);
    const many = await factory.open(kind);
    try {
      const a = await fixture(few.store, 0);
      const b = await fixture(many.store, 12);
      for (let n = 0; n < 3; n++) {
        const before = await a.completeWork(n);
        const after = await b.completeWork(n);
        // The same reads, but the registry: with no queue at all the drain has nothing to look at.
        const { listAgents: registryReads = 0, ...others } = after;
        const { listAgents: _none, ...othersBefore } = before;
        expect(others).toEqual(othersBefore);
        expect(registryReads).toBeLessThanOrEqual(1);
      }
      // The twelve still wait for their dependency: nothing was assigned behind its back.
      const queued = await many.store.listTasksByStatus('queued', 100);
      expect(queued.map((t) => t.task_id).sort()).toEqual(
        Array.from({ length: 12 }, (_, i) => `waits-${i}`).sort(),
      );
    } finally {
      await few.close();
      await many.close();
    }
  }, 120_000);

  test('the end of a task others wait for drains their queues at once', async () => {
    const opened = await factory.open(kind);
    try {
      const f = await fixture(opened.store, 4);
      expect((await opened.store.getTask('dep'))?.awaited).toBe(true);
      const done = (
        await f.coordinator.handle({ type: 'task_completion', task_id: 'dep', agent_id: 'holder' })
      )[0];
      expect(done?.status).toBe('done');
      expect((done as { result: { assigned: string[] } }).result.assigned.sort()).toEqual(
        ['waits-0', 'waits-1', 'waits-2', 'waits-3'].sort(),
      );
      for (let i = 0; i < 4; i++) {
        const t = await opened.store.getTask(`waits-${i}`);
        expect(t?.status).toBe('assigned');
        expect(t?.assigned_agents).toEqual([`free-${i}`]);
      }
    } finally {
      await opened.close();
    }
  }, 120_000);

  test('a task whose dependency failed fails at once, not at a later drain', async () => {
    const opened = await factory.open(kind);
    try {
      const f = await fixture(opened.store, 0);
      // A request that depends on a rejected task fails as soon as it is decided.
      await f.ok({
        type: 'coordination_request',
        task_id: 'nobody',
        task_type: 'work',
        task_data: { reject: true },
      });
      expect((await opened.store.getTask('nobody'))?.status).toBe('rejected');
      const r = await f.ok({
        type: 'coordination_request',
        task_id: 'after-nobody',
        task_type: 'work',
        task_data: { after: ['nobody'] },
      });
      expect(r.status).toBe('failed');
      expect((await opened.store.getTask('after-nobody'))?.error ?? '').toMatch(/dependency nobody rejected/);
    } finally {
      await opened.close();
    }
  }, 120_000);
});
