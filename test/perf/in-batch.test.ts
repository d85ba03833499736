/**
 * In-batch concurrency: the tasks of one SQS batch go through the store side by side where
 * they touch different records, and in order where they share an agent. Counted at the port
 * (calls in flight), never timed.
 */
import { LocalBus } from '../../shared/adapters/local/local-bus';
import { MemoryStateStore } from '../../shared/adapters/local/memory-store';
import { Coordinator } from '../../shared/core/coordinator/coordinator';
import { RulesRouter } from '../../shared/core/routing/rules-router';
import { lanesByAgent } from '../../shared/core/usecases/coordinate';

test('decisions sharing an agent share a lane, in order; the others run apart', () => {
  expect(lanesByAgent([['a'], ['b'], ['a'], [], ['c', 'b'], ['d']])).toEqual([[0, 2], [1, 4], [3], [5]]);
  expect(lanesByAgent([['a'], ['b'], ['a', 'b']])).toEqual([[0, 1, 2]]);
});

test('a batch of 10 requests for 10 free agents keeps several store calls in flight at once', async () => {
  const store = new MemoryStateStore();
  let inFlight = 0;
  let maxInFlight = 0;
  const slow = new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || prop === 'constructor') return value;
      return async (...args: unknown[]) => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setImmediate(r));
        try {
          return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } finally {
          inFlight -= 1;
        }
      };
    },
  });
  const c = new Coordinator({ store: slow, bus: new LocalBus(), router: new RulesRouter() });
  for (let i = 0; i < 10; i++)
    await c.handle({
      type: 'agent_state_change',
      agent_id: `a${i}`,
      new_state: 'available',
      capabilities: [`cap${i}`],
    });
  maxInFlight = 0;
  const records = Array.from({ length: 10 }, (_, i) => ({
    messageId: `m${i}`,
    body: JSON.stringify({ type: 'coordination_request', task_id: `t${i}`, task_type: `cap${i}` }),
  }));
  const outcomes = await c.handle({ Records: records });
  expect(outcomes.every((o) => o.status === 'done')).toBe(true);
  expect(maxInFlight).toBeGreaterThanOrEqual(5);
  for (let i = 0; i < 10; i++) expect((await c.findTask(`t${i}`))?.assigned_agents).toEqual([`a${i}`]);
});
