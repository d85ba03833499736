/**
 * The GCP functions through the real functions-framework server (its `getTestServer` is the
 * same express server `functions-framework --target` runs), over the Firestore and Pub/Sub
 * emulators: Pub/Sub CloudEvents in binary and structured mode, raw push bodies, the HTTP
 * function, the sweep, and the core scenario end to end (publish -> push subscription ->
 * function -> Firestore -> assignments topic -> subscription).
 */
import { Firestore } from '@google-cloud/firestore';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { PubSub, type Topic } from '@google-cloud/pubsub';
import { FirestoreStateStore } from '../../shared/adapters/gcp/firestore-store';
import type { Outcome } from '../../shared/core/coordinator/coordinator';
import { createGcpRuntime, useGcpRuntime } from '../../shared/runtime/gcp';
import { FUNCTIONS } from '../../gcp/index';
import { runCoreScenario, type ScenarioDriver } from '../support/scenario';
import { describeWithEmulators, startEmulator, type Emulator } from './support/emulators';
import { collect, type Collector, type Received } from './support/pubsub';
import { countingTopic, FlakyStore, listen } from './support/runtime';

const TOKEN = 'test-token-0123456789abcdef';
const PUBLISHED = 'google.cloud.pubsub.topic.v1.messagePublished';
const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64');
let seq = 0;

describeWithEmulators('GCP functions on functions-framework (Pub/Sub + Firestore emulators)', () => {
  let emulators: Emulator[] = [];
  let pubsub: PubSub;
  let firestore: Firestore;
  let servers: Record<keyof typeof FUNCTIONS, { url: string; close(): Promise<void> }>;
  let skewMs = 0;
  const clock = { now: () => Date.now() + skewMs };

  // Every outcome by delivery id (the Pub/Sub message id), so a sender knows when its message
  // was handled and how often; shared by every runtime booted in this file.
  const outcomes = new Map<string, Outcome[]>();
  const waiters = new Set<() => void>();
  const settled = (id: string, timeoutMs = 30_000) =>
    new Promise<Outcome[]>((resolve, reject) => {
      const check = () => {
        const list = outcomes.get(id) ?? [];
        if (!list.some((o) => o.status !== 'retry')) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(list);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`message ${id} not settled: ${JSON.stringify(outcomes.get(id))}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });

  /** A runtime over its own collections and assignments topic, with instrumentation. */
  async function boot(name: string) {
    const [topic] = await pubsub.topic(`${name}-assignments`).get({ autoCreate: true });
    const counting = countingTopic(topic);
    const flaky = new FlakyStore(new FirestoreStateStore({ firestore, collectionPrefix: `${name}-` }));
    const rt = createGcpRuntime(
      { GCP_PROJECT: 'demo', AUTH_TOKEN: TOKEN, LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '0' },
      { store: flaky, topic: counting, clock },
    );
    const handle = rt.coordinator.handle.bind(rt.coordinator);
    rt.coordinator.handle = async (...args) => {
      const out = await handle(...args);
      for (const o of out) outcomes.set(o.id, [...(outcomes.get(o.id) ?? []), o]);
      for (const w of waiters) w();
      return out;
    };
    useGcpRuntime(rt);
    return { rt, flaky, counting, outcomes, topic };
  }

  beforeAll(async () => {
    emulators = await Promise.all([startEmulator('pubsub'), startEmulator('firestore')]);
    pubsub = new PubSub({ projectId: 'demo', apiEndpoint: emulators[0]!.host });
    firestore = new Firestore({ projectId: 'demo', host: emulators[1]!.host, ssl: false });
    servers = {
      pubsub: await listen(getTestServer(FUNCTIONS.pubsub)),
      http: await listen(getTestServer(FUNCTIONS.http)),
      sweep: await listen(getTestServer(FUNCTIONS.sweep)),
    };
  });
  afterAll(async () => {
    useGcpRuntime(undefined);
    await Promise.all(Object.values(servers ?? {}).map((s) => s.close()));
    await pubsub?.close();
    await firestore?.terminate();
    await Promise.all(emulators.map((e) => e.stop()));
  });

  describe('handlers', () => {
    let env: Awaited<ReturnType<typeof boot>>;
    let assignments: Collector;
    beforeAll(async () => {
      env = await boot('fn');
      const [sub] = await env.topic.createSubscription('fn-assignments-all');
      assignments = collect(sub);
    });
    afterAll(async () => assignments?.close());

    const pushBody = (data: string, id: string, attributes: Record<string, string> = {}) => ({
      message: { data, attributes, messageId: id, publishTime: new Date().toISOString() },
      subscription: 'projects/demo/subscriptions/coordinator-in',
    });
    const binary = (message: unknown, attributes?: Record<string, string>, id = `bin-${++seq}`) =>
      fetch(servers.pubsub.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'ce-specversion': '1.0',
          'ce-type': PUBLISHED,
          'ce-source': '//pubsub.googleapis.com/projects/demo/topics/coordinator-in',
          'ce-id': id,
          'ce-time': new Date().toISOString(),
        },
        body: JSON.stringify(pushBody(b64(message), id, attributes)),
      });
    const structured = (message: unknown, id = `str-${++seq}`) =>
      fetch(servers.pubsub.url, {
        method: 'POST',
        headers: { 'content-type': 'application/cloudevents+json' },
        body: JSON.stringify({
          specversion: '1.0',
          type: PUBLISHED,
          source: '//pubsub.googleapis.com/projects/demo/topics/coordinator-in',
          id,
          time: new Date().toISOString(),
          datacontenttype: 'application/json',
          data: pushBody(b64(message), id),
        }),
      });
    const api = (path: string, init: RequestInit & { token?: string | null } = {}) =>
      fetch(`${servers.http.url}${path}`, {
        ...init,
        headers: {
          'content-type': 'application/json',
          ...(init.token === null ? {} : { authorization: `Bearer ${init.token ?? TOKEN}` }),
          ...(init.headers as Record<string, string>),
        },
      });
    const eventsFor = (taskId: string, type = 'Task Assignment') =>
      assignments
        .waitFor(
          (m) => m.some((x) => x.attributes.task_id === taskId && x.attributes.event_type === type),
          `${type} for ${taskId}`,
        )
        .then((m) => m.filter((x) => x.attributes.task_id === taskId && x.attributes.event_type === type));

    test('binary-mode CloudEvent (ce-* headers) registers an agent and is acknowledged', async () => {
      const res = await binary({
        type: 'agent_state_change',
        agent_id: 'fn-npa',
        new_state: 'available',
        capabilities: ['nutrition_analysis'],
        max_concurrent_tasks: 5,
      });
      expect(res.status).toBeLessThan(300);
      expect((await env.rt.store.getAgent('fn-npa'))?.capabilities).toEqual(['nutrition_analysis']);
    });

    test('structured-mode CloudEvent routes a request; the assignment reaches the topic with its attributes', async () => {
      const res = await structured({
        type: 'coordination_request',
        task_id: 'fn-t1',
        agent_id: 'fn-req',
        task_type: 'nutrition_analysis',
        task_data: { meal: 'soup' },
      });
      expect(res.status).toBeLessThan(300);
      expect((await env.rt.store.getTask('fn-t1'))?.assigned_agents).toEqual(['fn-npa']);
      const [event] = await eventsFor('fn-t1');
      expect(event!.attributes).toMatchObject({
        target_agent: 'fn-npa',
        event_type: 'Task Assignment',
        event_id: 'fn-t1:1:fn-npa',
      });
      expect(event!.data).toMatchObject({
        target_agent: 'fn-npa',
        task_message: {
          type: 'task_assignment',
          task_id: 'fn-t1',
          agent_id: 'fn-npa',
          task_data: { meal: 'soup' },
        },
      });
    });

    test('the event type may come from the message attributes', async () => {
      const res = await binary(
        { agent_id: 'fn-coach', new_state: 'available', capabilities: ['workout_planning'] },
        { type: 'Agent State Change' },
      );
      expect(res.status).toBeLessThan(300);
      expect((await env.rt.store.getAgent('fn-coach'))?.status).toBe('available');
    });

    test('a raw Pub/Sub push body (no CloudEvent headers) is handled too', async () => {
      const id = `raw-${++seq}`;
      const res = await fetch(`${servers.pubsub.url}/projects/demo/topics/coordinator-in`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(
          pushBody(
            b64({ type: 'task_completion', task_id: 'fn-t1', agent_id: 'fn-npa', result: { kcal: 420 } }),
            id,
          ),
        ),
      });
      expect(res.status).toBeLessThan(300);
      expect(await env.rt.store.getTask('fn-t1')).toMatchObject({
        status: 'completed',
        result: { kcal: 420 },
      });
    });

    test('malformed data is acknowledged (2xx, no redelivery) and published as Task Rejected with the reason', async () => {
      const res = await binary('{not json', undefined, 'bad-json-1');
      expect(res.status).toBeLessThan(300);
      const [rejected] = await eventsFor('bad-json-1', 'Task Rejected');
      expect(rejected!.attributes.event_id).toBe('bad-json-1:message-rejected');
      expect(rejected!.data).toMatchObject({
        status: 'rejected',
        code: 'INVALID_MESSAGE',
        message_id: 'bad-json-1',
      });
      expect(String((rejected!.data as { reason: string }).reason)).toMatch(/not valid JSON/);

      const res2 = await binary(
        { type: 'coordination_request', task_id: 'fn-bad', agent_id: 'fn-req', task_type: '' },
        undefined,
        'bad-field-1',
      );
      expect(res2.status).toBeLessThan(300);
      const [invalid] = await eventsFor('fn-bad', 'Task Rejected');
      expect(invalid!.attributes.target_agent).toBe('fn-req');
      expect(String((invalid!.data as { reason: string }).reason)).toMatch(/task_type/);
      expect(await env.rt.store.getTask('fn-bad')).toBeUndefined();
    });

    test('a transient store failure answers non-2xx (Pub/Sub redelivers); the redelivery assigns exactly once', async () => {
      const message = {
        type: 'coordination_request',
        task_id: 'fn-t2',
        agent_id: 'fn-req',
        task_type: 'nutrition_analysis',
      };
      env.flaky.failNext('putTask');
      const first = await binary(message, undefined, 'flaky-1');
      expect(first.status).toBeGreaterThanOrEqual(500);
      expect(env.outcomes.get('flaky-1')?.[0]).toMatchObject({ status: 'retry', code: 'STORE_UNAVAILABLE' });
      const again = await binary(message, undefined, 'flaky-1');
      expect(again.status).toBeLessThan(300);
      expect((await env.rt.store.getTask('fn-t2'))?.status).toBe('assigned');
      await eventsFor('fn-t2');
      // A third (duplicate) delivery publishes nothing new: the task id is the idempotency key.
      expect((await binary(message, undefined, 'flaky-1')).status).toBeLessThan(300);
      await binary({ type: 'agent_health_check' });
      expect(await eventsFor('fn-t2')).toHaveLength(1);
    });

    test('HTTP function: authenticated, any inbound shape, queries', async () => {
      const denied = await api('/events', {
        method: 'POST',
        token: null,
        body: JSON.stringify({ type: 'agent_health_check' }),
      });
      expect(denied.status).toBe(401);
      const wrong = await api('/events', {
        method: 'POST',
        token: 'wrong-token-0123456789',
        body: JSON.stringify({ type: 'agent_health_check' }),
      });
      expect(wrong.status).toBe(401);

      const direct = await api('/events', {
        method: 'POST',
        body: JSON.stringify({
          type: 'coordination_request',
          task_id: 'fn-t3',
          task_type: 'workout_planning',
        }),
      });
      expect(direct.status).toBe(200);
      expect(await direct.json()).toMatchObject({
        task_id: 'fn-t3',
        status: 'assigned',
        assigned_agents: ['fn-coach'],
      });

      const bridge = await api('/events', {
        method: 'POST',
        body: JSON.stringify({
          'detail-type': 'Task Completion',
          source: 'x',
          detail: { task_id: 'fn-t3', agent_id: 'fn-coach' },
        }),
      });
      expect(bridge.status).toBe(200);
      const push = await api('/events', {
        method: 'POST',
        body: JSON.stringify(
          pushBody(b64({ agent_id: 'fn-ui', new_state: 'busy' }), 'push-http-1', {
            type: 'agent_state_change',
          }),
        ),
      });
      expect(push.status).toBe(200);
      expect((await env.rt.store.getAgent('fn-ui'))?.status).toBe('busy');

      expect(((await (await api('/tasks/fn-t3')).json()) as { status: string }).status).toBe('completed');
      const { agents } = (await (await api('/agents')).json()) as { agents: Array<{ agent_id: string }> };
      expect(agents.map((a) => a.agent_id)).toEqual(expect.arrayContaining(['fn-npa', 'fn-coach', 'fn-ui']));
      expect((await api('/tasks?status=queued')).status).toBe(200);
      const bad = await api('/events', { method: 'POST', body: '{oops' });
      expect(bad.status).toBe(400);
      expect((await api('/tasks/nope')).status).toBe(404);
    });

    test('sweep for Cloud Scheduler: token required; stale agents go offline', async () => {
      expect((await fetch(servers.sweep.url, { method: 'POST' })).status).toBe(401);
      skewMs = 2 * 86_400_000;
      try {
        const res = await fetch(servers.sweep.url, { method: 'POST', headers: { 'x-api-key': TOKEN } });
        expect(res.status).toBe(200);
        const summary = (await res.json()) as { offline: string[] };
        expect(summary.offline).toEqual(expect.arrayContaining(['fn-npa', 'fn-coach']));
        expect((await env.rt.store.getAgent('fn-npa'))?.status).toBe('offline');
      } finally {
        skewMs = 0;
      }
    });

    test('sweep over Pub/Sub: a {"type":"sweep"} message on the inbound topic runs it', async () => {
      expect((await binary({ type: 'sweep' }, undefined, 'sweep-msg-1')).status).toBeLessThan(300);
      expect(env.outcomes.get('sweep-msg-1')?.[0]).toMatchObject({
        status: 'done',
        result: expect.objectContaining({ offline: expect.any(Array) }),
      });
    });
  });

  describe('end to end: topic -> push subscription -> function -> Firestore -> assignments subscription', () => {
    let env: Awaited<ReturnType<typeof boot>>;
    let inbound: Topic;
    let assignments: Collector;
    beforeAll(async () => {
      env = await boot('e2e');
      [inbound] = await pubsub.createTopic('coordinator-in');
      await inbound.createSubscription('coordinator-in-push', {
        pushConfig: { pushEndpoint: `${servers.pubsub.url}/projects/demo/topics/coordinator-in` },
        ackDeadlineSeconds: 10,
      });
      const [sub] = await env.topic.createSubscription('e2e-assignments-all');
      assignments = collect(sub);
    });
    afterAll(async () => assignments?.close());

    const publishAndSettle = async (message: Buffer | Record<string, unknown>) => {
      const messageId = Buffer.isBuffer(message)
        ? await inbound.publishMessage({ data: message })
        : await inbound.publishMessage({ json: message });
      return { messageId, outcomes: await settled(messageId) };
    };

    /** Everything the runtime published, read back from the assignments subscription. */
    const published = async (): Promise<Received[]> =>
      assignments.waitFor(
        (m) => [...env.counting.accepted].every((id) => m.some((x) => x.attributes.event_id === id)),
        'every accepted event',
      );

    const driver = (): ScenarioDriver => ({
      async send(message) {
        const { outcomes } = await publishAndSettle(message);
        const last = outcomes[outcomes.length - 1]!;
        if (last.status !== 'done') throw new Error(`delivery failed: ${JSON.stringify(outcomes)}`);
      },
      async published() {
        return (await published()).map((m) => ({
          id: m.attributes.event_id!,
          type: m.attributes.event_type!,
          task_id: m.attributes.task_id!,
          ...(m.attributes.target_agent ? { target_agent: m.attributes.target_agent } : {}),
        }));
      },
      task: (id) => env.rt.store.getTask(id),
      agent: (id) => env.rt.store.getAgent(id),
      async restart() {
        // A new instance (cold start) over the same Firestore collections.
        env = await boot('e2e');
      },
    });

    test('the core scenario passes over the Pub/Sub emulator, functions-framework and the Firestore emulator', async () => {
      await runCoreScenario(driver(), 'e2e');
    });

    test('malformed data is acked once (not redelivered) and a transient failure is redelivered, not lost', async () => {
      const bad = await publishAndSettle(Buffer.from('\u0000 definitely not json'));
      expect(bad.outcomes).toEqual([
        expect.objectContaining({ status: 'dead_letter', code: 'INVALID_MESSAGE' }),
      ]);
      await assignments.waitFor(
        (m) => m.some((x) => x.attributes.event_id === `${bad.messageId}:message-rejected`),
        'the rejection',
      );

      await publishAndSettle({
        type: 'agent_state_change',
        agent_id: 'e2e-late',
        new_state: 'available',
        capabilities: ['late_work'],
      });
      env.flaky.failNext('putTask');
      const flaky = await publishAndSettle({
        type: 'coordination_request',
        task_id: 'e2e-flaky',
        task_type: 'late_work',
      });
      expect(flaky.outcomes.map((o) => o.status)).toEqual(['retry', 'done']);
      expect((await env.rt.store.getTask('e2e-flaky'))?.assigned_agents).toEqual(['e2e-late']);
      const events = (await published()).filter((m) => m.attributes.task_id === 'e2e-flaky');
      expect(events).toHaveLength(1);
      // By now the bad message would have come back had it not been acknowledged.
      expect(env.outcomes.get(bad.messageId)).toHaveLength(1);
    });
  });
});
