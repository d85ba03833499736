/**
 * The Service Bus bus and rejection queue behind the port, with the SDK's message types and a
 * sender stand-in (no Service Bus emulator runs here; see docs/azure.md for what that leaves out).
 */
import {
  ServiceBusEventBus,
  ServiceBusRejections,
  toServiceBusMessage,
} from '../../shared/adapters/azure/service-bus-bus';
import { PublishError } from '../../shared/core/errors';
import type { OutboundEvent } from '../../shared/core/model';
import { FakeSender } from './support/service-bus-fakes';

const event = (n: number, size = 10): OutboundEvent => ({
  id: `t${n}:1:agent-${n}`,
  type: 'Task Assignment',
  target_agent: `agent-${n}`,
  task_id: `t${n}`,
  detail: {
    target_agent: `agent-${n}`,
    task_message: { type: 'task_assignment', task_id: `t${n}`, task_data: 'x'.repeat(size) },
  },
  time: '2026-01-01T00:00:00.000Z',
});

test('an event becomes a message: detail as body, id for duplicate detection, filterable properties', () => {
  expect(toServiceBusMessage(event(1))).toEqual({
    body: event(1).detail,
    contentType: 'application/json',
    messageId: 't1:1:agent-1',
    subject: 'Task Assignment',
    correlationId: 't1',
    applicationProperties: {
      event_type: 'Task Assignment',
      task_id: 't1',
      target_agent: 'agent-1',
      time: '2026-01-01T00:00:00.000Z',
    },
  });
  const { target_agent: _omit, ...noTarget } = event(2);
  expect(
    toServiceBusMessage({ ...noTarget, type: 'Task Rejected' }).applicationProperties,
  ).not.toHaveProperty('target_agent');
});

test('events go out in as few batches as the size limit allows', async () => {
  const sender = new FakeSender(2000);
  await new ServiceBusEventBus(sender).publish([1, 2, 3, 4, 5, 6].map((n) => event(n, 400)));
  expect(sender.sent.map((m) => m.messageId)).toEqual([1, 2, 3, 4, 5, 6].map((n) => `t${n}:1:agent-${n}`));
  expect(sender.sends.length).toBeGreaterThan(1);
  expect(sender.sends.reduce((a, b) => a + b, 0)).toBe(6);
});

test('a failed send throws PublishError naming the events not accepted', async () => {
  const sender = new FakeSender(2000);
  sender.failures = 1;
  const err = await new ServiceBusEventBus(sender).publish([event(1), event(2)]).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(PublishError);
  expect((err as Error).message).toContain('t1:1:agent-1, t2:1:agent-2');
});

test('an event larger than any message throws PublishError; nothing is sent for it', async () => {
  const sender = new FakeSender(1000);
  const err = await new ServiceBusEventBus(sender)
    .publish([event(1), event(2, 5000)])
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(PublishError);
  expect((err as Error).message).toMatch(/t2:1:agent-2.*larger than/);
  expect(sender.sent.map((m) => m.messageId)).toEqual(['t1:1:agent-1']);
});

test('rejections carry the dead-letter reason properties; only simple properties are copied', async () => {
  const sender = new FakeSender();
  await new ServiceBusRejections(sender, 'coordinator-rejected').reject({
    body: 'oops',
    messageId: 'm1',
    deliveryCount: 1,
    applicationProperties: { keep: 'yes', n: 2, nested: { drop: true } },
    code: 'INVALID_MESSAGE',
    reason: 'body is not valid JSON',
  });
  expect(sender.sent[0]).toMatchObject({
    body: 'oops',
    messageId: 'm1',
    applicationProperties: {
      keep: 'yes',
      n: 2,
      DeadLetterReason: 'INVALID_MESSAGE',
      DeadLetterErrorDescription: 'body is not valid JSON',
      delivery_count: 1,
    },
  });
  expect(sender.sent[0]!.applicationProperties).not.toHaveProperty('nested');
});
