/**
 * On Azure the HTTP trigger serves `/api/a2a/notifications` (the same HTTP API): a real A2A
 * agent registered in the Azure runtime pushes its update there, through the trigger's handler.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpRequest, InvocationContext } from '@azure/functions';
import { httpHandler } from '../../azure/functions/http';
import { MemoryStateStore } from '../../shared/adapters/local/memory-store';
import { createAzureRuntime, type AzureRuntime } from '../../shared/runtime/azure';
import { FakeSender } from '../azure/support/service-bus-fakes';
import { startTestAgent, type TestAgent } from './support/agents';
import { untilStatus } from './support/wait';

let runtime: AzureRuntime;
let agent: TestAgent;
let host: http.Server;
const context = () =>
  new InvocationContext({ invocationId: 'test', functionName: 'http', logHandler: () => undefined });

beforeAll(async () => {
  // Stands in for the Functions host: every request under /api goes to the HTTP trigger.
  host = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const request = new HttpRequest({
        method: req.method ?? 'POST',
        url: `http://127.0.0.1${url.pathname}`,
        params: { path: url.pathname.replace(/^\/api\//, '') },
        headers: req.headers as Record<string, string>,
        body: { string: Buffer.concat(chunks).toString('utf8') },
      });
      void httpHandler(() => runtime)(request, context()).then((out) => {
        res.writeHead(out.status ?? 200, out.headers as Record<string, string>);
        res.end(out.body as string);
      });
    });
  });
  await new Promise<void>((r) => host.listen(0, '127.0.0.1', () => r()));
  const port = (host.address() as AddressInfo).port;
  runtime = createAzureRuntime(
    {
      LOG_LEVEL: 'silent',
      RATE_LIMIT_PER_MINUTE: '0',
      A2A_NOTIFICATION_URL: `http://127.0.0.1:${port}/api/a2a/notifications`,
    },
    { store: new MemoryStateStore(), sender: new FakeSender(), rejectedSender: new FakeSender() },
  );
  agent = await startTestAgent({ behaviour: 'complete' });
});
afterAll(async () => {
  await agent.close();
  await new Promise<void>((r) => (host.closeAllConnections(), host.close(() => r())));
});

test('an A2A agent pushes to the Azure HTTP trigger and the task completes', async () => {
  await runtime.coordinator.handle({
    type: 'agent_state_change',
    agent_id: 'npa',
    new_state: 'available',
    agent_card_url: agent.cardUrl,
  });
  await runtime.coordinator.handle({
    type: 'coordination_request',
    task_id: 'az-1',
    task_type: 'nutrition_analysis',
  });
  const task = await untilStatus(runtime.coordinator, 'az-1', 'completed');
  expect(task?.completed_agents).toEqual(['npa']);
});
