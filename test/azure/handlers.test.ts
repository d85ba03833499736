/**
 * The Azure Functions handlers invoked as the host would, outside the host (`@azure/functions`
 * test mode): Service Bus messages with their trigger metadata, HTTP requests, timer ticks.
 * The core scenario runs through them on the memory store and on the Cosmos-protocol server.
 */
import { HttpRequest, InvocationContext, type Timer } from '@azure/functions';
import { CosmosClient } from '@azure/cosmos';
import { MemoryStateStore } from '../../shared/adapters/local/memory-store';
import type { StateStore } from '../../shared/core/ports';
import {
  createAzureRuntime,
  type AzureRuntime,
  type AzureRuntimeOverrides,
} from '../../shared/runtime/azure';
import { httpHandler } from '../../azure/functions/http';
import { serviceBusHandler } from '../../azure/functions/service-bus';
import { sweepHandler } from '../../azure/functions/sweep';
import { runCoreScenario, type ScenarioDriver } from '../support/scenario';
import { CosmosTestServer } from './support/cosmos-server';
import { FakeSender, serviceBusMetadata } from './support/service-bus-fakes';

const ENV = { LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '0' };

interface Harness {
  runtime: AzureRuntime;
  topic: FakeSender;
  rejected: FakeSender;
}

function harness(overrides: AzureRuntimeOverrides, env: Record<string, string> = {}): Harness {
  const topic = new FakeSender();
  const rejected = new FakeSender();
  const runtime = createAzureRuntime(
    { ...ENV, ...env },
    { sender: topic, rejectedSender: rejected, ...overrides },
  );
  return { runtime, topic, rejected };
}

const logs: string[] = [];
const logHandler = (level: string, ...args: unknown[]) => void logs.push(`${level}: ${args.join(' ')}`);
const context = (triggerMetadata: Record<string, unknown> = {}) =>
  new InvocationContext({ invocationId: 'test', functionName: 'inbound-queue', triggerMetadata, logHandler });

/** The body the way the host hands it over: parsed JSON, a string or bytes, in turn. */
const shapes = [
  (m: object) => m,
  (m: object) => JSON.stringify(m),
  (m: object) => Buffer.from(JSON.stringify(m)),
];

function published(topic: FakeSender) {
  return topic.sent.map((m) => ({
    id: m.messageId as string,
    type: m.subject as string,
    task_id: m.correlationId as string,
    target_agent: m.applicationProperties?.target_agent as string | undefined,
  }));
}

function serviceBusDriver(make: () => Harness): ScenarioDriver {
  let h = make();
  let sent = 0;
  const topic = h.topic;
  return {
    async send(message, options) {
      const body = shapes[sent++ % shapes.length]!(message);
      await serviceBusHandler(() => h.runtime)(
        body,
        context(serviceBusMetadata(options?.id ? { messageId: options.id } : {})),
      );
      expect(h.rejected.sent).toEqual([]);
    },
    published: async () => published(topic),
    task: (id) => h.runtime.coordinator.findTask(id),
    agent: (id) => h.runtime.coordinator.findAgent(id),
    async restart() {
      // A new instance (cold start) over the same store; assignments go to the same topic.
      const next = make();
      h = {
        runtime: createAzureRuntime(ENV, {
          store: next.runtime.store,
          sender: topic,
          rejectedSender: next.rejected,
        }),
        topic,
        rejected: next.rejected,
      };
    },
  };
}

function httpDriver(h: Harness, token: string): ScenarioDriver {
  const handle = httpHandler(() => h.runtime);
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await handle(
      new HttpRequest({
        method,
        url: `https://coordinator.azurewebsites.net/api/${path}`,
        params: { path },
        headers: { authorization: `Bearer ${token}`, ...headers },
        ...(body ? { body: { string: JSON.stringify(body) } } : {}),
      }),
      context(),
    );
    return { status: res.status, body: JSON.parse(String(res.body)) as Record<string, unknown> };
  };
  return {
    async send(message, options) {
      const res = await call('POST', 'events', message, options?.id ? { 'x-request-id': options.id } : {});
      expect(res.status).toBe(200);
    },
    published: async () => published(h.topic),
    async task(id) {
      const res = await call('GET', `tasks/${encodeURIComponent(id)}`);
      return res.status === 200 ? (res.body as never) : undefined;
    },
    async agent(id) {
      const res = await call('GET', 'agents');
      return (res.body.agents as Array<{ agent_id: string }>).find((a) => a.agent_id === id) as never;
    },
  };
}

describe('core scenario through the Azure handlers', () => {
  const cosmos = new CosmosTestServer();
  let client: CosmosClient;
  beforeAll(async () => {
    await cosmos.start();
    client = new CosmosClient({ endpoint: cosmos.endpoint, key: cosmos.key });
  });
  beforeEach(() => cosmos.reset());
  afterAll(async () => {
    client.dispose();
    await cosmos.stop();
  });

  test('Service Bus trigger on the memory store, across a cold start', async () => {
    const store = new MemoryStateStore();
    await runCoreScenario(
      serviceBusDriver(() => harness({ store })),
      'sbm',
    );
  });

  test('Service Bus trigger on the Cosmos-protocol server, across a cold start', async () => {
    const container = client.database(cosmos.database).container(cosmos.container);
    await runCoreScenario(
      serviceBusDriver(() => harness({ container })),
      'sbc',
    );
    expect(cosmos.documents().some((d) => String(d.pk).startsWith('agents#'))).toBe(true);
  });

  test('HTTP trigger with the shared secret, on the Cosmos-protocol server', async () => {
    const container = client.database(cosmos.database).container(cosmos.container);
    const token = 'a-shared-secret-of-enough-length';
    await runCoreScenario(httpDriver(harness({ container }, { AUTH_TOKEN: token }), token), 'http');
  });

  test('assignments go to the topic with the properties per-agent subscriptions filter on', async () => {
    const h = harness({ store: new MemoryStateStore() });
    const send = serviceBusHandler(() => h.runtime);
    await send(
      {
        type: 'agent_state_change',
        agent_id: 'npa',
        new_state: 'available',
        capabilities: ['nutrition_analysis'],
      },
      context(serviceBusMetadata()),
    );
    await send(
      {
        type: 'coordination_request',
        task_id: 'meal-1',
        task_type: 'nutrition_analysis',
        task_data: { meal: 'oats' },
      },
      context(serviceBusMetadata()),
    );
    expect(h.topic.sent).toHaveLength(1);
    const [m] = h.topic.sent;
    expect(m).toMatchObject({
      subject: 'Task Assignment',
      correlationId: 'meal-1',
      contentType: 'application/json',
      applicationProperties: { target_agent: 'npa', event_type: 'Task Assignment', task_id: 'meal-1' },
      body: {
        target_agent: 'npa',
        task_message: {
          type: 'task_assignment',
          task_id: 'meal-1',
          agent_id: 'npa',
          task_type: 'nutrition_analysis',
        },
      },
    });
    expect(typeof m!.messageId).toBe('string');
  });
});

describe('Service Bus settlement', () => {
  test('a bad message is moved to the rejected queue with its reason and completed, not retried', async () => {
    const h = harness({ store: new MemoryStateStore() });
    const send = serviceBusHandler(() => h.runtime);
    await expect(
      send(
        '{"type": "launch_rockets"}',
        context(serviceBusMetadata({ messageId: 'bad-1', applicationProperties: { sender: 'x' } })),
      ),
    ).resolves.toBeUndefined();
    await expect(
      send('not json at all', context(serviceBusMetadata({ messageId: 'bad-2' }))),
    ).resolves.toBeUndefined();
    expect(h.rejected.sent.map((m) => [m.messageId, m.applicationProperties?.DeadLetterReason])).toEqual([
      ['bad-1', 'UNKNOWN_MESSAGE_TYPE'],
      ['bad-2', 'INVALID_MESSAGE'],
    ]);
    expect(h.rejected.sent[0]!.applicationProperties).toMatchObject({
      sender: 'x',
      delivery_count: 1,
      DeadLetterErrorDescription: expect.stringContaining('launch_rockets'),
    });
    expect(h.rejected.sent[0]!.body).toBe('{"type": "launch_rockets"}');
    expect(logs.some((l) => l.startsWith('warning: message bad-1 rejected (UNKNOWN_MESSAGE_TYPE)'))).toBe(
      true,
    );
    expect(h.topic.sent).toEqual([]);
  });

  test('when the rejected queue refuses, the trigger throws so the message is redelivered, not lost', async () => {
    const h = harness({ store: new MemoryStateStore() });
    h.rejected.failures = 1;
    const send = serviceBusHandler(() => h.runtime);
    await expect(
      send({ type: 'task_completion' }, context(serviceBusMetadata({ messageId: 'bad-3' }))),
    ).rejects.toThrow(/coordinator-rejected/);
    await send(
      { type: 'task_completion' },
      context(serviceBusMetadata({ messageId: 'bad-3', deliveryCount: 2 })),
    );
    expect(h.rejected.sent.map((m) => m.messageId)).toEqual(['bad-3']);
  });

  test('the event type may come from the subject or an application property', async () => {
    const h = harness({ store: new MemoryStateStore() });
    const send = serviceBusHandler(() => h.runtime);
    await send(
      { agent_id: 'a1', new_state: 'available', capabilities: ['x'] },
      context(serviceBusMetadata({ subject: 'Agent State Change' })),
    );
    await send(
      { agent_id: 'a2', new_state: 'available', capabilities: ['x'] },
      context(serviceBusMetadata({ applicationProperties: { event_type: 'agent_state_change' } })),
    );
    expect((await h.runtime.store.listAgents()).map((a) => a.agent_id)).toEqual(['a1', 'a2']);
    expect(h.rejected.sent).toEqual([]);
  });

  test('a transient store failure throws (Service Bus redelivers); the redelivery succeeds once', async () => {
    const cosmos = await new CosmosTestServer().start();
    const client = new CosmosClient({
      endpoint: cosmos.endpoint,
      key: cosmos.key,
      connectionPolicy: {
        retryOptions: {
          maxRetryAttemptCount: 0,
          fixedRetryIntervalInMilliseconds: 0,
          maxWaitTimeInSeconds: 0,
        },
      },
    });
    try {
      const h = harness({ container: client.database(cosmos.database).container(cosmos.container) });
      const send = serviceBusHandler(() => h.runtime);
      await send(
        {
          type: 'agent_state_change',
          agent_id: 'npa',
          new_state: 'available',
          capabilities: ['nutrition_analysis'],
        },
        context(serviceBusMetadata()),
      );
      const request = { type: 'coordination_request', task_id: 'flaky-1', task_type: 'nutrition_analysis' };
      cosmos.failNext(1000, { status: 503 });
      await expect(
        send(request, context(serviceBusMetadata({ messageId: 'm-1', deliveryCount: 1 }))),
      ).rejects.toThrow(/STORE_UNAVAILABLE/);
      cosmos.clearFaults();
      cosmos.failNext(1000, { status: 429, headers: { 'x-ms-retry-after-ms': '1' } });
      await expect(
        send(request, context(serviceBusMetadata({ messageId: 'm-1', deliveryCount: 2 }))),
      ).rejects.toThrow(/STORE_UNAVAILABLE/);
      cosmos.clearFaults();
      await send(request, context(serviceBusMetadata({ messageId: 'm-1', deliveryCount: 3 })));
      expect(h.rejected.sent).toEqual([]);
      expect((await h.runtime.store.getTask('flaky-1'))?.assigned_agents).toEqual(['npa']);
      expect(h.topic.sent.filter((m) => m.correlationId === 'flaky-1')).toHaveLength(1);
    } finally {
      client.dispose();
      await cosmos.stop();
    }
  });

  test('a bus outage throws too; the outbox is published on redelivery', async () => {
    const h = harness({ store: new MemoryStateStore() });
    const send = serviceBusHandler(() => h.runtime);
    await send(
      {
        type: 'agent_state_change',
        agent_id: 'npa',
        new_state: 'available',
        capabilities: ['nutrition_analysis'],
      },
      context(serviceBusMetadata()),
    );
    h.topic.failures = 1;
    const request = { type: 'coordination_request', task_id: 'bus-1', task_type: 'nutrition_analysis' };
    await expect(send(request, context(serviceBusMetadata({ messageId: 'b-1' })))).rejects.toThrow(
      /PUBLISH_FAILED/,
    );
    await send(request, context(serviceBusMetadata({ messageId: 'b-1', deliveryCount: 2 })));
    expect(h.topic.sent.filter((m) => m.correlationId === 'bus-1')).toHaveLength(1);
  });
});

describe('HTTP trigger', () => {
  const token = 'a-shared-secret-of-enough-length';
  const call = (h: Harness, init: ConstructorParameters<typeof HttpRequest>[0]) =>
    httpHandler(() => h.runtime)(new HttpRequest(init), context());

  test('without the shared secret: 401; a bad body: 400 with the reason; health needs no secret', async () => {
    const h = harness({ store: new MemoryStateStore() }, { AUTH_TOKEN: token });
    const url = 'https://coordinator.azurewebsites.net/api/events';
    expect(
      (await call(h, { method: 'POST', url, params: { path: 'events' }, body: { string: '{}' } })).status,
    ).toBe(401);
    const bad = await call(h, {
      method: 'POST',
      url,
      params: { path: 'events' },
      headers: { 'x-api-key': token },
      body: { string: '{"type":"nope"}' },
    });
    expect(bad.status).toBe(400);
    expect(JSON.parse(String(bad.body))).toMatchObject({
      error: 'unknown_message_type',
      reason: expect.stringContaining('nope'),
    });
    const health = await call(h, {
      method: 'GET',
      url: 'https://coordinator.azurewebsites.net/api/health',
      params: { path: 'health' },
    });
    expect(health.status).toBe(200);
  });

  test('accepts other inbound shapes: an EventBridge-style event and a CloudEvent', async () => {
    const h = harness({ store: new MemoryStateStore() }, { AUTH_TOKEN: token });
    const post = (body: unknown) =>
      call(h, {
        method: 'POST',
        url: 'https://x/api/events',
        params: { path: 'events' },
        headers: { authorization: `Bearer ${token}` },
        body: { string: JSON.stringify(body) },
      });
    expect(
      (
        await post({
          'detail-type': 'Agent State Change',
          source: 'agents',
          detail: { agent_id: 'eb', new_state: 'available', capabilities: ['c'] },
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await post({
          specversion: '1.0',
          id: 'ce-1',
          source: 'agents',
          type: 'Agent State Change',
          data: { agent_id: 'ce', new_state: 'available', capabilities: ['c'] },
        })
      ).status,
    ).toBe(200);
    expect((await h.runtime.store.listAgents()).map((a) => a.agent_id)).toEqual(['ce', 'eb']);
  });
});

describe('timer trigger', () => {
  test('the sweep takes a silent agent offline and requeues its task', async () => {
    let now = Date.UTC(2026, 0, 1);
    const store: StateStore = new MemoryStateStore();
    const h = harness({ store, clock: { now: () => now } }, { AGENT_HEARTBEAT_TTL: '60' });
    const send = serviceBusHandler(() => h.runtime);
    await send(
      {
        type: 'agent_state_change',
        agent_id: 'npa',
        new_state: 'available',
        capabilities: ['nutrition_analysis'],
      },
      context(serviceBusMetadata()),
    );
    await send(
      { type: 'coordination_request', task_id: 'sw-1', task_type: 'nutrition_analysis' },
      context(serviceBusMetadata()),
    );
    now += 5 * 60_000;
    const timer: Timer = {
      isPastDue: false,
      schedule: { adjustForDST: false },
      scheduleStatus: { last: '', next: '', lastUpdated: '' },
    };
    await sweepHandler(() => h.runtime)(timer, new InvocationContext({ functionName: 'sweep', logHandler }));
    expect((await store.getAgent('npa'))?.status).toBe('offline');
    expect((await store.getTask('sw-1'))?.status).toBe('queued');
  });
});
