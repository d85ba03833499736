/**
 * The scheduled sweep: stale agents go offline and give their tasks back, tasks past their
 * deadline go back to the queue, pending outboxes are published, slots are reconciled with
 * the ledger, and the queue drains.
 */
import { drainQueue } from '../drain';
import type { CoreServices } from '../services';
import { requeueOverdue } from './deadlines';
import { reconcileSlots } from './reconcile-slots';
import { republishClosedOutboxes, republishOutboxes } from './republish';
import { retireStaleAgents } from './stale-agents';

const ASSIGNED_LIMIT = 1000;

export async function sweep(s: CoreServices) {
  const { offline, requeued } = await retireStaleAgents(s);
  const assignedTasks = await s.ledger.list('assigned', ASSIGNED_LIMIT);
  let republished = await republishOutboxes(s, assignedTasks);
  requeued.push(...(await requeueOverdue(s, assignedTasks)));
  republished += await republishClosedOutboxes(s);
  const released = await reconcileSlots(s, await s.ledger.list('assigned', ASSIGNED_LIMIT));
  const assigned = await drainQueue(s);
  return { offline, requeued: [...new Set(requeued)], republished, released, assigned };
}
