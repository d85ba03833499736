/**
 * The Lambda handlers end to end: real event shapes in, the DynamoDB store on dynalite, the
 * EventBridge bus through the real client against a local PutEvents server.
 */
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { handler as directHandler } from '../../functions/direct';
import { handler as eventBridgeHandler } from '../../functions/eventbridge';
import { handler as scheduleHandler } from '../../functions/schedule';
import { handler as sqsHandler } from '../../functions/sqs';
import { documentClient } from '../../shared/adapters/aws/dynamo-store';
import { DECISION_TOOL } from '../../shared/core/routing/prompt';
import {
  createAwsRuntime,
  setAwsRuntime,
  type AwsRuntime,
  type AwsRuntimeOverrides,
} from '../../shared/runtime/aws';
import { runCoreScenario, type PublishedAssignment, type ScenarioDriver } from '../support/scenario';
import { serverError, startConverseServer, toolUseReply } from './bedrock-server';
import { DETAIL_TYPE, eventBridgeEvent, scheduledEvent, sqsEvent, sqsRecord } from './lambda-events';
import { credentials, region, startDynalite, startEventBridge, type Dynalite } from './local-aws';

let dynalite: Dynalite;
let eb: Awaited<ReturnType<typeof startEventBridge>>;
let ebClient: EventBridgeClient;
beforeAll(async () => {
  dynalite = await startDynalite();
  eb = await startEventBridge();
  ebClient = new EventBridgeClient({ endpoint: eb.endpoint, region, credentials, maxAttempts: 1 });
});
afterAll(async () => {
  setAwsRuntime(undefined);
  ebClient.destroy();
  await eb.stop();
  await dynalite.stop();
});

/** A fresh table and a runtime over it, installed as the Lambda instance's runtime. */
async function freshRuntime(
  env: Record<string, string> = {},
  overrides: AwsRuntimeOverrides = {},
): Promise<AwsRuntime> {
  const table = await dynalite.createTable();
  const runtime = createAwsRuntime(
    {
      TABLE_NAME: table,
      EVENT_BUS_NAME: 'coord-bus',
      LOG_LEVEL: 'silent',
      POWERTOOLS_METRICS_DISABLED: 'true',
      ...env,
    },
    { dynamo: documentClient(dynalite.client), eventBridge: ebClient, ...overrides },
  );
  setAwsRuntime(runtime);
  return runtime;
}

function published(): PublishedAssignment[] {
  return eb.accepted.map((e) => {
    const d = JSON.parse(e.Detail) as {
      target_agent?: string;
      task_id?: string;
      task_message?: { task_id: string; attempt: number };
    };
    const taskId = d.task_message?.task_id ?? d.task_id ?? '';
    return {
      id: `${taskId}:${d.task_message?.attempt}:${d.target_agent}`,
      type: e.DetailType,
      task_id: taskId,
      target_agent: d.target_agent,
    };
  });
}

/** Coordination requests arrive on SQS, agent events on EventBridge, direct assignments by invocation. */
function lambdaDriver(runtime: AwsRuntime): ScenarioDriver {
  return {
    async send(message, options) {
      const type = String(message.type);
      if (type === 'coordination_request') {
        const res = await sqsHandler(sqsEvent(sqsRecord(JSON.stringify(message), options?.id)));
        expect(res).toEqual({ batchItemFailures: [] });
      } else if (DETAIL_TYPE[type]) {
        const { type: _t, ...detail } = message;
        await eventBridgeHandler(eventBridgeEvent(DETAIL_TYPE[type]!, detail));
      } else {
        await directHandler(message);
      }
    },
    async published() {
      return published();
    },
    task: (id) => runtime.store.getTask(id),
    agent: (id) => runtime.store.getAgent(id),
  };
}

const agentUp = (agent_id: string, capabilities: string[], max = 2) =>
  eventBridgeEvent('Agent State Change', {
    agent_id,
    new_state: 'available',
    capabilities,
    max_concurrent_tasks: max,
  });
const request = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    type: 'coordination_request',
    task_type: 'nutrition_analysis',
    agent_id: 'requester',
    ...extra,
  });

test('the core scenario through SQS, EventBridge and direct invocations on DynamoDB', async () => {
  const runtime = await freshRuntime();
  await runCoreScenario(lambdaDriver(runtime), 'aws');
  // Assignments went out per the contract.
  const first = eb.accepted.find((e) => e.DetailType === 'Task Assignment')!;
  expect(first).toMatchObject({ Source: 'agent-coordinator.coordination', EventBusName: 'coord-bus' });
});

test('an SQS batch with a malformed record reports exactly that messageId', async () => {
  const runtime = await freshRuntime();
  await eventBridgeHandler(agentUp('npa', ['nutrition_analysis'], 5));
  const good1 = sqsRecord(request({ task_id: 'b-1' }));
  const bad = sqsRecord('{"type": "coordination_request", "task_type": ');
  const unknown = sqsRecord(JSON.stringify({ hello: 'world' }));
  const good2 = sqsRecord(request({ task_id: 'b-2' }));
  const res = await sqsHandler(sqsEvent(good1, bad, good2, unknown));
  expect(res).toEqual({
    batchItemFailures: [{ itemIdentifier: bad.messageId }, { itemIdentifier: unknown.messageId }],
  });
  expect((await runtime.store.getTask('b-1'))?.status).toBe('assigned');
  expect((await runtime.store.getTask('b-2'))?.status).toBe('assigned');
});

test('on a FIFO queue processing stops at the first failure', async () => {
  const runtime = await freshRuntime();
  await eventBridgeHandler(agentUp('npa', ['nutrition_analysis'], 5));
  const arn = 'arn:aws:sqs:us-east-1:123456789012:inbound.fifo';
  const ok = sqsRecord(request({ task_id: 'f-1' }), undefined, arn);
  const bad = sqsRecord('not json', undefined, arn);
  const after = sqsRecord(request({ task_id: 'f-2' }), undefined, arn);
  const res = await sqsHandler(sqsEvent(ok, bad, after));
  expect(res).toEqual({
    batchItemFailures: [{ itemIdentifier: bad.messageId }, { itemIdentifier: after.messageId }],
  });
  expect(await runtime.store.getTask('f-2')).toBeUndefined();
});

test('a duplicate SQS delivery (same messageId, no task_id) yields one assignment', async () => {
  const runtime = await freshRuntime();
  await eventBridgeHandler(agentUp('npa', ['nutrition_analysis'], 5));
  const before = eb.accepted.length;
  const record = sqsRecord(request());
  expect(await sqsHandler(sqsEvent(record))).toEqual({ batchItemFailures: [] });
  expect(await sqsHandler(sqsEvent(record))).toEqual({ batchItemFailures: [] });
  const assignments = eb.accepted.slice(before).filter((e) => e.DetailType === 'Task Assignment');
  expect(assignments).toHaveLength(1);
  const task = await runtime.store.getTask(`task-${record.messageId}`);
  expect(task?.status).toBe('assigned');
  expect((await runtime.store.getAgent('npa'))?.active_tasks).toBe(1);
});

test('a scheduled event sweeps: stale agents go offline and their tasks are requeued', async () => {
  let now = Date.parse('2026-03-01T00:00:00.000Z');
  const runtime = await freshRuntime({ AGENT_HEARTBEAT_TTL: '60' }, { clock: { now: () => now } });
  await eventBridgeHandler(agentUp('npa', ['nutrition_analysis']));
  await sqsHandler(sqsEvent(sqsRecord(request({ task_id: 'sw-1' }))));
  expect((await runtime.store.getTask('sw-1'))?.status).toBe('assigned');
  now += 10 * 60_000;
  const summary = (await scheduleHandler(scheduledEvent())) as {
    offline: string[];
    requeued: string[];
  };
  expect(summary.offline).toEqual(['npa']);
  expect(summary.requeued).toEqual(['sw-1']);
  expect((await runtime.store.getAgent('npa'))?.status).toBe('offline');
  expect((await runtime.store.getTask('sw-1'))?.status).toBe('queued');
  // The same scheduled event on the EventBridge handler is a sweep too.
  await expect(eventBridgeHandler(scheduledEvent())).resolves.toMatchObject({ offline: [] });
});

test('direct invocation: one message returns its result, a batch returns batchItemFailures, bad input its error', async () => {
  await freshRuntime();
  await directHandler({
    type: 'agent_state_change',
    agent_id: 'npa',
    new_state: 'available',
    capabilities: ['nutrition_analysis'],
  });
  await expect(directHandler(JSON.parse(request({ task_id: 'd-1' })))).resolves.toMatchObject({
    task_id: 'd-1',
    status: 'assigned',
    assigned_agents: ['npa'],
  });
  await expect(directHandler({ type: 'teleport' })).resolves.toMatchObject({ error: 'UNKNOWN_MESSAGE_TYPE' });
  const bad = sqsRecord('[]');
  const batch = (await directHandler(sqsEvent(sqsRecord(request({ task_id: 'd-2' })), bad))) as {
    batchItemFailures: unknown[];
  };
  expect(batch.batchItemFailures).toEqual([{ itemIdentifier: bad.messageId }]);
  await expect(directHandler({ type: 'agent_health_check', agent_id: 'npa' })).resolves.toBeDefined();
});

test('an unreachable store makes the invocation throw (retry) and the SQS record fail', async () => {
  const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
  const dead = new DynamoDBClient({ endpoint: 'http://127.0.0.1:9', region, credentials, maxAttempts: 1 });
  await freshRuntime({}, { dynamo: documentClient(dead) });
  await expect(directHandler(JSON.parse(request({ task_id: 'x' })))).rejects.toThrow(/STORE_UNAVAILABLE/);
  const record = sqsRecord(request({ task_id: 'y' }));
  expect(await sqsHandler(sqsEvent(record))).toEqual({
    batchItemFailures: [{ itemIdentifier: record.messageId }],
  });
  dead.destroy();
});

describe('ROUTER=bedrock', () => {
  async function bedrockRuntime(reply: Parameters<typeof startConverseServer>[0]) {
    const server = await startConverseServer(reply);
    const sdk = new BedrockRuntimeClient({
      endpoint: server.endpoint,
      region,
      credentials,
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler(),
    });
    const runtime = await freshRuntime({ ROUTER: 'bedrock', COORDINATION_TIMEOUT: '5' }, { bedrock: sdk });
    // Two free capable agents: a judgement call, so the router asks Bedrock.
    await eventBridgeHandler(agentUp('npa', ['nutrition_analysis']));
    await eventBridgeHandler(agentUp('npa-2', ['nutrition_analysis']));
    return { runtime, server, close: async () => (sdk.destroy(), await server.stop()) };
  }

  test('a Bedrock decision is executed and its token usage recorded on the task', async () => {
    const decision = { action: 'assign_task', target_agents: ['npa-2'], reasoning: 'npa-2 fits' };
    const { runtime, server, close } = await bedrockRuntime(() => toolUseReply(DECISION_TOOL.name, decision));
    try {
      await sqsHandler(sqsEvent(sqsRecord(request({ task_id: 'llm-1' }))));
      const task = await runtime.store.getTask('llm-1');
      expect(task?.assigned_agents).toEqual(['npa-2']);
      expect(task?.decision).toMatchObject({
        router: 'llm',
        model: expect.any(String),
        usage: { input_tokens: 812, output_tokens: 64 },
      });
      expect(server.calls).toHaveLength(1);
    } finally {
      await close();
    }
  });

  test('an unavailable Bedrock yields rules decisions with router "rules" and the reason recorded', async () => {
    const { runtime, server, close } = await bedrockRuntime(() => serverError);
    try {
      const records = [sqsRecord(request({ task_id: 'rb-1' })), sqsRecord(request({ task_id: 'rb-2' }))];
      expect(await sqsHandler(sqsEvent(...records))).toEqual({ batchItemFailures: [] });
      for (const id of ['rb-1', 'rb-2']) {
        const task = await runtime.store.getTask(id);
        expect(task?.status).toBe('assigned');
        expect(task?.decision?.router).toBe('rules');
        expect(task?.decision?.fallback_reason).toMatch(/^server_error/);
      }
      expect(server.calls.length).toBeGreaterThan(0);
    } finally {
      await close();
    }
  });
});
