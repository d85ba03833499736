/**
 * On GCP the HTTP function serves `/a2a/notifications` (the same HTTP API): a real A2A agent
 * registered in the GCP runtime pushes there, through the function's handler mounted in express
 * as the Functions Framework mounts it.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Request, Response } from '@google-cloud/functions-framework';
import { httpHandler } from '../../gcp/http';
import { MemoryStateStore } from '../../shared/adapters/local/memory-store';
import { createGcpRuntime, type GcpRuntime } from '../../shared/runtime/gcp';
import type { PublishTarget } from '../../shared/adapters/gcp/pubsub-bus';
import { startTestAgent, type TestAgent } from './support/agents';
import { untilStatus } from './support/wait';

let runtime: GcpRuntime;
let agent: TestAgent;
let server: Server;
const published: unknown[] = [];
const topic: PublishTarget = {
  name: 'projects/demo/topics/agent-assignments',
  publishMessage: async (m: unknown) => {
    published.push(m);
    return `${published.length}`;
  },
} as unknown as PublishTarget;

beforeAll(async () => {
  const app = express();
  app.use(express.raw({ type: '*/*' }), (req, _res, next) => {
    (req as unknown as { rawBody: Buffer }).rawBody = req.body as Buffer;
    next();
  });
  const handle = httpHandler(async () => runtime);
  app.use((req, res) => void handle(req as unknown as Request, res as unknown as Response));
  server = await new Promise((r) => {
    const s = app.listen(0, '127.0.0.1', () => r(s));
  });
  const port = (server.address() as AddressInfo).port;
  runtime = createGcpRuntime(
    {
      LOG_LEVEL: 'silent',
      RATE_LIMIT_PER_MINUTE: '0',
      A2A_NOTIFICATION_URL: `http://127.0.0.1:${port}/a2a/notifications`,
    },
    { store: new MemoryStateStore(), topic },
  );
  agent = await startTestAgent({ behaviour: 'complete' });
});
afterAll(async () => {
  await agent.close();
  await new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r())));
});

test('an A2A agent pushes to the GCP HTTP function and the task completes; Pub/Sub still gets the assignment', async () => {
  await runtime.coordinator.handle({
    type: 'agent_state_change',
    agent_id: 'npa',
    new_state: 'available',
    agent_card_url: agent.cardUrl,
  });
  await runtime.coordinator.handle({
    type: 'coordination_request',
    task_id: 'gcp-1',
    task_type: 'nutrition_analysis',
  });
  const task = await untilStatus(runtime.coordinator, 'gcp-1', 'completed');
  expect(task?.completed_agents).toEqual(['npa']);
  expect(published).toHaveLength(1);
});
