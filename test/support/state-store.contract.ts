/**
 * The state-store contract, written once and run against every adapter:
 *
 *   describeStateStore('dynamodb', async () => ({ store, cleanup }));
 *
 * `make` must return an empty store (a fresh table, container, database or prefix).
 */
import { ConditionFailedError } from '../../shared/core/errors';
import { queueKeyOf, type TaskRecord } from '../../shared/core/model';
import type { Page, StateStore } from '../../shared/core/ports';
import { makeAgent, makeTask } from './factories';

export interface StoreFixture {
  store: StateStore;
  cleanup?: () => Promise<void>;
  /**
   * Items (rows, documents, index entries) the backing service has read so far, counted where
   * the adapter's client or server allows it. With it the contract checks that a listing's cost
   * does not grow with unrelated tasks; without it that part is skipped for the adapter.
   */
  itemsRead?: () => number;
  /** The adapter changes slots atomically (`claimAgentSlot` / `releaseAgentSlot`): checked, and their contract run. */
  atomicSlots?: boolean;
}

const at = (m: number) => new Date(Date.UTC(2026, 0, 1, 0, m)).toISOString();

/** Every page of a paged listing, following cursors; fails if a full page has no cursor. */
async function allPages(
  list: (cursor?: string) => Promise<Page<TaskRecord>>,
  limit: number,
  maxPages = 50,
): Promise<{ ids: string[]; pages: string[][] }> {
  const pages: string[][] = [];
  let cursor: string | undefined;
  for (let i = 0; i < maxPages; i++) {
    const page = await list(cursor);
    expect(page.items.length).toBeLessThanOrEqual(limit);
    pages.push(page.items.map((t) => t.task_id));
    if (page.items.length === limit) expect(typeof page.cursor).toBe('string');
    if (!page.cursor) break;
    cursor = page.cursor;
  }
  return { ids: pages.flat(), pages };
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

    describe('atomic slots', () => {
      const stamp = { updatedAt: at(30), ttl: 1234 };

      test('the adapter implements both atomic slot methods exactly when its fixture says so', () => {
        const has =
          typeof store.claimAgentSlot === 'function' && typeof store.releaseAgentSlot === 'function';
        expect(has).toBe(fixture.atomicSlots ?? false);
        expect(typeof store.claimAgentSlot === 'function').toBe(typeof store.releaseAgentSlot === 'function');
      });

      test('concurrent claims on one agent: one slot each while free, then full; nothing conflicts', async () => {
        if (!fixture.atomicSlots) return;
        await store.putAgent(makeAgent({ agent_id: 'slots-1', max_concurrent_tasks: 3 }), null);
        const claims = await Promise.all(
          ['t1', 't2', 't3', 't4', 't5'].map((t) => store.claimAgentSlot!('slots-1', t, stamp, false)),
        );
        expect(claims.filter((c) => c?.claimed)).toHaveLength(3);
        const agent = await store.getAgent('slots-1');
        expect(agent?.active_task_ids).toHaveLength(3);
        expect(agent?.active_tasks).toBe(3);
        expect(agent?.version).toBe(4);
        expect(agent?.updated_at).toBe(stamp.updatedAt);
        expect(agent?.ttl).toBe(stamp.ttl);
        const winners = claims.filter((c) => c?.claimed).map((c) => c!.agent.active_task_ids.at(-1));
        expect([...agent!.active_task_ids].sort()).toEqual([...(winners as string[])].sort());
        for (const c of claims.filter((c) => !c?.claimed)) expect(c?.agent.active_tasks).toBe(3);
      });

      test('a claim is idempotent, refused on an unavailable agent unless forced, undefined for no agent', async () => {
        if (!fixture.atomicSlots) return;
        await store.putAgent(makeAgent({ agent_id: 'slots-2', max_concurrent_tasks: 1 }), null);
        expect((await store.claimAgentSlot!('slots-2', 'a', stamp, false))?.claimed).toBe(true);
        const again = await store.claimAgentSlot!('slots-2', 'a', stamp, false);
        expect(again?.claimed).toBe(true);
        expect(again?.agent.active_task_ids).toEqual(['a']);
        expect((await store.getAgent('slots-2'))?.version).toBe(2);
        expect((await store.claimAgentSlot!('slots-2', 'b', stamp, false))?.claimed).toBe(false);
        const forced = await store.claimAgentSlot!('slots-2', 'b', stamp, true);
        expect(forced?.claimed).toBe(true);
        expect(forced?.agent.active_task_ids).toEqual(['a', 'b']);
        expect(forced?.agent.active_tasks).toBe(2);
        await store.putAgent(makeAgent({ agent_id: 'slots-3', status: 'busy' }), null);
        expect((await store.claimAgentSlot!('slots-3', 'c', stamp, false))?.claimed).toBe(false);
        expect(await store.claimAgentSlot!('nobody', 'c', stamp, false)).toBeUndefined();
      });

      test('concurrent releases of one agent each take their own task off; a release of no slot writes nothing', async () => {
        if (!fixture.atomicSlots) return;
        await store.putAgent(
          makeAgent({
            agent_id: 'slots-4',
            max_concurrent_tasks: 5,
            active_task_ids: ['a', 'b', 'c', 'd'],
            active_tasks: 4,
          }),
          null,
        );
        await Promise.all(['b', 'a', 'd'].map((t) => store.releaseAgentSlot!('slots-4', t, stamp)));
        const agent = await store.getAgent('slots-4');
        expect(agent?.active_task_ids).toEqual(['c']);
        expect(agent?.active_tasks).toBe(1);
        expect(agent?.version).toBe(4);
        expect((await store.releaseAgentSlot!('slots-4', 'zzz', stamp))?.version).toBe(4);
        expect(await store.releaseAgentSlot!('nobody', 'a', stamp)).toBeUndefined();
        // A version-checked write after atomic ones sees their version.
        await expect(store.putAgent({ ...agent!, version: 4 }, 3)).rejects.toBeInstanceOf(
          ConditionFailedError,
        );
        await store.putAgent({ ...agent!, version: 5 }, 4);
      });
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

    describe('indexes', () => {
      const need = (m: keyof StateStore) => {
        if (typeof store[m] !== 'function') throw new Error(`${store.name} does not implement ${String(m)}`);
      };
      const queue = async (key: string, limit = 100) =>
        (await store.listQueue!(key, limit)).items.map((t) => t.task_id);

      test('a queued task is in the queue of its capability set, or of its pinned agent only', async () => {
        need('listQueue');
        need('listQueueKeys');
        const plain = makeTask({ task_id: 'plain', task_type: 'nutrition_analysis' });
        const caps = makeTask({ task_id: 'caps', task_type: 'x', required_capabilities: ['b', 'a', 'b'] });
        const pinned = makeTask({
          task_id: 'pinned',
          pinned_agent: 'ag-1',
          required_capabilities: ['a', 'b'],
        });
        const done = makeTask({ task_id: 'done', status: 'completed' });
        for (const t of [plain, caps, pinned, done]) await store.putTask(t, null);
        expect(queueKeyOf(caps)).toBe('caps:a+b');
        expect(await queue('caps:nutrition_analysis')).toEqual(['plain']);
        expect(await queue('caps:a+b')).toEqual(['caps']);
        expect(await queue('agent:ag-1')).toEqual(['pinned']);
        expect(await queue('caps:nobody')).toEqual([]);
        expect(await store.listQueueKeys!()).toEqual(
          expect.arrayContaining(['caps:nutrition_analysis', 'caps:a+b', 'agent:ag-1']),
        );
        // One task of a queue leaving it leaves the queue (and its key) to the others.
        const second = makeTask({ task_id: 'caps-2', required_capabilities: ['a', 'b'] });
        await store.putTask(second, null);
        await store.putTask({ ...second, status: 'assigned', version: 2 }, 1);
        expect(await store.listQueueKeys!()).toContain('caps:a+b');
        const page = await store.listQueue!('caps:a+b', 10);
        expect(page.items).toEqual([caps]);
        expect(page.cursor).toBeUndefined();
      });

      test('queue membership follows status and queue key changes', async () => {
        need('listQueue');
        const t = makeTask({ task_id: 'mover', required_capabilities: ['a'] });
        await store.putTask(t, null);
        expect(await queue('caps:a')).toEqual(['mover']);
        // Assigned: it leaves its queue.
        await store.putTask({ ...t, status: 'assigned', version: 2 }, 1);
        expect(await queue('caps:a')).toEqual([]);
        // Requeued with other capabilities: it is in the new queue only.
        await store.putTask({ ...t, required_capabilities: ['b'], version: 3 }, 2);
        expect(await queue('caps:a')).toEqual([]);
        expect(await queue('caps:b')).toEqual(['mover']);
        // Pinned to an agent: in that agent's queue only.
        await store.putTask({ ...t, required_capabilities: ['b'], pinned_agent: 'ag-9', version: 4 }, 3);
        expect(await queue('caps:b')).toEqual([]);
        expect(await queue('agent:ag-9')).toEqual(['mover']);
        // A changed priority moves it within the queue.
        const other = makeTask({
          task_id: 'other',
          pinned_agent: 'ag-9',
          priority: 'high',
          created_at: at(5),
        });
        await store.putTask(other, null);
        expect(await queue('agent:ag-9')).toEqual(['other', 'mover']);
        await store.putTask(
          { ...t, required_capabilities: ['b'], pinned_agent: 'ag-9', priority: 'critical', version: 5 },
          4,
        );
        expect(await queue('agent:ag-9')).toEqual(['mover', 'other']);
        // Completed: out of every queue; a failed write changes nothing.
        await expect(store.putTask({ ...other, status: 'completed', version: 2 }, 7)).rejects.toBeInstanceOf(
          ConditionFailedError,
        );
        expect(await queue('agent:ag-9')).toEqual(['mover', 'other']);
        await store.putTask({ ...other, status: 'completed', version: 2 }, 1);
        expect(await queue('agent:ag-9')).toEqual(['mover']);
      });

      test('a queue is in queue order: priority, then created_at, then id', async () => {
        need('listQueue');
        const tasks = [
          makeTask({ task_id: 'low-old', priority: 'low', created_at: at(1) }),
          makeTask({ task_id: 'high-new', priority: 'high', created_at: at(5) }),
          makeTask({ task_id: 'high-old-b', priority: 'high', created_at: at(2) }),
          makeTask({ task_id: 'high-old-a', priority: 'high', created_at: at(2) }),
          makeTask({ task_id: 'critical', priority: 'critical', created_at: at(9) }),
          makeTask({ task_id: 'medium', priority: 'medium', created_at: at(0) }),
        ];
        for (const t of tasks) await store.putTask(t, null);
        expect(await queue('caps:nutrition_analysis')).toEqual([
          'critical',
          'high-old-a',
          'high-old-b',
          'high-new',
          'medium',
          'low-old',
        ]);
        expect(await queue('caps:nutrition_analysis', 2)).toEqual(['critical', 'high-old-a']);
      });

      test('paging a queue with cursors reaches every task exactly once, in order', async () => {
        need('listQueue');
        const ids: string[] = [];
        for (let i = 0; i < 11; i++) {
          const t = makeTask({
            task_id: `q-${String(i).padStart(2, '0')}`,
            priority: (['critical', 'high', 'medium', 'low'] as const)[i % 4],
            created_at: at(20 - i),
          });
          ids.push(t.task_id);
          await store.putTask(t, null);
        }
        await store.putTask(makeTask({ task_id: 'elsewhere', required_capabilities: ['z'] }), null);
        const all = await queue('caps:nutrition_analysis');
        expect([...all].sort()).toEqual([...ids].sort());
        for (const limit of [1, 3, 4, 11, 20]) {
          const { ids: paged } = await allPages(
            (c) => store.listQueue!('caps:nutrition_analysis', limit, c),
            limit,
          );
          expect(paged).toEqual(all);
        }
      });

      test('the pending-outbox index follows the outbox, pages reach every task once', async () => {
        need('listPendingOutbox');
        const event = (taskId: string) => ({
          id: `${taskId}:1:a`,
          type: 'Task Assignment' as const,
          task_id: taskId,
          target_agent: 'a',
          detail: {},
          time: at(0),
        });
        const pending: TaskRecord[] = [];
        for (let i = 0; i < 7; i++) {
          const id = `ob-${i}`;
          const t = makeTask({ task_id: id, status: i % 2 ? 'assigned' : 'failed', outbox: [event(id)] });
          pending.push(t);
          await store.putTask(t, null);
        }
        await store.putTask(makeTask({ task_id: 'clean', status: 'assigned' }), null);
        const read = async (limit: number) =>
          (await allPages((c) => store.listPendingOutbox!(limit, c), limit)).ids.sort();
        expect(await read(100)).toEqual(pending.map((t) => t.task_id).sort());
        for (const limit of [1, 2, 3, 7])
          expect(await read(limit)).toEqual(pending.map((t) => t.task_id).sort());
        // Cleared outboxes leave the index; a new event brings the task back.
        await store.putTask({ ...pending[0]!, outbox: [], version: 2 }, 1);
        await store.putTask({ ...pending[3]!, outbox: [], status: 'completed', version: 2 }, 1);
        expect(await read(3)).toEqual(['ob-1', 'ob-2', 'ob-4', 'ob-5', 'ob-6']);
        await store.putTask({ ...pending[0]!, outbox: [event('ob-0')], version: 3 }, 2);
        expect(await read(100)).toEqual(['ob-0', 'ob-1', 'ob-2', 'ob-4', 'ob-5', 'ob-6']);
        const page = await store.listPendingOutbox!(100);
        expect(page.items.find((t) => t.task_id === 'ob-0')).toEqual({
          ...pending[0]!,
          outbox: [event('ob-0')],
          version: 3,
        });
      });

      test('overdue lists only assigned tasks with a deadline before the bound, earliest first', async () => {
        need('listOverdue');
        const due = (id: string, m: number, status: TaskRecord['status'] = 'assigned') =>
          makeTask({ task_id: id, status, deadline_at: at(m), assigned_at: at(0) });
        const tasks = [
          due('d-30', 30),
          due('d-10', 10),
          due('d-20b', 20),
          due('d-20a', 20),
          due('d-50', 50), // at the bound: not before it
          due('d-60', 60), // after it
          due('queued-5', 5, 'queued'),
          due('done-5', 5, 'completed'),
          makeTask({ task_id: 'no-deadline', status: 'assigned' }),
        ];
        for (const t of tasks) await store.putTask(t, null);
        const before = at(50);
        const expected = ['d-10', 'd-20a', 'd-20b', 'd-30'];
        expect((await store.listOverdue!(before, 100)).items.map((t) => t.task_id)).toEqual(expected);
        for (const limit of [1, 2, 3, 4])
          expect((await allPages((c) => store.listOverdue!(before, limit, c), limit)).ids).toEqual(expected);
        expect((await store.listOverdue!(at(0), 10)).items).toEqual([]);
        // Completed, or assigned again with a later deadline: the index follows.
        const d10 = tasks[1]!;
        await store.putTask({ ...d10, status: 'completed', version: 2 }, 1);
        const d20a = tasks[3]!;
        await store.putTask({ ...d20a, deadline_at: at(55), version: 2 }, 1);
        expect((await store.listOverdue!(before, 10)).items.map((t) => t.task_id)).toEqual(['d-20b', 'd-30']);
        expect((await store.listOverdue!(at(59), 10)).items.map((t) => t.task_id)).toEqual([
          'd-20b',
          'd-30',
          'd-50',
          'd-20a',
        ]);
      });

      test('a listing reads no more when unrelated tasks are added', async () => {
        need('listQueue');
        if (!fixture.itemsRead) return; // this adapter cannot count what its service reads
        const event = (taskId: string) => ({
          id: `${taskId}:e`,
          type: 'Task Failed' as const,
          task_id: taskId,
          detail: {},
          time: at(0),
        });
        for (let i = 0; i < 3; i++) {
          await store.putTask(makeTask({ task_id: `mine-q-${i}`, required_capabilities: ['mine'] }), null);
          await store.putTask(
            makeTask({ task_id: `mine-o-${i}`, status: 'failed', outbox: [event(`mine-o-${i}`)] }),
            null,
          );
          await store.putTask(
            makeTask({ task_id: `mine-d-${i}`, status: 'assigned', deadline_at: at(i) }),
            null,
          );
        }
        const cost = async () => {
          const start = fixture.itemsRead!();
          expect((await store.listQueue!('caps:mine', 3)).items).toHaveLength(3);
          expect((await store.listPendingOutbox!(3)).items).toHaveLength(3);
          expect((await store.listOverdue!(at(10), 3)).items).toHaveLength(3);
          return fixture.itemsRead!() - start;
        };
        const small = await cost();
        expect(small).toBeGreaterThan(0);
        for (let i = 0; i < 40; i++) {
          await store.putTask(makeTask({ task_id: `other-q-${i}`, required_capabilities: ['other'] }), null);
          await store.putTask(
            makeTask({ task_id: `other-c-${i}`, status: 'completed', deadline_at: at(1) }),
            null,
          );
          await store.putTask(
            makeTask({ task_id: `other-d-${i}`, status: 'assigned', deadline_at: at(30) }),
            null,
          );
        }
        expect(await cost()).toBe(small);
      });
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
