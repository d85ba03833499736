/**
 * `npm run dev:aws` end to end: the same `startDevAws()` the script runs starts dynalite,
 * local-aws-sqs, the local PutEvents endpoint and `serverless offline` (bundling with
 * serverless-esbuild). Messages go to the inbound queue with the real SQS client and reach the
 * `sqs` function through serverless-offline-sqs, offline's own trigger; the assignment is read
 * back from DynamoDB through the store and from the EventBridge endpoint.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { documentClient, DynamoStateStore } from '../../shared/adapters/aws/dynamo-store';
import { startDevAws, type DevAws } from '../../scripts/dev-aws';

jest.setTimeout(180_000);

/** Polls `probe` until it returns a value, or fails with `what` at the deadline (readiness, not timing). */
async function eventually<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

let dev: DevAws;
let sqs: SQSClient;
let dynamo: DynamoDBClient;
let store: DynamoStateStore;

beforeAll(async () => {
  const lines: string[] = [];
  try {
    dev = await startDevAws({ stage: `t${process.pid}`, log: (line) => lines.push(line) });
  } catch (err) {
    throw new Error(`${String(err)}\n${lines.join('\n')}`);
  }
  sqs = new SQSClient({ endpoint: dev.endpoints.sqs, region: dev.region, credentials: dev.credentials });
  dynamo = new DynamoDBClient({
    endpoint: dev.endpoints.dynamodb,
    region: dev.region,
    credentials: dev.credentials,
  });
  store = new DynamoStateStore(documentClient(dynamo), dev.tableName);
});

afterAll(async () => {
  sqs?.destroy();
  dynamo?.destroy();
  await dev?.stop();
});

const send = (message: unknown) =>
  sqs.send(new SendMessageCommand({ QueueUrl: dev.inboundQueueUrl, MessageBody: JSON.stringify(message) }));

test('an agent registration and a coordination request sent to the queue end in a published assignment', async () => {
  await send({
    type: 'agent_state_change',
    agent_id: 'nutrition-offline',
    new_state: 'available',
    capabilities: ['nutrition_analysis'],
  });
  const agent = await eventually('the agent in DynamoDB', () => store.getAgent('nutrition-offline'));
  expect(agent).toEqual(
    expect.objectContaining({ status: 'available', capabilities: ['nutrition_analysis'] }),
  );

  await send({
    type: 'coordination_request',
    task_id: 'offline-1',
    task_type: 'nutrition_analysis',
    priority: 'high',
    task_data: { request: '7-day plan' },
  });
  const task = await eventually('the task assigned in DynamoDB', async () => {
    const t = await store.getTask('offline-1');
    return t?.status === 'assigned' ? t : undefined;
  });
  expect(task.assigned_agents).toEqual(['nutrition-offline']);

  const published = await eventually('the Task Assignment on the EventBridge endpoint', async () =>
    dev.eventBridge.events.find((e) => e.DetailType === 'Task Assignment'),
  );
  expect(published.EventBusName).toBe(dev.busName);
  expect(published.Source).toBe('agent-coordinator.coordination');
  const detail = JSON.parse(published.Detail!) as {
    target_agent: string;
    task_message: { task_id: string; task_type: string; priority: string };
  };
  expect(detail.target_agent).toBe('nutrition-offline');
  expect(detail.task_message).toEqual(
    expect.objectContaining({ task_id: 'offline-1', task_type: 'nutrition_analysis', priority: 'high' }),
  );
  // It came through offline's SQS trigger: the sqs function's invocations are in offline's log.
  expect(dev.output()).toMatch(/\(λ: sqs\) RequestId/);
});
