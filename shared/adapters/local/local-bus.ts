/**
 * The local bus: keeps what was published so it can be read back (`GET /assignments`, tests,
 * the dashboard) and tells subscribers. Like a bus with duplicate detection, an event id it has
 * seen is not published again. With a journal file (the local runtime keeps one in DATA_DIR)
 * what was published, and so the duplicate detection, survives a restart.
 */
import {
  appendFileSync,
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { PublishError } from '../../core/errors';
import type { OutboundEvent } from '../../core/model';
import type { EventBus } from '../../core/ports';

export interface PublishedEvent extends OutboundEvent {
  published_at: string;
  sequence: number;
}

export class LocalBus implements EventBus {
  readonly name = 'local';
  private readonly events: PublishedEvent[] = [];
  /** Index of the oldest kept event in `events`. */
  private start = 0;
  private readonly seen = new Set<string>();
  private readonly listeners = new Set<(event: PublishedEvent) => void>();
  private sequence = 0;
  /** Publications refused as duplicates (same event id), for the fault suite. */
  duplicatesDropped = 0;

  private journalLines = 0;
  /** The journal, open for appending (one write per event, not an open and close). */
  private journalFd: number | undefined;

  /**
   * `capacity`: how many events are kept (and deduplicated); `journal`: a JSON-lines file that
   * every publication is appended to before it counts as published.
   */
  constructor(
    private readonly capacity = 10_000,
    private readonly journal?: string,
  ) {
    if (journal && existsSync(journal)) {
      const text = readFileSync(journal, 'utf8');
      // End a line torn by a crash, so the next append starts on a line of its own.
      if (text.length > 0 && !text.endsWith('\n')) appendFileSync(journal, '\n');
      for (const line of text.split('\n')) {
        if (!line.trim()) continue;
        try {
          this.remember(JSON.parse(line) as PublishedEvent);
          this.journalLines += 1;
        } catch {
          // A line torn by a crash mid-append: that event was not acknowledged, skip it.
        }
      }
      this.sequence = this.events.at(-1)?.sequence ?? 0;
    }
  }

  async publish(events: readonly OutboundEvent[]): Promise<void> {
    for (const event of events) {
      if (this.seen.has(event.id)) {
        this.duplicatesDropped += 1;
        continue;
      }
      // Events are immutable values: a shallow copy carries them (no deep clone per event).
      const published: PublishedEvent = {
        ...event,
        published_at: new Date().toISOString(),
        sequence: this.sequence + 1,
      };
      if (this.journal) this.append(published);
      this.sequence += 1;
      this.remember(published);
      for (const listener of this.listeners) listener(published);
    }
  }

  /** Published events, oldest first, optionally filtered. */
  list(
    filter: { type?: string; target_agent?: string; task_id?: string; after?: number; limit?: number } = {},
  ): PublishedEvent[] {
    const out = this.kept().filter(
      (e) =>
        (!filter.type || e.type === filter.type) &&
        (!filter.target_agent || e.target_agent === filter.target_agent) &&
        (!filter.task_id || e.task_id === filter.task_id) &&
        (filter.after === undefined || e.sequence > filter.after),
    );
    return filter.limit ? out.slice(-filter.limit) : out;
  }

  private remember(event: PublishedEvent): void {
    this.seen.add(event.id);
    this.events.push(event);
    if (this.events.length - this.start > this.capacity) this.seen.delete(this.events[this.start++]!.id);
    // Compact now and then: shift() on a full array would move every element on each publish.
    if (this.start >= this.capacity) {
      this.events.splice(0, this.start);
      this.start = 0;
    }
  }

  /** What is kept, oldest first. */
  private kept(): PublishedEvent[] {
    return this.start === 0 ? this.events : this.events.slice(this.start);
  }

  private append(event: PublishedEvent): void {
    try {
      this.journalFd ??= openSync(this.journal!, 'a');
      writeSync(this.journalFd, `${JSON.stringify(event)}\n`);
      this.journalLines += 1;
      // Keep the journal about as long as what is kept in memory.
      if (this.journalLines > 2 * this.capacity) {
        const kept = [...this.kept().slice(-(this.capacity - 1)), event];
        writeFileSync(this.journal!, kept.map((e) => `${JSON.stringify(e)}\n`).join(''));
        this.journalLines = kept.length;
      }
    } catch (err) {
      throw new PublishError(`local bus journal ${this.journal}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Closes the journal (a later publish opens it again). */
  async close(): Promise<void> {
    if (this.journalFd === undefined) return;
    closeSync(this.journalFd);
    this.journalFd = undefined;
  }

  subscribe(listener: (event: PublishedEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
