/**
 * CloudEvents over HTTP on the local server: binary mode (`ce-*` headers, the data as the body),
 * structured mode and batched mode, sent the way the `cloudevents` SDK's own HTTP binding
 * serializes them; malformed ones get 400 (or 415) with a reason.
 */
import { CloudEvent, HTTP } from 'cloudevents';
import { nullLogger } from '../../shared/core/logger';
import { createLocalRuntime, type LocalRuntime } from '../../shared/runtime/local';
import { startLocalServer, type RunningServer } from '../../shared/runtime/local-server';
import { request } from './support';

let runtime: LocalRuntime;
let server: RunningServer;
beforeAll(async () => {
  runtime = await createLocalRuntime(
    { STORE: 'memory', PORT: '0', LOG_LEVEL: 'silent' },
    { logger: nullLogger },
  );
  server = await startLocalServer(runtime);
});
afterAll(async () => {
  await server.close();
  await runtime.close();
});

let seq = 0;
const event = (type: string, data: unknown, extra: Record<string, unknown> = {}) =>
  new CloudEvent({ id: `ce-${++seq}`, source: '/tests/agents', type, data, ...extra });
const send = (message: { headers: Record<string, unknown>; body: unknown }) =>
  request(server.url, 'POST', '/events', message.headers as Record<string, string>, String(message.body));

test('binary mode: ce-* headers and the message as a JSON body', async () => {
  const message = HTTP.binary(
    event('agent_state_change', {
      agent_id: 'ce-npa',
      new_state: 'available',
      capabilities: ['nutrition_analysis'],
    }),
  );
  expect(message.headers['ce-id']).toBeDefined();
  const res = await send(message);
  expect(res.status).toBe(200);
  expect(res.json).toMatchObject({ agent_id: 'ce-npa', status: 'available' });
  expect((await runtime.store.getAgent('ce-npa'))?.capabilities).toEqual(['nutrition_analysis']);

  // Any JSON media type, and the EventBridge spelling of the type.
  const vendor = HTTP.binary(
    event('agent-coordinator.Coordination Request', { task_id: 'ce-t1', task_type: 'nutrition_analysis' }),
  );
  const res2 = await send({
    ...vendor,
    headers: { ...vendor.headers, 'content-type': 'application/vnd.acme+json' },
  });
  expect(res2.status).toBe(200);
  expect(res2.json).toMatchObject({ task_id: 'ce-t1', status: 'assigned', assigned_agents: ['ce-npa'] });
});

test('binary mode carrying a Pub/Sub messagePublished event (Eventarc, push subscriptions)', async () => {
  const message = {
    type: 'agent_state_change',
    agent_id: 'ce-ps',
    new_state: 'available',
    capabilities: ['x'],
  };
  const res = await request(
    server.url,
    'POST',
    '/events',
    {
      'content-type': 'application/json',
      'ce-specversion': '1.0',
      'ce-id': 'ps-1',
      'ce-source': '//pubsub.googleapis.com/projects/demo/topics/coordinator-in',
      'ce-type': 'google.cloud.pubsub.topic.v1.messagePublished',
    },
    JSON.stringify({
      message: { data: Buffer.from(JSON.stringify(message)).toString('base64'), messageId: 'ps-1' },
      subscription: 'projects/demo/subscriptions/coordinator-in',
    }),
  );
  expect(res.status).toBe(200);
  expect((await runtime.store.getAgent('ce-ps'))?.status).toBe('available');
});

test('structured mode: the whole event as application/cloudevents+json, data inline or base64', async () => {
  const res = await send(
    HTTP.structured(event('coordination_request', { task_id: 'ce-t2', task_type: 'nutrition_analysis' })),
  );
  expect(res.status).toBe(200);
  expect(res.json).toMatchObject({ task_id: 'ce-t2', status: 'assigned' });
  const b64 = Buffer.from(JSON.stringify({ task_id: 'ce-t2', agent_id: 'ce-npa' })).toString('base64');
  const res2 = await request(
    server.url,
    'POST',
    '/events',
    { 'content-type': 'application/cloudevents+json; charset=utf-8' },
    JSON.stringify({
      specversion: '1.0',
      id: 'ce-b64',
      source: '/x',
      type: 'task_completion',
      data_base64: b64,
    }),
  );
  expect(res2.status).toBe(200);
  expect((await runtime.store.getTask('ce-t2'))?.status).toBe('completed');
});

test('batched mode: one delivery per event, each with its own outcome; a bad one fails alone', async () => {
  const good = event('agent_state_change', {
    agent_id: 'ce-coach',
    new_state: 'available',
    capabilities: ['workout'],
  });
  const request2 = event('coordination_request', { task_id: 'ce-t3', task_type: 'workout' });
  const body = JSON.stringify([
    good,
    request2,
    { specversion: '1.0', id: 'no-source', type: 'agent_health_check', data: {} },
    {
      specversion: '1.0',
      id: 'bad-data',
      source: '/x',
      type: 'coordination_request',
      data: { task_type: '' },
    },
    'not an event',
  ]);
  const res = await request(
    server.url,
    'POST',
    '/events',
    { 'content-type': 'application/cloudevents-batch+json' },
    body,
  );
  expect(res.status).toBe(200);
  const outcomes = res.json.outcomes as Array<{ id: string; status: string; reason?: string }>;
  expect(outcomes.map((o) => [o.id, o.status])).toEqual([
    [good.id, 'done'],
    [request2.id, 'done'],
    ['no-source', 'dead_letter'],
    ['bad-data', 'dead_letter'],
    ['event-4', 'dead_letter'],
  ]);
  expect(outcomes[2]!.reason).toMatch(/source/);
  expect(outcomes[3]!.reason).toMatch(/task_type/);
  expect(outcomes[4]!.reason).toMatch(/must be a JSON object/);
  expect(res.json.batchItemFailures).toEqual([
    { itemIdentifier: 'no-source' },
    { itemIdentifier: 'bad-data' },
    { itemIdentifier: 'event-4' },
  ]);
  expect((await runtime.store.getTask('ce-t3'))?.assigned_agents).toEqual(['ce-coach']);
});

test('malformed CloudEvents get 400 (415 for non-JSON data) with a reason', async () => {
  const binary = {
    'ce-specversion': '1.0',
    'ce-id': 'm1',
    'ce-source': '/x',
    'ce-type': 'agent_health_check',
  };
  const cases: Array<[Record<string, string>, string, number, RegExp]> = [
    [{ ...binary, 'ce-id': '', 'content-type': 'application/json' }, '{}', 400, /ce-id/],
    [{ 'ce-specversion': '1.0', 'content-type': 'application/json' }, '{}', 400, /ce-id/],
    [{ ...binary, 'ce-source': '', 'content-type': 'application/json' }, '{}', 400, /source/],
    [{ ...binary, 'ce-time': 'yesterday', 'content-type': 'application/json' }, '{}', 400, /time/],
    [{ ...binary, 'ce-specversion': '0.3', 'content-type': 'application/json' }, '{}', 400, /specversion/],
    [{ ...binary, 'content-type': 'application/json' }, '{nope', 400, /not valid JSON/],
    [{ ...binary, 'content-type': 'text/plain' }, '{}', 415, /text\/plain/],
    [{ 'content-type': 'application/cloudevents+json' }, '{nope', 400, /not valid JSON/],
    [{ 'content-type': 'application/cloudevents+json' }, '[]', 400, /must be a JSON object/],
    [
      { 'content-type': 'application/cloudevents+json' },
      '{"specversion":"1.0","id":"x","type":"sweep"}',
      400,
      /source/,
    ],
    [
      { 'content-type': 'application/cloudevents+json' },
      '{"specversion":"1.0","id":"x","source":"/x","type":"sweep","datacontenttype":"text/plain","data":"hi"}',
      400,
      /datacontenttype text\/plain is not JSON/,
    ],
    [
      { 'content-type': 'application/cloudevents+json' },
      '{"specversion":"1.0","id":"x","source":"/x","type":"sweep","Bad_Name":1}',
      400,
      /extension name/,
    ],
    [
      { 'content-type': 'application/cloudevents-batch+json' },
      '{"specversion":"1.0"}',
      400,
      /must be a JSON array/,
    ],
    [{ 'content-type': 'application/cloudevents-batch+json' }, '[]', 400, /at least one event/],
  ];
  for (const [headers, body, status, reason] of cases) {
    const res = await request(server.url, 'POST', '/events', headers, body);
    expect([res.status, res.json.reason]).toEqual([status, expect.stringMatching(reason)]);
  }
});
