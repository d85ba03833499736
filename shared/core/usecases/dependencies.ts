/**
 * Dependencies between tasks: a task that depends on others is assigned once they have all
 * completed, and fails when one of them failed or was rejected.
 */
import type { TaskRecord } from '../model';
import type { TaskLedger } from '../services/task-ledger';
import type { CoreServices } from './services';

/** How many tasks a cycle check may read: a chain longer than this is refused as if cyclic. */
const MAX_DEPENDENCY_WALK = 64;

/**
 * Keeps the dependencies a router named that exist and would not make a cycle; says why the
 * others were dropped. A router (an LLM obeying the task data, say) cannot make a task wait
 * for a task that will never come.
 */
export async function validDependencies(
  ledger: TaskLedger,
  taskId: string,
  named: readonly string[],
): Promise<{ kept: string[]; dropped: string[] }> {
  const kept: string[] = [];
  const dropped: string[] = [];
  for (const id of new Set(named)) {
    const dep = id === taskId ? undefined : await ledger.get(id);
    if (id === taskId) dropped.push(`${id}: a task cannot depend on itself`);
    else if (!dep) dropped.push(`${id}: no such task`);
    else if (await reaches(ledger, dep.dependencies, taskId))
      dropped.push(`${id}: would make a dependency cycle (or a chain over ${MAX_DEPENDENCY_WALK} tasks)`);
    else kept.push(id);
  }
  return { kept, dropped };
}

/** True when following dependencies from `start` reaches `target` (or the walk is too long). */
async function reaches(ledger: TaskLedger, start: readonly string[], target: string): Promise<boolean> {
  const seen = new Set<string>();
  const todo = [...start];
  while (todo.length > 0) {
    const id = todo.pop()!;
    if (id === target) return true;
    if (seen.has(id)) continue;
    seen.add(id);
    if (seen.size > MAX_DEPENDENCY_WALK) return true;
    todo.push(...((await ledger.get(id))?.dependencies ?? []));
  }
  return false;
}

/**
 * The dependencies that have not completed, each marked `awaited` on the way (the task about to
 * wait for them is queued next): the end of an awaited task drains every queue, so its
 * dependents are found at once. A dependency that completes after this read sees the mark; one
 * that completed before the mark is answered as met.
 */
export async function awaitDependencies(
  ledger: TaskLedger,
  dependencies: readonly string[],
): Promise<{ unmet: string[]; ended: boolean }> {
  const unmet: string[] = [];
  // Some dependency failed, was rejected or does not exist: it will never complete.
  let ended = false;
  for (const id of dependencies) {
    const dep = await ledger.get(id);
    if (dep?.status === 'completed') continue;
    const marked = dep && !dep.awaited ? await ledger.markAwaited(id) : dep;
    if (marked?.status === 'completed') continue;
    unmet.push(id);
    if (!marked || marked.status === 'failed' || marked.status === 'rejected') ended = true;
  }
  return { unmet, ended };
}

/**
 * True when every dependency completed. Fails the task when one failed, was rejected or no
 * longer exists, or when it has waited longer than `DEPENDENCY_TIMEOUT`.
 */
export async function dependenciesReady(s: CoreServices, task: TaskRecord): Promise<boolean> {
  for (const id of task.dependencies) {
    const dep = await s.ledger.get(id);
    if (dep?.status === 'completed') continue;
    const waited = s.clock.now() - Date.parse(task.created_at);
    const reason = !dep
      ? `dependency ${id} does not exist`
      : dep.status === 'failed' || dep.status === 'rejected'
        ? `dependency ${id} ${dep.status}`
        : waited > s.settings.dependencyTimeoutMs
          ? `dependency ${id} did not complete within ${Math.round(s.settings.dependencyTimeoutMs / 60_000)} minutes`
          : undefined;
    if (reason) {
      const failed = await s.ledger.failQueued(task.task_id, reason);
      if (failed) await s.outbox.publish(failed);
    }
    return false;
  }
  return true;
}
