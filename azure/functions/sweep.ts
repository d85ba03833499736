/**
 * Timer trigger: the sweep. Stale agents go offline and give their tasks back, overdue tasks
 * return to the queue, the queue is drained where agents are free. A failure throws (the run is
 * logged as failed); the next tick sweeps again.
 */
import type { InvocationContext, Timer } from '@azure/functions';
import { getAzureRuntime, type AzureRuntime } from '../../shared/runtime/azure';

export function sweepHandler(runtime: () => AzureRuntime = getAzureRuntime) {
  return async (timer: Timer, context: InvocationContext): Promise<unknown> => {
    const result = await runtime().coordinator.sweep();
    context.log(`sweep done${timer.isPastDue ? ' (past due)' : ''}: ${JSON.stringify(result)}`);
    return result;
  };
}
