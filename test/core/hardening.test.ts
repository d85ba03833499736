/**
 * Issue 12's core defects, each reproduced: one large or uncommittable task must not block a
 * queue, the sweep must reach every task that needs it and survive one that fails, slots must
 * not leak under concurrency, and a free agent must find the oldest task it can take.
 */
import { LocalBus } from '../../shared/adapters/local/local-bus';
import { MemoryStateStore } from '../../shared/adapters/local/memory-store';
import { Coordinator } from '../../shared/core/coordinator/coordinator';
import { PublishError, ValidationError } from '../../shared/core/errors';
import type { OutboundEvent, PayloadRef, TaskRecord } from '../../shared/core/model';
import type { EventBus, PayloadStore, Router, StateStore } from '../../shared/core/ports';
import { RulesRouter } from '../../shared/core/routing/rules-router';
import { createHash } from 'node:crypto';

const T0 = Date.parse('2026-06-01T00:00:00Z');

/** A memory store that answers to another adapter's name (so that adapter's limits apply). */
function namedStore(name: string): MemoryStateStore {
  return Object.defineProperty(new MemoryStateStore(), 'name', { value: name });
}

function setup(opts: { store?: StateStore; bus?: EventBus; router?: Router; payloads?: PayloadStore } = {}) {
  const clock = { t: T0, now: () => clock.t };
  const store = opts.store ?? new MemoryStateStore();
  const bus = new LocalBus();
  const coordinator = new Coordinator({
    store,
    bus: opts.bus ?? bus,
    router: opts.router ?? new RulesRouter(),
    clock,
    ...(opts.payloads ? { payloads: opts.payloads } : {}),
  });
  const send = async (message: object, id?: string) =>
    (await coordinator.handle(message, id ? { id } : {}))[0]!;
  const register = (agent_id: string, capabilities: string[], max = 2, new_state = 'available') =>
    send({ type: 'agent_state_change', agent_id, new_state, capabilities, max_concurrent_tasks: max });
  const request = (task_id: string, task_type: string, extra: object = {}) =>
    send({ type: 'coordination_request', task_id, task_type, agent_id: 'req', ...extra });
  return { clock, store, bus, coordinator, send, register, request };
}

describe('large task data', () => {
  test('a task sent to 16 agents stores its data once: the outbox holds envelopes, the bus gets the data', async () => {
    let stored: TaskRecord | undefined;
    const store = new MemoryStateStore();
    const put = store.putTask.bind(store);
    store.putTask = async (t, v) => {
      if (t.status === 'assigned' && t.outbox.length > 0) stored = structuredClone(t);
      return put(t, v);
    };
    const targets = Array.from({ length: 16 }, (_, i) => `a${i}`);
    const router: Router = {
      name: 'fan-out',
      decide: async () => ({
        router: 'llm',
        path: 'llm',
        decision: {
          action: 'assign_task',
          target_agents: targets,
          task_distribution: {},
          dependencies: [],
          reasoning: 'all',
        },
      }),
    };
    const { register, request, bus } = setup({ store, router });
    for (const a of targets) await register(a, ['big']);
    const data = { blob: 'x'.repeat(20_000) };
    expect((await request('big-1', 'big', { task_data: data })).status).toBe('done');
    expect(stored!.outbox).toHaveLength(16);
    expect(JSON.stringify(stored!.outbox)).not.toContain('xxxx');
    const published = bus.list({ task_id: 'big-1', type: 'Task Assignment' });
    expect(published).toHaveLength(16);
    for (const e of published)
      expect((e.detail.task_message as { task_data: unknown }).task_data).toEqual(data);
    expect(published[0]!.detail.contract_version).toBe('1');
  });

  test('over the DynamoDB item or EventBridge entry limit, a request is refused before its task exists, naming limit and size', async () => {
    const { request, coordinator } = setup({ store: namedStore('dynamodb') });
    const o = await request('huge', 'x', { task_data: { blob: 'y'.repeat(300_000) } });
    expect(o).toMatchObject({ status: 'dead_letter', code: 'PAYLOAD_TOO_LARGE' });
    expect((o as { reason: string }).reason).toMatch(
      /task_data is 300\d+ bytes: over the \d+ bytes .*DynamoDB item size limit \(400 KB\).*PAYLOAD_BUCKET/,
    );
    expect(await coordinator.findTask('huge')).toBeUndefined();

    const onEventBridge = setup({ bus: Object.assign(new LocalBus(), { name: 'eventbridge+sqs' }) });
    const e = await onEventBridge.request('eb', 'x', { task_data: { blob: 'y'.repeat(255_000) } });
    expect((e as { reason: string }).reason).toContain('EventBridge entry size limit (256 KB)');
  });

  test('with a payload bucket, large task data is claim-checked: the task and the assignment carry the reference', async () => {
    const objects = new Map<string, Uint8Array>();
    const payloads: PayloadStore = {
      name: 'test-bucket',
      put: async (key, body): Promise<PayloadRef> => {
        objects.set(key, body);
        const sha256 = createHash('sha256').update(body).digest('hex');
        return { uri: `mem://${key}`, size: body.length, sha256, content_type: 'application/json' };
      },
      get: async (uri) => objects.get(uri.slice(6))!,
    };
    const { register, request, coordinator, bus } = setup({ store: namedStore('dynamodb'), payloads });
    await register('w', ['x']);
    const data = { blob: 'z'.repeat(300_000) };
    expect((await request('cc', 'x', { task_data: data })).status).toBe('done');
    const task = (await coordinator.findTask('cc'))!;
    expect(task.task_data).toBeUndefined();
    expect(task.task_data_ref).toMatchObject({
      uri: expect.stringMatching(/^mem:\/\/tasks\/[0-9a-f]{64}\.json$/),
    });
    const [assignment] = bus.list({ task_id: 'cc', type: 'Task Assignment' });
    const message = assignment!.detail.task_message as { task_data?: unknown; task_data_ref: PayloadRef };
    expect(message.task_data).toBeUndefined();
    expect(message.task_data_ref).toEqual(task.task_data_ref);
    const body = await payloads.get(message.task_data_ref.uri);
    expect(JSON.parse(Buffer.from(body).toString('utf8'))).toEqual(data);
  });
});

test('a queued task that can never be committed is failed after MAX_COMMIT_FAILURES and does not block its queue', async () => {
  const store = new MemoryStateStore();
  const put = store.putTask.bind(store);
  store.putTask = async (t, v) => {
    if (t.task_id === 'poison' && t.status === 'assigned')
      throw new ValidationError('item too large for the store');
    return put(t, v);
  };
  const { register, request, send, coordinator, bus } = setup({ store });
  await register('w', ['x'], 1, 'busy');
  await request('poison', 'x', { priority: 'critical' });
  for (const id of ['g1', 'g2', 'g3']) await request(id, 'x', { priority: 'low' });
  // Each time the agent frees up, the poison task is tried first and fails; the next task is
  // assigned all the same; at the third failure the poison task is failed for good.
  await register('w', ['x'], 1, 'available');
  expect((await coordinator.findTask('g1'))?.status).toBe('assigned');
  await send({ type: 'task_completion', task_id: 'g1', agent_id: 'w' });
  expect((await coordinator.findTask('g2'))?.status).toBe('assigned');
  await send({ type: 'task_completion', task_id: 'g2', agent_id: 'w' });
  expect((await coordinator.findTask('g3'))?.status).toBe('assigned');
  expect(await coordinator.findTask('poison')).toMatchObject({ status: 'failed', commit_failures: 3 });
  expect((await coordinator.findTask('poison'))?.error).toContain(
    'could not be committed 3 times: item too large',
  );
  expect(bus.list({ task_id: 'poison', type: 'Task Failed' })).toHaveLength(1);
});

describe('sweep', () => {
  test('one event the bus refuses for good does not stop the sweep: the rest is republished, deadlines requeued, queue drained', async () => {
    const inner = new LocalBus();
    let down = true;
    const bus: EventBus = {
      name: 'flaky',
      publish: async (events: readonly OutboundEvent[]) => {
        if (down || events.some((e) => e.task_id === 'refused')) throw new PublishError('entry too large');
        return inner.publish(events);
      },
    };
    const { register, request, send, clock, coordinator } = setup({ bus });
    await register('w', ['x'], 5);
    for (const id of ['refused', 'late', 'other']) await request(id, 'x');
    down = false;
    clock.t += 31 * 60_000; // past the 30-minute default deadline
    await register('w', ['x'], 5); // heartbeat
    const o = await send({ type: 'sweep' });
    expect(o.status).toBe('done');
    const result = (o as { result: { failures?: Array<{ task_id?: string }>; requeued: string[] } }).result;
    expect(result.failures?.some((f) => f.task_id === 'refused')).toBe(true);
    expect(result.requeued).toEqual(expect.arrayContaining(['late', 'other']));
    expect(inner.list({ task_id: 'other', type: 'Task Assignment' }).length).toBeGreaterThan(0);
    expect((await coordinator.findTask('late'))?.attempts).toBe(2);
  });

  test('reaches every task that needs it, past the old 1,000 assigned / 200 failed listing caps', async () => {
    const inner = new LocalBus();
    let down = true;
    const bus: EventBus = {
      name: 'down',
      publish: async (events) => {
        if (down) throw new PublishError('bus down');
        return inner.publish(events);
      },
    };
    const { register, request, send, clock } = setup({ bus });
    await register('w1', ['x'], 1000);
    await register('w2', ['x'], 1000);
    for (let i = 0; i < 1200; i++) await request(`t${i}`, 'x');
    down = false;
    let o = await send({ type: 'sweep' });
    expect((o as { result: { republished: number } }).result.republished).toBe(1200);
    expect(new Set(inner.list({ type: 'Task Assignment' }).map((e) => e.task_id)).size).toBe(1200);
    clock.t += 31 * 60_000;
    await register('w1', ['x'], 1000, 'busy');
    await register('w2', ['x'], 1000, 'busy');
    o = await send({ type: 'sweep' });
    expect((o as { result: { requeued: string[] } }).result.requeued).toHaveLength(1200);
  });
});

test('a free agent finds the oldest task it can take, wherever it sits in the queue (no head-of-line starvation)', async () => {
  const { register, request, send, coordinator } = setup();
  await register('other', ['rare'], 1, 'busy');
  for (let i = 0; i < 1000; i++) await request(`blocked-${i}`, 'rare', { priority: 'critical' });
  await register('w1', ['x'], 1);
  await register('w2', ['x'], 1);
  await request('victim', 'x', { priority: 'low' });
  // w1 has it; it fails, and w2 (free) must get it although 1,000 critical tasks sit ahead.
  await register('w2', ['x'], 1, 'busy');
  const assigned = (await coordinator.findTask('victim'))!.assigned_agents[0]!;
  const other = assigned === 'w1' ? 'w2' : 'w1';
  await register(other, ['x'], 1, 'available');
  const o = await send({ type: 'error_event', task_id: 'victim', agent_id: assigned, error: 'boom' });
  expect(o).toMatchObject({ status: 'done', result: { reassigned: true } });
  expect((await coordinator.findTask('victim'))?.assigned_agents).toEqual([other]);
});

test('16 concurrent request-and-complete loops leave every slot equal to the ledger', async () => {
  const { register, coordinator } = setup();
  const agents = ['p1', 'p2', 'p3', 'p4'];
  for (const a of agents) await register(a, ['x'], 3);
  const loop = async (w: number) => {
    for (let i = 0; i < 40; i++) {
      const id = `w${w}-${i}`;
      const [o] = await coordinator.handle({ type: 'coordination_request', task_id: id, task_type: 'x' });
      const task = await coordinator.findTask(id);
      if (o?.status === 'done' && task?.status === 'assigned')
        await coordinator.handle({ type: 'task_completion', task_id: id, agent_id: task.assigned_agents[0] });
    }
  };
  await Promise.all(Array.from({ length: 16 }, (_, w) => loop(w)));
  // Quiescence: complete whatever the drains assigned meanwhile.
  for (let round = 0; round < 50; round++) {
    const assigned = await coordinator.listTasks('assigned', 1000);
    if (assigned.length === 0) break;
    for (const t of assigned)
      for (const a of t.assigned_agents)
        await coordinator.handle({ type: 'task_completion', task_id: t.task_id, agent_id: a });
  }
  const assigned = await coordinator.listTasks('assigned', 1000);
  for (const agent of await coordinator.listAgents()) {
    const held = assigned.filter((t) => t.assigned_agents.includes(agent.agent_id)).map((t) => t.task_id);
    expect({ agent: agent.agent_id, slots: [...agent.active_task_ids].sort() }).toEqual({
      agent: agent.agent_id,
      slots: held.sort(),
    });
  }
});
