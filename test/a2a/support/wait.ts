/** Waiting for what A2A agents do asynchronously, without timed assertions. */
import type { Coordinator } from '../../../shared/core/coordinator/coordinator';
import type { TaskRecord } from '../../../shared/core/model';

/** Polls until `check` passes; fails with the last value after many tries. */
export async function eventually<T>(read: () => Promise<T>, check: (v: T) => boolean): Promise<T> {
  let last: T | undefined;
  for (let i = 0; i < 500; i++) {
    last = await read();
    if (check(last)) return last;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`condition never held; last value: ${JSON.stringify(last)}`);
}

/** The task once it reached `status`. */
export function untilStatus(coordinator: Coordinator, taskId: string, status: TaskRecord['status']) {
  return eventually(
    () => coordinator.findTask(taskId),
    (t) => t?.status === status,
  );
}
