/**
 * Child process for the crash test: writes tasks to the embedded store as fast as it can and
 * prints each acknowledged write, until the parent kills it with SIGKILL. A write is acknowledged
 * once a flush after it resolved (as the core acknowledges a delivery).
 */
import { LevelStateStore } from '../../shared/adapters/local/level-store';
import type { TaskRecord } from '../../shared/core/model';
import { makeTask } from './factories';

export async function main(): Promise<void> {
  const dir = process.argv[2]!;
  const store = await LevelStateStore.open(dir);
  const versions = new Map<string, TaskRecord>();
  const statuses = ['queued', 'assigned', 'completed'] as const;
  const acknowledge: string[] = [];
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
    acknowledge.push(`${id} ${next.version}\n`);
    // Acknowledged once flushed, as the core acknowledges a delivery: one to five writes a batch.
    if (acknowledge.length > i % 5) {
      await store.flush();
      process.stdout.write(acknowledge.join(''));
      acknowledge.length = 0;
    }
  }
}
