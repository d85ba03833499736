/** Behaviours of the contract beyond the main scenario, in process on the memory store. */
import { LocalBus } from '../../shared/adapters/local/local-bus';
import { MemoryStateStore } from '../../shared/adapters/local/memory-store';
import { Coordinator } from '../../shared/core/coordinator/coordinator';
import { PublishError } from '../../shared/core/errors';
import type { OutboundEvent } from '../../shared/core/model';
import type { EventBus, Router } from '../../shared/core/ports';
import { RulesRouter } from '../../shared/core/routing/rules-router';

function setup(
  opts: {
    router?: Router;
    bus?: EventBus;
    settings?: ConstructorParameters<typeof Coordinator>[0]['settings'];
  } = {},
) {
  const clock = {
    t: Date.parse('2026-06-01T00:00:00Z'),
    now() {
      return this.t;
    },
  };
  const store = new MemoryStateStore();
  const bus = new LocalBus();
  const coordinator = new Coordinator({
    store,
    bus: opts.bus ?? bus,
    router: opts.router ?? new RulesRouter(),
    clock,
    settings: opts.settings,
  });
  const send = async (message: object, id?: string) => {
    const [o] = await coordinator.handle(message, id ? { id } : {});
    return o!;
  };
  const register = (agent_id: string, capabilities: string[], max = 2, new_state = 'available') =>
    send({ type: 'agent_state_change', agent_id, new_state, capabilities, max_concurrent_tasks: max });
  const task = (id: string) => coordinator.findTask(id);
  const agent = (id: string) => coordinator.findAgent(id);
  return { clock, store, bus, coordinator, send, register, task, agent };
}

describe('direct task_assignment', () => {
  test('assigns to the named agent without a router, recorded as router direct', async () => {
    const router: Router = {
      name: 'never',
      decide: () => Promise.reject(new Error('router must not be asked')),
    };
    const { register, send, task, bus } = setup({ router });
    await register('npa', ['nutrition_analysis']);
    const o = await send({
      type: 'task_assignment',
      task_id: 'd1',
      agent_id: 'npa',
      task_type: 'nutrition_analysis',
    });
    expect(o.status).toBe('done');
    expect(await task('d1')).toMatchObject({
      status: 'assigned',
      assigned_agents: ['npa'],
      decision: { router: 'direct', path: 'direct' },
    });
    expect(bus.list({ task_id: 'd1' })).toHaveLength(1);
  });

  test('rejects (and publishes Task Rejected) when the agent is unknown or incapable', async () => {
    const { register, send, task, bus } = setup();
    await register('wpa', ['workout_planning']);
    await send({
      type: 'task_assignment',
      task_id: 'd2',
      agent_id: 'ghost',
      task_type: 'nutrition_analysis',
    });
    await send({ type: 'task_assignment', task_id: 'd3', agent_id: 'wpa', task_type: 'nutrition_analysis' });
    expect(await task('d2')).toMatchObject({ status: 'rejected', reason: 'agent ghost is not registered' });
    expect(await task('d3')).toMatchObject({
      status: 'rejected',
      reason: 'agent wpa lacks capability nutrition_analysis',
    });
    expect(bus.list({ type: 'Task Rejected' }).map((e) => e.task_id)).toEqual(['d2', 'd3']);
  });

  test('queues for the named agent when it is full, and only that agent takes it later', async () => {
    const { register, send, task } = setup();
    await register('npa', ['nutrition_analysis'], 1);
    await register('npa-2', ['nutrition_analysis'], 1, 'offline');
    await send({ type: 'task_assignment', task_id: 'd4', agent_id: 'npa', task_type: 'nutrition_analysis' });
    await send({ type: 'task_assignment', task_id: 'd5', agent_id: 'npa', task_type: 'nutrition_analysis' });
    expect((await task('d5'))?.status).toBe('queued');
    await register('npa-2', ['nutrition_analysis'], 1, 'available');
    expect((await task('d5'))?.status).toBe('queued');
    await send({ type: 'task_completion', task_id: 'd4', agent_id: 'npa' });
    expect(await task('d5')).toMatchObject({ status: 'assigned', assigned_agents: ['npa'] });
  });
});

describe('queue order and draining', () => {
  test('a freed agent takes the highest priority, then the oldest, queued task it can do', async () => {
    const { register, send, task, clock } = setup();
    await register('npa', ['nutrition_analysis'], 1);
    await send({ type: 'coordination_request', task_id: 'busy', task_type: 'nutrition_analysis' });
    for (const [id, priority] of [
      ['low', 'low'],
      ['high-1', 'high'],
      ['high-2', 'high'],
      ['crit-other', 'critical'],
    ] as const) {
      clock.t += 1000;
      await send({
        type: 'coordination_request',
        task_id: id,
        task_type: id === 'crit-other' ? 'workout_planning' : 'nutrition_analysis',
        priority,
      });
    }
    await send({ type: 'task_completion', task_id: 'busy', agent_id: 'npa' });
    expect((await task('high-1'))?.status).toBe('assigned');
    expect((await task('high-2'))?.status).toBe('queued');
    expect((await task('crit-other'))?.status).toBe('queued');
  });
});

describe('errors and attempts', () => {
  test('after MAX_TASK_ATTEMPTS failures the task fails and Task Failed is published', async () => {
    const { register, send, task, bus, agent } = setup({ settings: { maxAttempts: 2 } });
    await register('a1', ['x']);
    await register('a2', ['x']);
    await register('a3', ['x']);
    await send({ type: 'coordination_request', task_id: 'f', task_type: 'x', agent_id: 'req' });
    const first = (await task('f'))!.assigned_agents[0]!;
    await send({ type: 'error_event', task_id: 'f', agent_id: first, error: 'e1' });
    const second = (await task('f'))!.assigned_agents[0]!;
    expect(second).not.toBe(first);
    await send({
      type: 'task_completion',
      task_id: 'f',
      agent_id: second,
      status: 'failed',
      result: { error: 'e2' },
    });
    expect(await task('f')).toMatchObject({
      status: 'failed',
      attempts: 2,
      error: 'e2',
      failed_agents: [first, second],
    });
    const failed = bus.list({ type: 'Task Failed' });
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ task_id: 'f', target_agent: 'req' });
    for (const id of ['a1', 'a2', 'a3']) expect((await agent(id))?.active_tasks).toBe(0);
  });

  test('an error with no task records the error on the agent', async () => {
    const { register, send, agent } = setup();
    await register('a1', ['x']);
    expect((await send({ type: 'error_event', agent_id: 'a1', error: { code: 'OOM' } })).status).toBe('done');
    expect((await agent('a1'))?.last_error).toBe('{"code":"OOM"}');
  });

  test('completion or error for an unknown task is dead-lettered with a reason', async () => {
    const { send } = setup();
    expect(await send({ type: 'task_completion', task_id: 'nope', agent_id: 'a' })).toMatchObject({
      status: 'dead_letter',
      code: 'NOT_FOUND',
      reason: 'task nope not found',
    });
  });

  test('a stale completion from an agent the task was taken from is ignored', async () => {
    const { register, send, task } = setup();
    await register('a1', ['x'], 1);
    await register('a2', ['x'], 1);
    await send({ type: 'coordination_request', task_id: 's', task_type: 'x' });
    await send({ type: 'error_event', task_id: 's', agent_id: 'a1', error: 'e' });
    const o = await send({ type: 'task_completion', task_id: 's', agent_id: 'a1' });
    expect(o).toMatchObject({ status: 'done', result: { ignored: 'task is not assigned to a1' } });
    expect(await task('s')).toMatchObject({ status: 'assigned', assigned_agents: ['a2'] });
  });
});

describe('agents going away', () => {
  test('an agent going offline gives its tasks back to the queue; another agent takes them', async () => {
    const { register, send, task, agent } = setup();
    await register('a1', ['x'], 2);
    await send({ type: 'coordination_request', task_id: 'o1', task_type: 'x' });
    await register('a2', ['x'], 2, 'busy');
    await register('a1', ['x'], 2, 'offline');
    expect(await task('o1')).toMatchObject({ status: 'queued', assigned_agents: [] });
    expect((await agent('a1'))?.active_tasks).toBe(0);
    await register('a2', ['x'], 2, 'available');
    expect(await task('o1')).toMatchObject({ status: 'assigned', assigned_agents: ['a2'], attempts: 2 });
  });

  test('health check reports heartbeats and marks stale agents offline', async () => {
    const { register, send, clock, agent } = setup({ settings: { heartbeatTtlMs: 60_000 } });
    await register('old', ['x']);
    clock.t += 120_000;
    await register('fresh', ['x']);
    const o = await send({ type: 'agent_health_check' });
    expect(o.status).toBe('done');
    const report = (
      o as {
        result: { agents: Array<{ agent_id: string; healthy: boolean }>; healthy: number; unhealthy: number };
      }
    ).result;
    expect(report).toMatchObject({ healthy: 1, unhealthy: 1 });
    expect(report.agents.find((a) => a.agent_id === 'old')?.healthy).toBe(false);
    expect((await agent('old'))?.status).toBe('offline');
    expect((await send({ type: 'agent_health_check', agent_id: 'ghost' })).status).toBe('dead_letter');
  });

  test('sweep: stale agents go offline, their tasks and tasks past deadline requeue, the queue drains', async () => {
    const { register, send, clock, task, agent } = setup({
      settings: { heartbeatTtlMs: 60_000, defaultTaskDurationMs: 10 * 60_000 },
    });
    await register('stale', ['x'], 1);
    await send({ type: 'coordination_request', task_id: 'w1', task_type: 'x' });
    clock.t += 30_000;
    await register('slow', ['y'], 1);
    await send({ type: 'coordination_request', task_id: 'w2', task_type: 'y' });
    clock.t += 40_000; // 'stale' is 70 s old, 'slow' 40 s
    await register('backup', ['x'], 1);
    const o = await send({ type: 'sweep' });
    expect(o).toMatchObject({ status: 'done', result: { offline: ['stale'], requeued: ['w1'] } });
    expect(await task('w1')).toMatchObject({ status: 'assigned', assigned_agents: ['backup'] });
    expect((await agent('stale'))?.status).toBe('offline');
    // Past its deadline (10 min), w2 goes back to the queue and 'slow' (still heartbeating) takes it again.
    clock.t += 11 * 60_000;
    await register('slow', ['y'], 1);
    await register('backup', ['x'], 1);
    const o2 = await send({ source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} });
    expect((o2 as { result: { requeued: string[] } }).result.requeued).toEqual(
      expect.arrayContaining(['w2']),
    );
    expect(await task('w2')).toMatchObject({ status: 'assigned', assigned_agents: ['slow'], attempts: 2 });
  });
});

describe('dependencies', () => {
  test('a task whose decision lists prerequisites waits until they complete', async () => {
    const router: Router = {
      name: 'deps',
      decide: async (r) => ({
        router: 'llm',
        path: 'llm',
        decision: {
          action: 'assign_task',
          target_agents: ['a1'],
          task_distribution: {},
          dependencies: r.task.task_id === 'report' ? ['data'] : [],
          reasoning: 'r',
        },
      }),
    };
    const { register, send, task } = setup({ router });
    await register('a1', ['x'], 3);
    await send({ type: 'coordination_request', task_id: 'data', task_type: 'x' });
    await send({ type: 'coordination_request', task_id: 'report', task_type: 'x' });
    expect(await task('report')).toMatchObject({ status: 'queued', dependencies: ['data'] });
    expect((await task('report'))?.decision?.reasoning).toMatch(/waiting for data/);
    await send({ type: 'task_completion', task_id: 'data', agent_id: 'a1' });
    expect(await task('report')).toMatchObject({ status: 'assigned', assigned_agents: ['a1'] });
  });

  test('a failed prerequisite fails the dependent task', async () => {
    const router: Router = {
      name: 'deps',
      decide: async (r) => ({
        router: 'llm',
        path: 'llm',
        decision: {
          action: r.task.task_id === 'b' ? 'queue_task' : 'assign_task',
          target_agents: ['a1'],
          task_distribution: {},
          dependencies: r.task.task_id === 'b' ? ['a'] : [],
          reasoning: 'r',
        },
      }),
    };
    const { register, send, task } = setup({ router, settings: { maxAttempts: 1 } });
    await register('a1', ['x'], 3);
    await send({ type: 'coordination_request', task_id: 'a', task_type: 'x' });
    await send({ type: 'coordination_request', task_id: 'b', task_type: 'x' });
    await send({ type: 'error_event', task_id: 'a', agent_id: 'a1', error: 'broken' });
    await send({ type: 'sweep' });
    expect(await task('b')).toMatchObject({ status: 'failed', error: 'dependency a failed' });
  });
});

describe('batches and delivery semantics', () => {
  test('an SQS-shaped batch with one malformed record fails only that record, with a reason', async () => {
    const { register, coordinator, task } = setup();
    await register('a1', ['x'], 5);
    const outcomes = await coordinator.handle({
      Records: [
        {
          messageId: 'm1',
          body: JSON.stringify({ type: 'coordination_request', task_id: 'b1', task_type: 'x' }),
        },
        { messageId: 'm2', body: JSON.stringify({ type: 'coordination_request', task_type: 42 }) },
        {
          messageId: 'm3',
          body: JSON.stringify({ type: 'coordination_request', task_id: 'b3', task_type: 'x' }),
        },
      ],
    });
    expect(outcomes.map((o) => [o.id, o.status])).toEqual([
      ['m1', 'done'],
      ['m2', 'dead_letter'],
      ['m3', 'done'],
    ]);
    expect(outcomes[1]).toMatchObject({
      code: 'INVALID_MESSAGE',
      reason: expect.stringMatching(/task_type/),
    });
    expect((await task('b1'))?.status).toBe('assigned');
    expect((await task('b3'))?.status).toBe('assigned');
  });

  test('ordered (FIFO) batches stop at the first failure', async () => {
    const { coordinator } = setup();
    const outcomes = await coordinator.handle(
      {
        Records: [
          { messageId: 'm1', body: '{bad' },
          { messageId: 'm2', body: JSON.stringify({ type: 'agent_health_check' }) },
        ],
      },
      {},
      { ordered: true },
    );
    expect(outcomes.map((o) => o.status)).toEqual(['dead_letter', 'retry']);
  });

  test('without a task_id the message id is the idempotency key: a redelivery assigns once', async () => {
    const { register, coordinator, bus } = setup();
    await register('a1', ['x'], 5);
    const body = { type: 'coordination_request', task_type: 'x' };
    await coordinator.handle(body, { id: 'sqs-123' });
    await coordinator.handle(body, { id: 'sqs-123' });
    await coordinator.handle(body, { id: 'sqs-456' });
    expect(
      bus
        .list()
        .map((e) => e.task_id)
        .sort(),
    ).toEqual(['task-sqs-123', 'task-sqs-456']);
  });

  test('concurrent duplicate deliveries of one request assign it once and hold one slot', async () => {
    const { register, coordinator, bus, agent } = setup();
    await register('a1', ['x'], 5);
    await register('a2', ['x'], 5);
    const body = { type: 'coordination_request', task_id: 'c', task_type: 'x' };
    await Promise.all(Array.from({ length: 8 }, () => coordinator.handle(body)));
    expect(bus.list({ task_id: 'c' })).toHaveLength(1);
    const held = ((await agent('a1'))?.active_tasks ?? 0) + ((await agent('a2'))?.active_tasks ?? 0);
    expect(held).toBe(1);
  });

  test('a bus failure leaves the event in the outbox; the redelivery publishes it exactly once', async () => {
    const inner = new LocalBus();
    let fail = true;
    const flaky: EventBus = {
      name: 'flaky',
      publish: async (events: readonly OutboundEvent[]) => {
        if (fail) throw new PublishError('bus down');
        await inner.publish(events);
      },
    };
    const { register, coordinator, task } = setup({ bus: flaky });
    await register('a1', ['x'], 5);
    const body = { type: 'coordination_request', task_id: 'p', task_type: 'x' };
    const [first] = await coordinator.handle(body);
    expect(first).toMatchObject({ status: 'retry', code: 'PUBLISH_FAILED' });
    expect((await task('p'))?.outbox).toHaveLength(1);
    fail = false;
    const [second] = await coordinator.handle(body);
    expect(second?.status).toBe('done');
    expect((await task('p'))?.outbox).toHaveLength(0);
    expect(inner.list({ task_id: 'p' })).toHaveLength(1);
  });

  test('a batch router is asked once for a run of coordination requests', async () => {
    let batchCalls = 0;
    const rules = new RulesRouter();
    const router: Router = {
      name: 'batching',
      decide: (r) => rules.decide(r),
      decideBatch: async (rs) => {
        batchCalls += 1;
        return rules.decideBatch(rs);
      },
    };
    const { register, coordinator } = setup({ router });
    await register('a1', ['x'], 10);
    const records = Array.from({ length: 5 }, (_, i) => ({
      messageId: `m${i}`,
      body: JSON.stringify({ type: 'coordination_request', task_id: `r${i}`, task_type: 'x' }),
    }));
    const outcomes = await coordinator.handle({ Records: records });
    expect(outcomes.every((o) => o.status === 'done')).toBe(true);
    expect(batchCalls).toBe(1);
  });
});
