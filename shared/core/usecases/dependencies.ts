/**
 * Dependencies between tasks: a task that depends on others is assigned once they have all
 * completed, and fails when one of them failed or was rejected.
 */
import type { TaskRecord } from '../model';
import type { TaskLedger } from '../services/task-ledger';
import type { CoreServices } from './services';

/** The dependencies that have not completed. */
export async function unmetDependencies(
  ledger: TaskLedger,
  dependencies: readonly string[],
): Promise<string[]> {
  const unmet: string[] = [];
  for (const id of dependencies) {
    const dep = await ledger.get(id);
    if (dep?.status !== 'completed') unmet.push(id);
  }
  return unmet;
}

/** True when every dependency completed; fails the task when one failed or was rejected. */
export async function dependenciesReady(s: CoreServices, task: TaskRecord): Promise<boolean> {
  for (const id of task.dependencies) {
    const dep = await s.ledger.get(id);
    if (dep?.status === 'completed') continue;
    if (dep && (dep.status === 'failed' || dep.status === 'rejected')) {
      const failed = await s.ledger.failOnDependency(task.task_id, id, dep.status);
      if (failed) await s.outbox.publish(failed);
    }
    return false;
  }
  return true;
}
