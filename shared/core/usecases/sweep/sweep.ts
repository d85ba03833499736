/**
 * The scheduled sweep: stale agents go offline and give their tasks back, tasks past their
 * deadline go back to the queue, pending outboxes are published, slots are reconciled with
 * the ledger, and the queue drains. Each part, and each task or agent within it, is isolated:
 * what failed is reported in `failures` and the sweep carries on.
 */
import { drainQueue } from '../drain';
import type { CoreServices } from '../services';
import { requeueOverdue } from './deadlines';
import { SweepFailures } from './isolate';
import { reconcileSlots } from './reconcile-slots';
import { republishOutboxes } from './republish';
import { retireStaleAgents } from './stale-agents';

export async function sweep(s: CoreServices) {
  const failures = new SweepFailures();
  const stale = (await failures.attempt('stale_agents', {}, () => retireStaleAgents(s, failures))) ?? {
    offline: [],
    requeued: [],
  };
  const republished = (await failures.attempt('republish', {}, () => republishOutboxes(s, failures))) ?? 0;
  const overdue = (await failures.attempt('deadlines', {}, () => requeueOverdue(s, failures))) ?? [];
  const released = (await failures.attempt('reconcile_slots', {}, () => reconcileSlots(s, failures))) ?? 0;
  const assigned = (await failures.attempt('drain', {}, () => drainQueue(s))) ?? [];
  if (failures.list.length > 0)
    s.logger.warn('sweep: some parts failed; the rest went on', { failures: failures.list.slice(0, 20) });
  return {
    offline: stale.offline,
    requeued: [...new Set([...stale.requeued, ...overdue])],
    republished,
    released,
    assigned,
    ...(failures.list.length > 0 ? { failures: failures.list } : {}),
  };
}
