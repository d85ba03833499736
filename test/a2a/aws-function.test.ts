/**
 * The AWS function URL for A2A push notifications: a real agent pushes to a loopback server
 * that hands each request to the Lambda handler as a function URL event, as AWS would.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { handler } from '../../functions/a2a';
import { nullLogger } from '../../shared/core/logger';
import { setAwsRuntime, type AwsRuntime } from '../../shared/runtime/aws';
import { createLocalRuntime, type LocalRuntime } from '../../shared/runtime/local';
import { startTestAgent, type TestAgent } from './support/agents';
import { untilStatus } from './support/wait';

let runtime: LocalRuntime;
let agent: TestAgent;
let functionUrl: http.Server;
beforeAll(async () => {
  runtime = await createLocalRuntime({ STORE: 'memory', LOG_LEVEL: 'silent' }, { logger: nullLogger });
  // The Lambda runtime's part that matters here is its coordinator.
  setAwsRuntime({
    coordinator: runtime.coordinator,
    logger: nullLogger,
    telemetry: { flush: () => undefined },
  } as unknown as AwsRuntime);
  functionUrl = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const event = {
        rawPath: req.url,
        headers: req.headers as Record<string, string>,
        body: Buffer.concat(chunks).toString('base64'),
        isBase64Encoded: true,
        requestContext: { http: { method: req.method } },
      } as unknown as APIGatewayProxyEventV2;
      void handler(event).then((out) => {
        res.writeHead(out.statusCode ?? 200, out.headers as Record<string, string>);
        res.end(out.body);
      });
    });
  });
  await new Promise<void>((r) => functionUrl.listen(0, '127.0.0.1', () => r()));
  runtime.a2a.setNotificationUrl(`http://127.0.0.1:${(functionUrl.address() as AddressInfo).port}/`);
  agent = await startTestAgent({ behaviour: 'complete' });
});
afterAll(async () => {
  setAwsRuntime(undefined);
  await agent.close();
  await new Promise<void>((r) => (functionUrl.closeAllConnections(), functionUrl.close(() => r())));
  await runtime.close();
});

test('an agent pushes to the function URL and the task completes', async () => {
  const [reg] = await runtime.coordinator.handle({
    type: 'agent_state_change',
    agent_id: 'npa',
    new_state: 'available',
    agent_card_url: agent.cardUrl,
  });
  expect(reg?.status).toBe('done');
  await runtime.coordinator.handle({
    type: 'coordination_request',
    task_id: 'aws-1',
    task_type: 'nutrition_analysis',
  });
  const task = await untilStatus(runtime.coordinator, 'aws-1', 'completed');
  expect(task).toMatchObject({ status: 'completed', completed_agents: ['npa'], a2a_tasks: [{ push: true }] });
  const bad = await handler({
    headers: {},
    body: 'not json',
    requestContext: { http: { method: 'POST' } },
  } as unknown as APIGatewayProxyEventV2);
  expect(bad.statusCode).toBe(400);
});
