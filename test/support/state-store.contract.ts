/**
 * The state-store contract, written once and run against every adapter:
 *
 *   describeStateStore('dynamodb', async () => ({ store, cleanup }));
 *
 * `make` must return an empty store (a fresh table, container, database or prefix).
 */
import { ConditionFailedError } from '../../shared/core/errors';
import type { StateStore } from '../../shared/core/ports';
import { makeAgent, makeTask } from './factories';

export interface StoreFixture {
  store: StateStore;
  cleanup?: () => Promise<void>;
}

export function describeStateStore(name: string, make: () => Promise<StoreFixture>): void {
  describe(`StateStore contract: ${name}`, () => {
    let fixture: StoreFixture;
    let store: StateStore;
    beforeEach(async () => {
      fixture = await make();
      store = fixture.store;
    });
    afterEach(async () => {
      await fixture.cleanup?.();
    });

    test('a missing agent or task reads as undefined', async () => {
      expect(await store.getAgent('nobody')).toBeUndefined();
      expect(await store.getTask('nothing')).toBeUndefined();
    });

    test('an agent round-trips exactly', async () => {
      const agent = makeAgent({ agent_id: 'npa-1', capabilities: ['a', 'b'], last_error: 'oops ünïcødé ✓' });
      await store.putAgent(agent, null);
      expect(await store.getAgent('npa-1')).toEqual(agent);
    });

    test('a task round-trips exactly, with nested data, history and outbox', async () => {
      const task = makeTask({
        task_id: 'task:with/odd.chars@1',
        task_data: { nested: { list: [1, 'two', { three: null }] }, emoji: '🧠', quote: '"\'' },
        history: [
          {
            action: 'queue_task',
            target_agents: [],
            task_distribution: {},
            dependencies: [],
            reasoning: 'r',
            router: 'rules',
            path: 'rules',
            decided_at: '2026-01-01T00:00:00.000Z',
          },
        ],
        outbox: [
          {
            id: 'e1',
            type: 'Task Assignment',
            task_id: 'task:with/odd.chars@1',
            target_agent: 'a',
            detail: { x: 1 },
            time: '2026-01-01T00:00:00.000Z',
          },
        ],
      });
      await store.putTask(task, null);
      expect(await store.getTask(task.task_id)).toEqual(task);
    });

    test('creating a record that exists fails with ConditionFailedError', async () => {
      await store.putAgent(makeAgent({ agent_id: 'dup' }), null);
      await expect(store.putAgent(makeAgent({ agent_id: 'dup' }), null)).rejects.toBeInstanceOf(
        ConditionFailedError,
      );
      await store.putTask(makeTask({ task_id: 'dup' }), null);
      await expect(store.putTask(makeTask({ task_id: 'dup' }), null)).rejects.toBeInstanceOf(
        ConditionFailedError,
      );
    });

    test('an update with a stale version fails and leaves the record unchanged', async () => {
      const agent = makeAgent({ agent_id: 'v' });
      await store.putAgent(agent, null);
      await store.putAgent({ ...agent, status: 'busy', version: 2 }, 1);
      await expect(store.putAgent({ ...agent, status: 'offline', version: 2 }, 1)).rejects.toBeInstanceOf(
        ConditionFailedError,
      );
      expect((await store.getAgent('v'))?.status).toBe('busy');
      const task = makeTask({ task_id: 'tv' });
      await store.putTask(task, null);
      await store.putTask({ ...task, status: 'assigned', version: 2 }, 1);
      await expect(store.putTask({ ...task, status: 'failed', version: 2 }, 1)).rejects.toBeInstanceOf(
        ConditionFailedError,
      );
      expect((await store.getTask('tv'))?.status).toBe('assigned');
    });

    test('an update of a missing record fails', async () => {
      await expect(store.putAgent(makeAgent({ agent_id: 'ghost', version: 2 }), 1)).rejects.toBeInstanceOf(
        ConditionFailedError,
      );
      await expect(store.putTask(makeTask({ task_id: 'ghost', version: 2 }), 1)).rejects.toBeInstanceOf(
        ConditionFailedError,
      );
    });

    test('listAgents returns every agent and no task', async () => {
      for (const id of ['a-1', 'a-2', 'a-10', 'b']) await store.putAgent(makeAgent({ agent_id: id }), null);
      await store.putTask(makeTask({ task_id: 'a-3' }), null);
      const ids = (await store.listAgents()).map((a) => a.agent_id).sort();
      expect(ids).toEqual(['a-1', 'a-10', 'a-2', 'b']);
    });

    test('listTasksByStatus returns one status in queue order and honours the limit', async () => {
      const at = (m: number) => new Date(Date.UTC(2026, 0, 1, 0, m)).toISOString();
      await store.putTask(makeTask({ task_id: 'low-old', priority: 'low', created_at: at(1) }), null);
      await store.putTask(makeTask({ task_id: 'high-new', priority: 'high', created_at: at(5) }), null);
      await store.putTask(makeTask({ task_id: 'high-old', priority: 'high', created_at: at(2) }), null);
      await store.putTask(makeTask({ task_id: 'critical', priority: 'critical', created_at: at(9) }), null);
      await store.putTask(makeTask({ task_id: 'done', status: 'completed', created_at: at(0) }), null);
      const queued = await store.listTasksByStatus('queued');
      expect(queued.map((t) => t.task_id)).toEqual(['critical', 'high-old', 'high-new', 'low-old']);
      expect((await store.listTasksByStatus('queued', 2)).map((t) => t.task_id)).toEqual([
        'critical',
        'high-old',
      ]);
      expect((await store.listTasksByStatus('completed')).map((t) => t.task_id)).toEqual(['done']);
      expect(await store.listTasksByStatus('failed')).toEqual([]);
    });

    test('a status change moves the task between status listings', async () => {
      const task = makeTask({ task_id: 'mover' });
      await store.putTask(task, null);
      await store.putTask({ ...task, status: 'assigned', version: 2 }, 1);
      expect((await store.listTasksByStatus('queued')).map((t) => t.task_id)).not.toContain('mover');
      expect((await store.listTasksByStatus('assigned')).map((t) => t.task_id)).toEqual(['mover']);
      await store.putTask({ ...task, status: 'assigned', priority: 'critical', version: 3 }, 2);
      expect((await store.listTasksByStatus('assigned')).map((t) => [t.task_id, t.priority])).toEqual([
        ['mover', 'critical'],
      ]);
    });

    test('concurrent creators of one task: exactly one wins', async () => {
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) =>
          store.putTask(makeTask({ task_id: 'race', requested_by: `w${i}` }), null),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results)
        if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ConditionFailedError);
    });

    test('concurrent optimistic writers lose no update', async () => {
      await store.putAgent(makeAgent({ agent_id: 'counter', active_task_ids: [] }), null);
      const writers = 6;
      const perWriter = 4;
      const work = Array.from({ length: writers }, (_, w) =>
        (async () => {
          for (let i = 0; i < perWriter; i++) {
            for (;;) {
              const current = (await store.getAgent('counter'))!;
              const ids = [...current.active_task_ids, `w${w}-${i}`];
              try {
                await store.putAgent(
                  {
                    ...current,
                    active_task_ids: ids,
                    active_tasks: ids.length,
                    version: current.version + 1,
                  },
                  current.version,
                );
                break;
              } catch (err) {
                if (!(err instanceof ConditionFailedError)) throw err;
              }
            }
          }
        })(),
      );
      await Promise.all(work);
      const final = (await store.getAgent('counter'))!;
      expect(final.active_task_ids).toHaveLength(writers * perWriter);
      expect(new Set(final.active_task_ids).size).toBe(writers * perWriter);
      expect(final.version).toBe(1 + writers * perWriter);
    });
  });
}
