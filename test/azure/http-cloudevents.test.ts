/**
 * The Azure HTTP trigger shares the HTTP API, CloudEvents included: binary, structured and
 * batched mode through the handler with real `HttpRequest`s, as the host hands them over.
 */
import { HttpRequest, InvocationContext } from '@azure/functions';
import { CloudEvent, HTTP } from 'cloudevents';
import { httpHandler } from '../../azure/functions/http';
import { MemoryStateStore } from '../../shared/adapters/local/memory-store';
import { createAzureRuntime } from '../../shared/runtime/azure';
import { FakeSender } from './support/service-bus-fakes';

const token = 'a-shared-secret-of-enough-length';
const runtime = createAzureRuntime(
  { LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '0', AUTH_TOKEN: token },
  { store: new MemoryStateStore(), sender: new FakeSender(), rejectedSender: new FakeSender() },
);
const handle = httpHandler(() => runtime);
const post = async (headers: Record<string, unknown>, body: unknown) => {
  const res = await handle(
    new HttpRequest({
      method: 'POST',
      url: 'https://coordinator.azurewebsites.net/api/events',
      params: { path: 'events' },
      headers: { ...(headers as Record<string, string>), authorization: `Bearer ${token}` },
      body: { string: String(body) },
    }),
    new InvocationContext({ functionName: 'api' }),
  );
  return { status: res.status, body: JSON.parse(String(res.body)) as Record<string, unknown> };
};

test('binary, structured and batched CloudEvents through the Azure HTTP trigger', async () => {
  const binary = HTTP.binary(
    new CloudEvent({
      id: 'az-1',
      source: '/agents',
      type: 'agent_state_change',
      data: { agent_id: 'az-npa', new_state: 'available', capabilities: ['nutrition_analysis'] },
    }),
  );
  expect(await post(binary.headers, binary.body)).toMatchObject({
    status: 200,
    body: { agent_id: 'az-npa' },
  });

  const structured = HTTP.structured(
    new CloudEvent({
      id: 'az-2',
      source: '/requests',
      type: 'Coordination Request',
      data: { task_id: 'az-t1', task_type: 'nutrition_analysis' },
    }),
  );
  expect(await post(structured.headers, structured.body)).toMatchObject({
    status: 200,
    body: { task_id: 'az-t1', assigned_agents: ['az-npa'] },
  });

  const batch = await post(
    { 'content-type': 'application/cloudevents-batch+json' },
    JSON.stringify([
      {
        specversion: '1.0',
        id: 'az-3',
        source: '/x',
        type: 'task_completion',
        data: { task_id: 'az-t1', agent_id: 'az-npa' },
      },
      { specversion: '1.0', id: 'az-4', source: '/x', type: 'nope', data: {} },
    ]),
  );
  expect(batch).toMatchObject({
    status: 200,
    body: {
      batchItemFailures: [{ itemIdentifier: 'az-4' }],
      outcomes: [{ id: 'az-3', status: 'done' }, { id: 'az-4' }],
    },
  });
  expect((await runtime.store.getTask('az-t1'))?.status).toBe('completed');

  const bad = await post(
    { 'ce-specversion': '1.0', 'ce-id': 'az-5', 'content-type': 'application/json' },
    '{}',
  );
  expect(bad).toMatchObject({ status: 400, body: { reason: expect.stringMatching(/source/) } });
});
