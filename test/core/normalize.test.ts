import {
  generatedTaskId,
  MAX_EVENT_ID_LENGTH,
  normalize,
  normalizeOne,
  safeEventId,
} from '../../shared/core/events/normalize';
import { UnknownMessageTypeError, ValidationError } from '../../shared/core/errors';

const request = {
  type: 'coordination_request',
  task_id: 't-1',
  task_type: 'nutrition_analysis',
  priority: 'high',
};

describe('normalize: every inbound shape of the contract', () => {
  test('a direct message', () => {
    const [d] = normalize(request, { id: 'm-1' });
    expect(d?.error).toBeUndefined();
    expect(d?.event).toMatchObject({
      specversion: '1.0',
      id: 'm-1',
      type: 'coordination_request',
      data: { task_id: 't-1', priority: 'high' },
    });
  });

  test('a direct message as a JSON string, priority defaulted', () => {
    const [d] = normalize(JSON.stringify({ type: 'coordination_request', task_type: 'x' }));
    expect(d?.event?.data).toMatchObject({ task_type: 'x', priority: 'medium' });
    expect(d?.id).toMatch(/^h-/);
  });

  test('an EventBridge event, by detail-type', () => {
    const [d] = normalize({
      version: '0',
      id: 'eb-1',
      source: 'agent-coordinator.agents',
      'detail-type': 'Agent State Change',
      time: '2026-01-01T00:00:00Z',
      detail: { agent_id: 'npa', new_state: 'available', capabilities: ['nutrition_analysis'] },
    });
    expect(d?.event).toMatchObject({
      id: 'eb-1',
      type: 'agent_state_change',
      source: 'agent-coordinator.agents',
      time: '2026-01-01T00:00:00.000Z',
    });
  });

  test('every detail-type of the contract maps to its event', () => {
    const cases: Array<[string, object, string]> = [
      ['Coordination Request', { task_type: 'x' }, 'coordination_request'],
      ['Task Completion', { task_id: 't', agent_id: 'a' }, 'task_completion'],
      ['Error Event', { error: 'boom' }, 'error_event'],
      ['Scheduled Event', {}, 'sweep'],
    ];
    for (const [detailType, detail, type] of cases) {
      expect(normalize({ source: 's', 'detail-type': detailType, detail })[0]?.event?.type).toBe(type);
    }
  });

  test('an SQS batch: one delivery per record, ids from messageId, a bad record does not spoil the rest', () => {
    const deliveries = normalize({
      Records: [
        {
          messageId: 'a',
          eventSource: 'aws:sqs',
          body: JSON.stringify(request),
          attributes: { SentTimestamp: '1767225600000' },
        },
        { messageId: 'b', eventSource: 'aws:sqs', body: '{not json' },
        {
          messageId: 'c',
          eventSource: 'aws:sqs',
          body: JSON.stringify({
            source: 'x',
            'detail-type': 'Task Completion',
            detail: { task_id: 't', agent_id: 'a' },
          }),
        },
      ],
    });
    expect(deliveries.map((d) => d.id)).toEqual(['a', 'b', 'c']);
    expect(deliveries[0]?.event?.time).toBe('2026-01-01T00:00:00.000Z');
    expect(deliveries[1]?.error).toBeInstanceOf(ValidationError);
    expect(deliveries[1]?.error?.message).toMatch(/body is not valid JSON/);
    expect(deliveries[2]?.event?.type).toBe('task_completion');
  });

  test('a structured CloudEvent, with the type as a reverse-DNS name or a detail-type', () => {
    const ce = {
      specversion: '1.0',
      id: 'ce-1',
      source: '/agents',
      type: 'com.example.agent_state_change',
      data: { agent_id: 'a', new_state: 'busy' },
    };
    expect(normalize(ce)[0]?.event).toMatchObject({
      id: 'ce-1',
      type: 'agent_state_change',
      source: '/agents',
    });
    expect(normalize({ ...ce, type: 'Agent State Change' })[0]?.event?.type).toBe('agent_state_change');
    const b64 = {
      specversion: '1.0',
      id: 'ce-2',
      source: 's',
      type: 'coordination_request',
      data_base64: Buffer.from(JSON.stringify({ task_type: 'x' })).toString('base64'),
    };
    expect(normalize(b64)[0]?.event?.data).toMatchObject({ task_type: 'x' });
  });

  test('a Pub/Sub messagePublished CloudEvent and a raw push body; the type may come from attributes', () => {
    const data = Buffer.from(JSON.stringify({ agent_id: 'a', new_state: 'available' })).toString('base64');
    const message = { data, attributes: { type: 'Agent State Change' }, messageId: 'ps-1' };
    const ce = {
      specversion: '1.0',
      id: 'x',
      source: '//pubsub',
      type: 'google.cloud.pubsub.topic.v1.messagePublished',
      data: { message, subscription: 's' },
    };
    expect(normalize(ce)[0]?.event).toMatchObject({ id: 'ps-1', type: 'agent_state_change' });
    expect(normalize({ message, subscription: 'projects/p/subscriptions/s' })[0]?.event).toMatchObject({
      id: 'ps-1',
      type: 'agent_state_change',
    });
  });

  test('an SNS notification wrapping a message is unwrapped', () => {
    const sns = { Type: 'Notification', MessageId: 'sns-1', Message: JSON.stringify(request) };
    expect(normalize(sns)[0]?.event).toMatchObject({ id: 'sns-1', type: 'coordination_request' });
  });
});

describe('normalize: bad input gets a typed error naming the field', () => {
  const err = (input: unknown) => normalizeOne(input).error;

  test('unknown type', () => {
    const e = err({ type: 'launch_missiles' });
    expect(e).toBeInstanceOf(UnknownMessageTypeError);
    expect(e?.path).toBe('type');
    expect(e?.message).toMatch(/unknown type "launch_missiles"/);
  });

  test('unknown detail-type', () => {
    expect(err({ source: 's', 'detail-type': 'Nope', detail: {} })?.path).toBe('detail-type');
  });

  test('missing and wrongly typed fields are named', () => {
    expect(err({ type: 'coordination_request' })?.message).toMatch(/task_type/);
    expect(err({ type: 'coordination_request', task_type: 'x', priority: 'urgent' })?.path).toBe('priority');
    expect(err({ type: 'agent_state_change', agent_id: 'a', new_state: 'sleeping' })?.path).toBe('new_state');
    expect(err({ type: 'agent_state_change', agent_id: 12, new_state: 'busy' })?.path).toBe('agent_id');
    expect(err({ type: 'task_completion', task_id: 't' })?.path).toBe('agent_id');
    expect(err({ type: 'coordination_request', task_type: 'x', task_id: 'has space' })?.path).toBe('task_id');
  });

  test('no recognisable shape names what was expected and the keys it got', () => {
    const e = err({ hello: 'world' });
    expect(e?.message).toMatch(/expected a "type" field/);
    expect(e?.message).toMatch(/got keys: hello/);
  });

  test('non-objects, null, arrays, empty strings', () => {
    for (const bad of [null, 42, 'just text', [], '', '[]']) expect(err(bad)).toBeInstanceOf(ValidationError);
  });

  test('deeply nested data is refused without overflowing the stack', () => {
    let deep: unknown = {};
    for (let i = 0; i < 100_000; i++) deep = { d: deep };
    const e = err({ type: 'coordination_request', task_type: 'x', task_data: deep });
    expect(e?.message).toMatch(/nested deeper than 32 levels/);
    const text =
      '{"type":"coordination_request","task_type":"x","task_data":' +
      '['.repeat(5000) +
      ']'.repeat(5000) +
      '}';
    expect(err(text)?.message).toMatch(/nested deeper/);
  });

  test('unicode edge cases are data, not errors', () => {
    const d = normalizeOne({
      type: 'coordination_request',
      task_type: 'x',
      task_data: { s: '\u0000\uFFFF\uD83D\uDE00 \u202E' },
    });
    expect(d.error).toBeUndefined();
  });
});

describe('normalize: delivery ids follow the id rules (issue 12, items 8 and 9)', () => {
  const ID = /^[A-Za-z0-9._:@\-/]{1,256}$/;
  const requestBody = { type: 'coordination_request', task_type: 'x' };

  test('a 10 kB message id with NUL bytes becomes a short, safe event id; the delivery keeps the raw id to ack by', () => {
    const raw = `evil\u0000${'\u0000x'.repeat(5000)}`;
    const [d] = normalize({
      Records: [{ messageId: raw, eventSource: 'aws:sqs', body: JSON.stringify(requestBody) }],
    });
    expect(d?.error).toBeUndefined();
    expect(d?.id).toBe(raw);
    expect(d?.event?.id).toMatch(/^msg-[0-9a-f]{32}$/);
    expect(generatedTaskId(d!.event!.id)).toMatch(ID);
    // Deterministic: a redelivery of the same message gets the same task.
    expect(normalizeOne(requestBody, { id: raw }).event?.id).toBe(d?.event?.id);
  });

  test('ids past the length limit or outside the Identifier characters are hashed, safe ones kept', () => {
    expect(safeEventId('a'.repeat(3000))).toMatch(/^msg-[0-9a-f]{32}$/);
    expect(safeEventId('a'.repeat(MAX_EVENT_ID_LENGTH))).toBe('a'.repeat(MAX_EVENT_ID_LENGTH));
    expect(safeEventId('a'.repeat(MAX_EVENT_ID_LENGTH + 1))).toMatch(/^msg-/);
    for (const bad of ['has space', 'tab\t', 'new\nline', 'ünï', '', '"quoted"', 'a#b', 'x?y'])
      expect(safeEventId(bad)).toMatch(/^msg-[0-9a-f]{32}$/);
    for (const ok of ['0f3c2a9e-7a4b-4c1e-9d55-1b2d3e4f5a6b', '1234567890123456', 'sb:1@x/y.z'])
      expect(safeEventId(ok)).toBe(ok);
    expect(safeEventId('a b')).not.toBe(safeEventId('a c'));
  });

  test('hashed ids are deterministic and distinct; ids that merely look hashed are kept', () => {
    expect(safeEventId('unsafe id')).toBe(safeEventId('unsafe id'));
    expect(safeEventId('unsafe id')).not.toBe(safeEventId('unsafe  id'));
    for (const ok of ['msg-42', 'h-abc']) expect(safeEventId(ok)).toBe(ok);
  });

  test('envelope ids (EventBridge, CloudEvents, Pub/Sub, HTTP x-request-id) go through the same rule', () => {
    const long = 'e'.repeat(400);
    expect(
      normalize({
        id: long,
        source: 's',
        'detail-type': 'Coordination Request',
        detail: { task_type: 'x' },
      })[0]?.event?.id,
    ).toMatch(/^msg-/);
    expect(
      normalize({
        specversion: '1.0',
        id: 'a\u0000b',
        source: 's',
        type: 'coordination_request',
        data: { task_type: 'x' },
      })[0]?.event?.id,
    ).toMatch(/^msg-/);
    const data = Buffer.from(JSON.stringify(requestBody)).toString('base64');
    expect(normalize({ message: { data, messageId: 'bad id' }, subscription: 's' })[0]?.event?.id).toMatch(
      /^msg-/,
    );
    expect(normalizeOne(requestBody, { id: 'req 1', source: 'local.http' }).event?.id).toMatch(/^msg-/);
  });

  test('generated task ids have a namespace of their own: a client may not create a task named task-...', () => {
    // The message id `m-victim` gives the task `task-m-victim`; a client can never have chosen that id.
    expect(generatedTaskId(normalizeOne(requestBody, { id: 'm-victim' }).event!.id)).toBe('task-m-victim');
    for (const type of ['coordination_request', 'task_assignment']) {
      const e = normalizeOne({ type, task_type: 'x', agent_id: 'a', task_id: 'task-m-victim' }).error;
      expect(e).toBeInstanceOf(ValidationError);
      expect(e?.path).toBe('task_id');
      expect(e?.message).toMatch(/reserved/);
    }
    // Messages that refer to a task may name a generated id.
    expect(
      normalizeOne({ type: 'task_completion', task_id: 'task-m-victim', agent_id: 'a' }).error,
    ).toBeUndefined();
    expect(normalizeOne({ type: 'error_event', task_id: 'task-m-victim', error: 'x' }).error).toBeUndefined();
    expect(
      normalizeOne({ type: 'coordination_request', task_type: 'x', task_id: 'my-task-1' }).error,
    ).toBeUndefined();
  });

  test('a type naming an Object.prototype member is an unknown type with a clear reason, not an internal error', () => {
    for (const name of [
      '__proto__',
      'constructor',
      'toString',
      'hasOwnProperty',
      'valueOf',
      'x.constructor',
    ]) {
      for (const body of [
        { type: name },
        JSON.parse(`{"type":${JSON.stringify(name)}}`),
        { source: 's', 'detail-type': name, detail: {} },
        { specversion: '1.0', id: 'c', source: 's', type: name, data: {} },
      ]) {
        const e = normalizeOne(body).error;
        expect(e).toBeInstanceOf(UnknownMessageTypeError);
        expect(e?.message).toMatch(/^unknown (type|detail-type) "/);
        expect(e?.message).not.toMatch(/unreadable|is not a function|Cannot read/);
      }
    }
    // The type may come from message attributes: the same rule holds there.
    expect(normalizeOne({ agent_id: 'a' }, { attributes: { type: 'constructor' } }).error).toBeInstanceOf(
      UnknownMessageTypeError,
    );
  });
});
