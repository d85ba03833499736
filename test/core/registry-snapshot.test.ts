/**
 * REGISTRY_SNAPSHOT_TTL: an instance routes on its snapshot of the registry, read at most once
 * per TTL (counted at the port), kept current with its own writes; a stale view of another
 * instance's writes never assigns to a full or busy agent (the claim is conditional).
 */
import { LocalBus } from '../../shared/adapters/local/local-bus';
import { MemoryStateStore } from '../../shared/adapters/local/memory-store';
import { Coordinator } from '../../shared/core/coordinator/coordinator';
import { RulesRouter } from '../../shared/core/routing/rules-router';

function counting(store: MemoryStateStore) {
  const calls = { listAgents: 0 };
  const list = store.listAgents.bind(store);
  store.listAgents = async () => {
    calls.listAgents += 1;
    return list();
  };
  return calls;
}

test('routing reads the registry once per TTL, and sees its own writes at once', async () => {
  const store = new MemoryStateStore();
  const calls = counting(store);
  const clock = { t: 0, now: () => clock.t };
  const c = new Coordinator({
    store,
    bus: new LocalBus(),
    router: new RulesRouter(),
    clock,
    settings: { registrySnapshotMs: 1000 },
  });
  await c.handle({
    type: 'agent_state_change',
    agent_id: 'a',
    new_state: 'available',
    capabilities: ['x'],
    max_concurrent_tasks: 100,
  });
  const before = calls.listAgents;
  for (let i = 0; i < 20; i++)
    await c.handle({ type: 'coordination_request', task_id: `t${i}`, task_type: 'x' });
  expect(calls.listAgents - before).toBeLessThanOrEqual(1);
  // A registration through this instance is routed to at once, within the TTL.
  await c.handle({ type: 'agent_state_change', agent_id: 'b', new_state: 'available', capabilities: ['y'] });
  await c.handle({ type: 'coordination_request', task_id: 'ty', task_type: 'y' });
  expect((await c.findTask('ty'))?.assigned_agents).toEqual(['b']);
  expect(calls.listAgents - before).toBeLessThanOrEqual(1);
  clock.t += 1001;
  await c.handle({ type: 'coordination_request', task_id: 'later', task_type: 'x' });
  expect(calls.listAgents - before).toBe(2);
});

test("another instance's change shows within the TTL, and a stale view never overfills an agent", async () => {
  const store = new MemoryStateStore();
  const clock = { t: 0, now: () => clock.t };
  const make = () =>
    new Coordinator({
      store,
      bus: new LocalBus(),
      router: new RulesRouter(),
      clock,
      settings: { registrySnapshotMs: 1000 },
    });
  const a = make();
  const b = make();
  await a.handle({
    type: 'agent_state_change',
    agent_id: 'w1',
    new_state: 'available',
    capabilities: ['x'],
    max_concurrent_tasks: 1,
  });
  await a.handle({
    type: 'agent_state_change',
    agent_id: 'w2',
    new_state: 'available',
    capabilities: ['x'],
    max_concurrent_tasks: 1,
  });
  await b.handle({ type: 'coordination_request', task_id: 'b1', task_type: 'x' }); // b's snapshot: both free
  await a.handle({ type: 'coordination_request', task_id: 'a1', task_type: 'x' }); // a fills one
  await b.handle({ type: 'coordination_request', task_id: 'b2', task_type: 'x' }); // b's view is stale
  const agents = await a.listAgents();
  for (const agent of agents) expect(agent.active_task_ids.length).toBeLessThanOrEqual(1);
  const statuses = await Promise.all(['b1', 'a1', 'b2'].map(async (id) => (await a.findTask(id))?.status));
  expect(statuses.filter((st) => st === 'assigned')).toHaveLength(2);
});
