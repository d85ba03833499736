/**
 * The transactional outbox: events are committed with the task (by the task ledger) and
 * published here afterwards. A crash or a bus failure between the two leaves them in the
 * outbox, and the redelivery or the sweep publishes them again.
 */
import type { TaskRecord } from '../model';
import { toBusEvent } from './events';
import type { EventBus, Telemetry } from '../ports';
import type { TaskLedger } from '../services/task-ledger';

export class Outbox {
  constructor(
    private readonly bus: EventBus,
    private readonly ledger: TaskLedger,
    private readonly telemetry: Telemetry,
  ) {}

  /** Publishes the task's pending events, then clears exactly those; returns the cleared task. */
  async publish(task: TaskRecord): Promise<TaskRecord> {
    if (task.outbox.length === 0) return task;
    const sent = task.outbox.map((e) => e.id);
    const events = task.outbox.map((e) => toBusEvent(task, e));
    // Nothing is announced that a crash could still take back (a write-behind store).
    if (this.ledger.writeBehind) await this.ledger.flush();
    await this.telemetry.span('coordinator.publish', { task_id: task.task_id, events: events.length }, () =>
      this.bus.publish(events),
    );
    return this.ledger.clearOutbox(task, sent);
  }
}
