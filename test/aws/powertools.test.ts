/**
 * Observability on Lambda: a real handler (functions/sqs.ts) runs over dynalite and a local
 * PutEvents server; what it prints is checked: CloudWatch EMF documents (namespace
 * AgentCoordinator, the core's METRICS names, their dimensions) flushed when the invocation
 * ends, and Powertools log lines carrying the Lambda request id, the cold-start flag and the
 * correlation id.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Context } from 'aws-lambda';
import { documentClient } from '../../shared/adapters/aws/dynamo-store';
import { PowertoolsTelemetry, type SpanTracer } from '../../shared/adapters/aws/powertools-telemetry';
import { METRICS } from '../../shared/core/ports';
import { createAwsRuntime, setAwsRuntime } from '../../shared/runtime/aws';
import { handler as sqsHandler } from '../../functions/sqs';
import { credentials, region, startDynalite, startEventBridge, type Dynalite } from './local-aws';
import { sqsEvent, sqsRecord } from './lambda-events';

let dynalite: Dynalite;
let eb: Awaited<ReturnType<typeof startEventBridge>>;
let ebClient: EventBridgeClient;

beforeAll(async () => {
  dynalite = await startDynalite();
  eb = await startEventBridge();
  ebClient = new EventBridgeClient({ endpoint: eb.endpoint, region, credentials, maxAttempts: 1 });
});
afterAll(async () => {
  delete process.env.AWS_LAMBDA_INITIALIZATION_TYPE;
  setAwsRuntime(undefined);
  ebClient.destroy();
  await eb.stop();
  await dynalite.stop();
});

function lambdaContext(requestId: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'agent-coordinator-test-sqs',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:agent-coordinator-test-sqs',
    memoryLimitInMB: '512',
    awsRequestId: requestId,
    logGroupName: '/aws/lambda/agent-coordinator-test-sqs',
    logStreamName: '2026/12/02/[$LATEST]abc',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** Runs `fn` and returns every JSON line it printed on stdout (Powertools' logs and EMF). */
async function printed(fn: () => Promise<unknown>): Promise<Array<Record<string, unknown>>> {
  const lines: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  });
  try {
    await fn();
  } finally {
    spy.mockRestore();
  }
  return lines.flatMap((l) => {
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

interface Emf {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: Array<{
      Namespace: string;
      Dimensions: string[][];
      Metrics: Array<{ Name: string; Unit: string }>;
    }>;
  };
  [key: string]: unknown;
}
const isEmf = (o: Record<string, unknown>): o is Emf => typeof o._aws === 'object';

test('an SQS invocation prints EMF with the core metric names and Powertools logs with the request id and cold start', async () => {
  const table = await dynalite.createTable();
  // What Lambda sets in an on-demand execution environment; Powertools reports cold starts only then.
  process.env.AWS_LAMBDA_INITIALIZATION_TYPE = 'on-demand';
  const runtime = createAwsRuntime(
    { TABLE_NAME: table, EVENT_BUS_NAME: 'coord-bus', LOG_LEVEL: 'debug' },
    { dynamo: documentClient(dynalite.client), eventBridge: ebClient },
  );
  setAwsRuntime(runtime);
  // Two agents (so that each request is a decision that gets logged), registered before the first invocation.
  for (const agent_id of ['pt-a', 'pt-b'])
    await runtime.coordinator.handle({
      type: 'agent_state_change',
      agent_id,
      new_state: 'available',
      capabilities: ['nutrition_analysis'],
    });
  await printed(async () => runtime.telemetry.flush()); // the registrations' metrics, not under test
  const request = (task_id: string) =>
    sqsRecord(JSON.stringify({ type: 'coordination_request', task_id, task_type: 'nutrition_analysis' }));
  const r1 = request('pt-1');
  const r2 = request('pt-2');
  const first = await printed(() => sqsHandler(sqsEvent(r1), lambdaContext('req-1')));
  const second = await printed(() => sqsHandler(sqsEvent(r2), lambdaContext('req-2')));

  // Logs: every line of an invocation has its request id; the first invocation is the cold start.
  const logs1 = first.filter((o) => !isEmf(o));
  const logs2 = second.filter((o) => !isEmf(o));
  expect(logs1.length).toBeGreaterThan(0);
  expect(logs2.length).toBeGreaterThan(0);
  for (const l of logs1)
    expect(l).toEqual(
      expect.objectContaining({
        function_request_id: 'req-1',
        cold_start: true,
        correlation_id: r1.messageId,
        service: 'agent-coordinator',
        runtime: 'aws',
      }),
    );
  for (const l of logs2)
    expect(l).toEqual(
      expect.objectContaining({
        function_request_id: 'req-2',
        cold_start: false,
        correlation_id: r2.messageId,
      }),
    );

  // EMF: printed at the end of the invocation, namespace AgentCoordinator, names from METRICS.
  const names = new Set<string>(Object.values(METRICS));
  const emf = second.filter(isEmf);
  expect(emf.length).toBeGreaterThan(0);
  const last = second.length - 1;
  expect(isEmf(second[last]!)).toBe(true); // flushed after the invocation's last log line
  const seen = new Map<string, Record<string, unknown>>();
  for (const doc of emf) {
    for (const directive of doc._aws.CloudWatchMetrics) {
      expect(directive.Namespace).toBe('AgentCoordinator');
      for (const set of directive.Dimensions) {
        expect(set).toContain('service');
        for (const d of set) expect(typeof doc[d]).toBe('string');
      }
      for (const m of directive.Metrics) {
        expect(names.has(m.Name)).toBe(true);
        expect(['Count', 'Milliseconds']).toContain(m.Unit);
        seen.set(m.Name, doc);
      }
    }
  }
  expect(seen.get(METRICS.decisions)).toEqual(
    expect.objectContaining({ router: 'rules', action: 'assign_task', [METRICS.decisions]: 1 }),
  );
  expect(seen.get(METRICS.deliveries)).toEqual(expect.objectContaining({ outcome: 'done' }));
  expect(seen.has(METRICS.assignmentLatency)).toBe(true);
});

test('metrics are kept until flush(), once per invocation, one EMF document per dimension set', async () => {
  const telemetry = new PowertoolsTelemetry();
  const out = await printed(async () => {
    telemetry.metric(METRICS.deliveries, 1, 'Count', { outcome: 'done' });
    telemetry.metric(METRICS.deliveries, 1, 'Count', { outcome: 'done' });
    telemetry.metric(METRICS.deliveries, 1, 'Count', { outcome: 'retry' });
    telemetry.metric(METRICS.queueDepth, 7, 'Count');
  });
  expect(out).toEqual([]);
  const flushed = (await printed(async () => telemetry.flush())).filter(isEmf);
  expect(flushed).toHaveLength(3);
  expect(flushed.find((d) => d.outcome === 'done')?.[METRICS.deliveries]).toEqual([1, 1]);
  expect(flushed.find((d) => d.outcome === 'retry')?.[METRICS.deliveries]).toBe(1);
  expect(flushed.find((d) => d.outcome === undefined)?.[METRICS.queueDepth]).toBe(7);
  expect((await printed(async () => telemetry.flush())).filter(isEmf)).toEqual([]);
});

test('with a tracer, span() runs the function in an X-Ray subsegment with its attributes as annotations', async () => {
  const closed: Array<{ name: string; annotations: Record<string, unknown>; error?: string }> = [];
  const subsegment = (name: string) => {
    const s = {
      name,
      annotations: {} as Record<string, unknown>,
      error: undefined as string | undefined,
      addAnnotation: (k: string, v: unknown) => void (s.annotations[k] = v),
      addError: (e: Error) => void (s.error = e.message),
      close: () =>
        void closed.push({ name, annotations: s.annotations, ...(s.error ? { error: s.error } : {}) }),
      addNewSubsegment: (child: string) => subsegment(child),
    };
    return s;
  };
  let current: unknown = subsegment('facade');
  const tracer = {
    isTracingEnabled: () => true,
    getSegment: () => current,
    setSegment: (s: unknown) => void (current = s),
  } as unknown as SpanTracer;
  const telemetry = new PowertoolsTelemetry({ tracer });
  const facade = current;
  await expect(
    telemetry.span('coordinator.route', { task_id: 't-1', batch: 2 }, async () => 42),
  ).resolves.toBe(42);
  await expect(
    telemetry.span('coordinator.publish', { events: 1 }, async () => {
      throw new Error('bus down');
    }),
  ).rejects.toThrow('bus down');
  expect(closed).toEqual([
    { name: 'coordinator.route', annotations: { task_id: 't-1', batch: 2 } },
    { name: 'coordinator.publish', annotations: { events: 1 }, error: 'bus down' },
  ]);
  expect(current).toBe(facade);
});
