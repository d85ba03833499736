/**
 * The local bus: keeps what was published so it can be read back (`GET /assignments`, tests,
 * the dashboard) and tells subscribers. Like a bus with duplicate detection, an event id it has
 * seen is not published again.
 */
import type { OutboundEvent } from '../../core/model';
import type { EventBus } from '../../core/ports';

export interface PublishedEvent extends OutboundEvent {
  published_at: string;
  sequence: number;
}

export class LocalBus implements EventBus {
  readonly name = 'local';
  private readonly events: PublishedEvent[] = [];
  private readonly seen = new Set<string>();
  private readonly listeners = new Set<(event: PublishedEvent) => void>();
  private sequence = 0;
  /** Publications refused as duplicates (same event id), for the fault suite. */
  duplicatesDropped = 0;

  constructor(private readonly capacity = 10_000) {}

  async publish(events: readonly OutboundEvent[]): Promise<void> {
    for (const event of events) {
      if (this.seen.has(event.id)) {
        this.duplicatesDropped += 1;
        continue;
      }
      this.seen.add(event.id);
      const published: PublishedEvent = {
        ...structuredClone(event),
        published_at: new Date().toISOString(),
        sequence: ++this.sequence,
      };
      this.events.push(published);
      if (this.events.length > this.capacity) this.events.shift();
      for (const listener of this.listeners) listener(published);
    }
  }

  /** Published events, oldest first, optionally filtered. */
  list(
    filter: { type?: string; target_agent?: string; task_id?: string; after?: number; limit?: number } = {},
  ): PublishedEvent[] {
    const out = this.events.filter(
      (e) =>
        (!filter.type || e.type === filter.type) &&
        (!filter.target_agent || e.target_agent === filter.target_agent) &&
        (!filter.task_id || e.task_id === filter.task_id) &&
        (filter.after === undefined || e.sequence > filter.after),
    );
    return filter.limit ? out.slice(-filter.limit) : out;
  }

  subscribe(listener: (event: PublishedEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
