/**
 * Child process for the crash test: writes tasks to the embedded store as fast as it can and
 * prints each acknowledged write, until the parent kills it with SIGKILL.
 */
import { LevelStateStore } from '../../shared/adapters/local/level-store';
import type { TaskRecord } from '../../shared/core/model';
import { makeTask } from './factories';

export async function main(): Promise<void> {
  const dir = process.argv[2]!;
  const store = await LevelStateStore.open(dir);
  const versions = new Map<string, TaskRecord>();
  const statuses = ['queued', 'assigned', 'completed'] as const;
  for (let i = 0; ; i++) {
    const id = `t${i % 50}`;
    const current = versions.get(id);
    const next = current
      ? {
          ...current,
          status: statuses[current.version % 3]!,
          version: current.version + 1,
          task_data: { i, pad: 'x'.repeat(i % 500) },
        }
      : makeTask({ task_id: id, task_data: { i } });
    await store.putTask(next, current ? current.version : null);
    versions.set(id, next);
    process.stdout.write(`${id} ${next.version}\n`);
  }
}
