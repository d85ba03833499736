import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createSqsServer } from 'local-aws-sqs';
import type { AddressInfo } from 'node:net';
import { EventBridgeBus, EventsNotPublishedError } from '../../shared/adapters/aws/eventbridge-bus';
import { FanOutBus } from '../../shared/adapters/aws/fanout-bus';
import { SqsAgentQueueBus } from '../../shared/adapters/aws/sqs-bus';
import { PublishError } from '../../shared/core/errors';
import type { OutboundEvent } from '../../shared/core/model';
import { close, credentials, region, startEventBridge } from './local-aws';

const assignment = (n: number, agent = 'npa', extra: Record<string, unknown> = {}): OutboundEvent => ({
  id: `task-${n}:1:${agent}`,
  type: 'Task Assignment',
  target_agent: agent,
  task_id: `task-${n}`,
  time: '2026-01-01T00:00:00.000Z',
  detail: {
    target_agent: agent,
    task_message: { type: 'task_assignment', task_id: `task-${n}`, agent_id: agent, ...extra },
  },
});

describe('EventBridgeBus through the real client', () => {
  async function withBus(
    reply: Parameters<typeof startEventBridge>[0],
    fn: (bus: EventBridgeBus, eb: Awaited<ReturnType<typeof startEventBridge>>) => Promise<void>,
  ) {
    const eb = await startEventBridge(reply);
    const client = new EventBridgeClient({ endpoint: eb.endpoint, region, credentials, maxAttempts: 1 });
    const bus = new EventBridgeBus({
      eventBusName: 'coord-bus',
      source: 'agent-coordinator.coordination',
      client,
      backoffMs: 1,
    });
    try {
      await fn(bus, eb);
    } finally {
      client.destroy();
      await eb.stop();
    }
  }

  test('publishes per the contract, in requests of at most 10 entries', async () => {
    await withBus(undefined, async (bus, eb) => {
      const events = Array.from({ length: 23 }, (_, i) => assignment(i));
      await bus.publish(events);
      expect(eb.requests.map((r) => r.body.Entries.length)).toEqual([10, 10, 3]);
      expect(eb.requests.every((r) => r.target === 'AWSEvents.PutEvents')).toBe(true);
      const first = eb.accepted[0]!;
      expect(first).toMatchObject({
        Source: 'agent-coordinator.coordination',
        DetailType: 'Task Assignment',
        EventBusName: 'coord-bus',
      });
      expect(JSON.parse(first.Detail)).toEqual(events[0]!.detail);
      expect(eb.accepted.map((e) => JSON.parse(e.Detail).task_message.task_id)).toEqual(
        events.map((e) => e.task_id),
      );
    });
  });

  test('keeps every request under 256 KB', async () => {
    await withBus(undefined, async (bus, eb) => {
      const big = 'x'.repeat(100 * 1024);
      await bus.publish(Array.from({ length: 5 }, (_, i) => assignment(i, 'npa', { blob: big })));
      expect(eb.requests.map((r) => r.body.Entries.length)).toEqual([2, 2, 1]);
      expect(eb.accepted).toHaveLength(5);
    });
  });

  test('retries only the entries PutEvents reported as failed', async () => {
    const reply = (entry: { Detail: string }, call: number) =>
      call === 1 && JSON.parse(entry.Detail).task_message.task_id === 'task-2'
        ? 'ThrottlingException'
        : undefined;
    await withBus(reply, async (bus, eb) => {
      await bus.publish([assignment(1), assignment(2), assignment(3)]);
      expect(
        eb.requests.map((r) => r.body.Entries.map((e) => JSON.parse(e.Detail).task_message.task_id)),
      ).toEqual([['task-1', 'task-2', 'task-3'], ['task-2']]);
      expect(eb.accepted).toHaveLength(3);
    });
  });

  test('an entry that keeps failing is named in the PublishError, never dropped silently', async () => {
    const reply = (entry: { Detail: string }) =>
      JSON.parse(entry.Detail).task_message.task_id === 'task-2' ? 'InternalFailure' : undefined;
    await withBus(reply, async (bus, eb) => {
      const err = await bus.publish([assignment(1), assignment(2)]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PublishError);
      expect((err as EventsNotPublishedError).failed).toEqual([
        { id: 'task-2:1:npa', error: expect.stringContaining('InternalFailure') },
      ]);
      expect(eb.requests).toHaveLength(4);
    });
  });

  test('an event larger than an entry may be is reported, the others still go out', async () => {
    await withBus(undefined, async (bus, eb) => {
      const err = await bus
        .publish([assignment(1, 'npa', { blob: 'x'.repeat(300 * 1024) }), assignment(2)])
        .catch((e: unknown) => e);
      expect((err as EventsNotPublishedError).failed.map((f) => f.id)).toEqual(['task-1:1:npa']);
      expect(eb.accepted).toHaveLength(1);
    });
  });

  test('an unreachable endpoint is a PublishError', async () => {
    const client = new EventBridgeClient({
      endpoint: 'http://127.0.0.1:9',
      region,
      credentials,
      maxAttempts: 1,
    });
    const bus = new EventBridgeBus({ eventBusName: 'b', source: 's', client, maxAttempts: 2, backoffMs: 1 });
    await expect(bus.publish([assignment(1)])).rejects.toBeInstanceOf(PublishError);
    client.destroy();
  });
});

describe('SqsAgentQueueBus through the real client against local-aws-sqs', () => {
  let server: Awaited<ReturnType<typeof createSqsServer>>;
  let base: string;
  let client: SQSClient;
  beforeAll(async () => {
    server = await createSqsServer({
      port: 0,
      hostname: '127.0.0.1',
      queues: [
        { QueueName: 'agent-npa' },
        { QueueName: 'agent-coach' },
        { QueueName: 'agent-npa.fifo', Attributes: { FifoQueue: 'true' } },
      ],
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/123456789012`;
    client = new SQSClient({ endpoint: base, region, credentials, maxAttempts: 1 });
  });
  afterAll(async () => {
    client.destroy();
    await close(server);
  });
  const receive = async (url: string) =>
    (
      await client.send(
        new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'] }),
      )
    ).Messages ?? [];

  test('each assignment goes to its agent queue with target_agent and event_type attributes', async () => {
    const bus = new SqsAgentQueueBus({ queueUrlTemplate: `${base}/agent-{agent_id}`, client });
    const rejected: OutboundEvent = {
      id: 'task-9:rejected',
      type: 'Task Rejected',
      target_agent: 'requester',
      task_id: 'task-9',
      time: '2026-01-01T00:00:00.000Z',
      detail: {},
    };
    await bus.publish([assignment(1, 'npa'), assignment(2, 'coach'), assignment(3, 'npa'), rejected]);
    const npa = await receive(`${base}/agent-npa`);
    expect(npa.map((m) => JSON.parse(m.Body!).task_message.task_id).sort()).toEqual(['task-1', 'task-3']);
    expect(npa[0]!.MessageAttributes).toMatchObject({
      target_agent: { StringValue: 'npa', DataType: 'String' },
      event_type: { StringValue: 'Task Assignment', DataType: 'String' },
    });
    expect((await receive(`${base}/agent-coach`)).map((m) => JSON.parse(m.Body!).target_agent)).toEqual([
      'coach',
    ]);
  });

  test('on a FIFO queue a republished event is deduplicated', async () => {
    const bus = new SqsAgentQueueBus({ queueUrlTemplate: `${base}/agent-{agent_id}.fifo`, client });
    await bus.publish([assignment(7)]);
    await bus.publish([assignment(7)]);
    const messages = await receive(`${base}/agent-npa.fifo`);
    expect(messages).toHaveLength(1);
  });

  test('a missing agent queue is a PublishError naming the event', async () => {
    const bus = new SqsAgentQueueBus({
      queueUrlTemplate: `${base}/agent-{agent_id}`,
      client,
      maxAttempts: 2,
      backoffMs: 1,
    });
    const err = await bus.publish([assignment(1, 'ghost')]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PublishError);
    expect((err as Error).message).toContain('task-1:1:ghost');
  });

  test('the fan-out bus fails when one of its buses fails, naming it', async () => {
    const ok = { name: 'ok', publish: jest.fn(async () => undefined) };
    const sqs = new SqsAgentQueueBus({
      queueUrlTemplate: `${base}/agent-{agent_id}`,
      client,
      maxAttempts: 1,
    });
    const fan = new FanOutBus([ok, sqs]);
    await expect(fan.publish([assignment(1, 'ghost')])).rejects.toThrow(/sqs: .*task-1:1:ghost/);
    expect(ok.publish).toHaveBeenCalled();
    await expect(fan.publish([assignment(2, 'npa')])).resolves.toBeUndefined();
  });
});
