import { ConfigError } from '../../shared/core/errors';
import { MemoryStateStore } from '../../shared/adapters/local/memory-store';
import { LocalBus } from '../../shared/adapters/local/local-bus';
import { createGcpRuntime, rejectionEvent } from '../../shared/runtime/gcp';
import type { LlmClient } from '../../shared/core/ports';

const quiet = { LOG_LEVEL: 'silent' };
const local = () => ({ store: new MemoryStateStore(), bus: new LocalBus() });

test('only the rules and vertex routers run on GCP; vertex needs a project', () => {
  expect(() => createGcpRuntime({ ...quiet, ROUTER: 'bedrock' }, local())).toThrow(ConfigError);
  expect(() => createGcpRuntime({ ...quiet, ROUTER: 'vertex' }, local())).toThrow(/GCP_PROJECT/);
  expect(() => createGcpRuntime({ ...quiet, AUTH_TOKEN: 'short' }, local())).toThrow(/AUTH_TOKEN/);
});

test('ROUTER=vertex wraps the Vertex client in the LLM router; rules otherwise', () => {
  const client: LlmClient = { provider: 'vertex', model: 'gemini-test', complete: async () => ({}) };
  const vertex = createGcpRuntime(
    { ...quiet, ROUTER: 'vertex', GCP_PROJECT: 'p' },
    { ...local(), llmClient: client },
  );
  expect(vertex.router.name).toMatch(/llm/);
  expect(createGcpRuntime(quiet, local()).router.name).toBe('rules');
});

test('a rejected Pub/Sub message becomes a Task Rejected event addressed to its requester', async () => {
  const bus = new LocalBus();
  const rt = createGcpRuntime(quiet, { store: new MemoryStateStore(), bus });
  const data = Buffer.from(
    JSON.stringify({ type: 'coordination_request', task_id: 't-1', agent_id: 'asker', task_type: '' }),
  ).toString('base64');
  const event = {
    specversion: '1.0',
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    source: 's',
    id: 'm-1',
    data: { message: { data, messageId: 'm-1' }, subscription: 'x' },
  };
  const [outcome] = await rt.coordinator.handle(event, { id: 'm-1' });
  expect(outcome?.status).toBe('dead_letter');
  if (outcome?.status !== 'dead_letter') return;
  await rt.reject(outcome, event);
  expect(bus.list()).toEqual([
    expect.objectContaining({
      id: 'm-1:message-rejected',
      type: 'Task Rejected',
      task_id: 't-1',
      target_agent: 'asker',
      detail: expect.objectContaining({ code: 'INVALID_MESSAGE', message_id: 'm-1' }),
    }),
  ]);
  // Unreadable data: no requester, the delivery id stands in for the task id.
  const garbage = rejectionEvent(
    { id: 'm-2', status: 'dead_letter', code: 'INVALID_MESSAGE', reason: 'bad' },
    { data: { message: { data: '!!!' } } },
    't',
  );
  expect(garbage).toMatchObject({ task_id: 'm-2', detail: { reason: 'bad' } });
  expect(garbage.target_agent).toBeUndefined();
});
