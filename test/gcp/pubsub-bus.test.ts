import { PubSub, type Topic } from '@google-cloud/pubsub';
import { PubSubBus } from '../../shared/adapters/gcp/pubsub-bus';
import { PublishError } from '../../shared/core/errors';
import type { OutboundEvent } from '../../shared/core/model';
import { describeWithEmulators, startEmulator, type Emulator } from './support/emulators';
import { collect, type Collector } from './support/pubsub';

const assignment = (id: string, agent: string): OutboundEvent => ({
  id,
  type: 'Task Assignment',
  target_agent: agent,
  task_id: id.split(':')[0]!,
  time: '2026-01-01T00:00:00.000Z',
  detail: {
    target_agent: agent,
    task_message: {
      type: 'task_assignment',
      task_id: id.split(':')[0],
      agent_id: agent,
      task_data: { x: [1, 'ü'] },
    },
  },
});

describeWithEmulators('Pub/Sub bus (Pub/Sub emulator)', () => {
  let emulator: Emulator;
  let pubsub: PubSub;
  let topic: Topic;
  let all: Collector;
  beforeAll(async () => {
    emulator = await startEmulator('pubsub');
    pubsub = new PubSub({ projectId: 'demo', apiEndpoint: emulator.host });
    [topic] = await pubsub.createTopic('assignments');
    const [sub] = await topic.createSubscription('all');
    all = collect(sub);
  });
  afterAll(async () => {
    await all?.close();
    await pubsub?.close();
    await emulator?.stop();
  });

  test('each event becomes one message: data is the detail, attributes name agent, type, event and task', async () => {
    const bus = new PubSubBus(topic);
    const events = [assignment('t1:1:npa', 'npa'), assignment('t2:1:coach', 'coach')];
    await bus.publish(events);
    const got = await all.waitFor((m) => m.length >= 2, 'two messages');
    const byId = Object.fromEntries(got.map((m) => [m.attributes.event_id, m]));
    expect(byId['t1:1:npa']?.data).toEqual(events[0]!.detail);
    expect(byId['t1:1:npa']?.attributes).toEqual({
      event_type: 'Task Assignment',
      event_id: 't1:1:npa',
      task_id: 't1',
      target_agent: 'npa',
    });
    expect(byId['t2:1:coach']?.attributes.target_agent).toBe('coach');
    expect(byId['t1:1:npa']?.orderingKey).toBeUndefined();
  });

  test('an event without a target has no target_agent attribute', async () => {
    const bus = new PubSubBus(topic);
    await bus.publish([
      {
        id: 'x:rejected',
        type: 'Task Rejected',
        task_id: 'x',
        time: '2026-01-01T00:00:00.000Z',
        detail: { task_id: 'x', reason: 'no' },
      },
    ]);
    const [m] = (
      await all.waitFor((ms) => ms.some((x) => x.attributes.event_id === 'x:rejected'), 'the rejection')
    ).filter((x) => x.attributes.event_id === 'x:rejected');
    expect(m?.attributes).toEqual({ event_type: 'Task Rejected', event_id: 'x:rejected', task_id: 'x' });
  });

  test('a topic that refuses the publish raises PublishError naming the events', async () => {
    const bus = new PubSubBus(pubsub.topic('no-such-topic'));
    const err = await bus.publish([assignment('t9:1:npa', 'npa')]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PublishError);
    expect((err as Error).message).toContain('t9:1:npa');
  });
});
