/**
 * Isolation for the sweep: one task, agent or part that fails is reported and the sweep goes
 * on with the rest, so one event the bus refuses for good cannot stop deadlines, republishing,
 * slot repair or the drain for everybody else.
 */
import { errorMessage } from '../../errors';
import type { Page } from '../../ports';

export interface SweepFailure {
  part: string;
  task_id?: string;
  agent_id?: string;
  error: string;
}

export class SweepFailures {
  readonly list: SweepFailure[] = [];

  /** Runs `fn`; a failure is recorded under `part` (and the record it concerned) instead of thrown. */
  async attempt<T>(part: string, about: { task_id?: string; agent_id?: string }, fn: () => Promise<T>) {
    try {
      return await fn();
    } catch (err) {
      this.list.push({ part, ...about, error: errorMessage(err).slice(0, 500) });
      return undefined;
    }
  }
}

/** Pages of an index until it ends, at most `maxPages` (the next sweep reads on). */
export async function* pages<T>(
  read: (cursor?: string) => Promise<Page<T>>,
  maxPages: number,
): AsyncGenerator<T[]> {
  let cursor: string | undefined;
  for (let n = 0; n < maxPages; n++) {
    const page = await read(cursor);
    if (page.items.length > 0) yield page.items;
    if (!page.cursor) return;
    cursor = page.cursor;
  }
}
