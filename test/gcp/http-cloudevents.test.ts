/**
 * CloudEvents on the GCP HTTP function, through the real functions-framework server (its
 * `getTestServer` is the express app `functions-framework --target` runs): binary, structured
 * and batched mode as the `cloudevents` SDK serializes them, and malformed ones refused with a
 * reason. The conversion under test is the HTTP layer's, so the runtime sits on the memory store
 * and the local bus instead of the emulators (test/gcp/functions.test.ts covers those).
 */
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { CloudEvent, HTTP } from 'cloudevents';
import { LocalBus } from '../../shared/adapters/local/local-bus';
import { MemoryStateStore } from '../../shared/adapters/local/memory-store';
import { nullLogger } from '../../shared/core/logger';
import { createGcpRuntime, useGcpRuntime, type GcpRuntime } from '../../shared/runtime/gcp';
import { FUNCTIONS } from '../../gcp/index';
import { listen } from './support/runtime';

const TOKEN = 'test-token-0123456789abcdef';
let rt: GcpRuntime;
let server: { url: string; close(): Promise<void> };
beforeAll(async () => {
  rt = createGcpRuntime(
    { GCP_PROJECT: 'demo', AUTH_TOKEN: TOKEN, LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '0' },
    { store: new MemoryStateStore(), bus: new LocalBus(), logger: nullLogger },
  );
  useGcpRuntime(rt);
  server = await listen(getTestServer(FUNCTIONS.http));
});
afterAll(async () => {
  useGcpRuntime(undefined);
  await server?.close();
});

let seq = 0;
const event = (type: string, data: unknown) =>
  new CloudEvent({ id: `gcp-ce-${++seq}`, source: '//tests/agents', type, data });
const post = async (headers: Record<string, unknown>, body: unknown) => {
  const res = await fetch(`${server.url}/events`, {
    method: 'POST',
    headers: { ...(headers as Record<string, string>), authorization: `Bearer ${TOKEN}` },
    body: String(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

test('a binary-mode CloudEvent (ce-* headers, the data as the body) is accepted', async () => {
  const message = HTTP.binary(
    event('agent_state_change', {
      agent_id: 'gcp-npa',
      new_state: 'available',
      capabilities: ['nutrition_analysis'],
    }),
  );
  const res = await post(message.headers, message.body);
  expect(res).toMatchObject({ status: 200, body: { agent_id: 'gcp-npa', status: 'available' } });
  expect((await rt.store.getAgent('gcp-npa'))?.status).toBe('available');
});

test('structured and batched mode', async () => {
  const structured = HTTP.structured(
    event('coordination_request', { task_id: 'gcp-t1', task_type: 'nutrition_analysis' }),
  );
  const one = await post(structured.headers, structured.body);
  expect(one).toMatchObject({ status: 200, body: { task_id: 'gcp-t1', assigned_agents: ['gcp-npa'] } });

  const done = event('task_completion', { task_id: 'gcp-t1', agent_id: 'gcp-npa' });
  const batch = await post(
    { 'content-type': 'application/cloudevents-batch+json' },
    JSON.stringify([done, { specversion: '1.0', id: 'gcp-bad', type: 'sweep', data: {} }]),
  );
  expect(batch.status).toBe(200);
  expect(batch.body).toMatchObject({
    batchItemFailures: [{ itemIdentifier: 'gcp-bad' }],
    outcomes: [
      { id: done.id, status: 'done' },
      { id: 'gcp-bad', status: 'dead_letter', reason: expect.stringMatching(/source/) },
    ],
  });
  expect((await rt.store.getTask('gcp-t1'))?.status).toBe('completed');
});

test('malformed CloudEvents get 400 (415 for non-JSON binary data) with a reason', async () => {
  const noSource = await post(
    { 'ce-specversion': '1.0', 'ce-id': 'x1', 'ce-type': 'sweep', 'content-type': 'application/json' },
    '{}',
  );
  expect(noSource).toMatchObject({ status: 400, body: { reason: expect.stringMatching(/source/) } });
  const text = await post(
    {
      'ce-specversion': '1.0',
      'ce-id': 'x2',
      'ce-source': '/x',
      'ce-type': 'sweep',
      'content-type': 'text/plain',
    },
    'hello',
  );
  expect(text).toMatchObject({ status: 415, body: { reason: expect.stringMatching(/must carry JSON/) } });
  const notArray = await post({ 'content-type': 'application/cloudevents-batch+json' }, '{}');
  expect(notArray).toMatchObject({ status: 400, body: { reason: expect.stringMatching(/JSON array/) } });
});
