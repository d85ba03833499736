/** Dependencies a router names must exist and must not close a cycle. */
import { MemoryStateStore } from '../../shared/adapters/local/memory-store';
import { VersionedRecords } from '../../shared/core/services/records';
import { TaskLedger } from '../../shared/core/services/task-ledger';
import { validDependencies } from '../../shared/core/usecases/dependencies';
import { makeTask } from '../support/factories';

async function ledgerWith(tasks: Array<{ id: string; deps: string[] }>): Promise<TaskLedger> {
  const store = new MemoryStateStore();
  for (const t of tasks) await store.putTask(makeTask({ task_id: t.id, dependencies: t.deps }), null);
  return new TaskLedger(new VersionedRecords(store, { now: () => Date.now() }, 3600), 3, 60_000);
}

test('missing, self and cyclic dependencies are dropped with a reason; the rest are kept', async () => {
  // a -> b -> c; deciding c with "depends on a" would close the cycle c -> a -> b -> c.
  const ledger = await ledgerWith([
    { id: 'a', deps: ['b'] },
    { id: 'b', deps: ['c'] },
    { id: 'c', deps: [] },
    { id: 'd', deps: [] },
  ]);
  expect(await validDependencies(ledger, 'c', ['a', 'd', 'c', 'ghost', 'd'])).toEqual({
    kept: ['d'],
    dropped: [
      'a: would make a dependency cycle (or a chain over 64 tasks)',
      'c: a task cannot depend on itself',
      'ghost: no such task',
    ],
  });
});

test('a chain longer than the walk limit is refused rather than read without end', async () => {
  const chain = Array.from({ length: 80 }, (_, i) => ({ id: `n${i}`, deps: i < 79 ? [`n${i + 1}`] : [] }));
  const ledger = await ledgerWith(chain);
  const { kept, dropped } = await validDependencies(ledger, 'new', ['n0']);
  expect(kept).toEqual([]);
  expect(dropped[0]).toContain('n0: would make a dependency cycle');
});
