/**
 * The live feed behind the dashboard and `agent-coordinator tail`: server-sent events on
 * `GET /stream`. Each client gets a `snapshot` on connect (agents, queue, recent tasks, stats)
 * and again whenever something changed (at most every `snapshotThrottleMs`, and every
 * `refreshMs` anyway); a `task` event the moment a task's status, decision or agents change;
 * an `assignment` event for each event the bus published.
 */
import type http from 'node:http';
import type { AgentRecord, TaskRecord } from '../../core/model';
import { systemClock, type Clock } from '../../core/ports';
import type { PublishedEvent } from '../../adapters/local/local-bus';
import type { LocalRuntime } from '../local';
import type { ObservedStore } from './observed-store';
import { deciderOf, StatsTracker, type Decider, type Stats } from './stats';

export interface FeedOptions {
  clock?: Clock;
  /** Least time between two snapshots pushed because something changed. */
  snapshotThrottleMs?: number;
  /** A snapshot is pushed at least this often (ages, queue-depth chart). */
  refreshMs?: number;
  /** How often the queue depth is sampled for the chart. */
  sampleMs?: number;
  heartbeatMs?: number;
  recentLimit?: number;
  queueLimit?: number;
  maxClients?: number;
  /** How many existing tasks per status are read at start-up to seed the statistics. */
  seedLimit?: number;
}

/** What the dashboard shows of a task: no task data or results (they may be sensitive). */
export interface TaskSummary {
  task_id: string;
  task_type: string;
  priority: TaskRecord['priority'];
  status: TaskRecord['status'];
  assigned_agents: string[];
  attempts: number;
  requested_by?: string;
  created_at: string;
  updated_at: string;
  error?: string;
  reason?: string;
  /** The A2A tasks of agents that speak A2A (never their push tokens). */
  a2a_tasks?: Array<{ agent_id: string; a2a_task_id?: string; state: string }>;
  /** What an agent asked for, while the task waits for input. */
  waiting?: { agent_id: string; message: string };
  decision?: {
    action: string;
    router: string;
    path: string;
    decider: Decider;
    target_agents: string[];
    reasoning: string;
    decided_at: string;
    model?: string;
    usage?: { input_tokens: number; output_tokens: number };
    latency_ms?: number;
    fallback_reason?: string;
  };
}

export interface Snapshot {
  server: { store: string; router: string; auth: boolean; heartbeat_ttl_seconds: number; started_at: string };
  generated_at: string;
  agents: Array<AgentRecord & { stale: boolean }>;
  queue: ReturnType<StatsTracker['queue']> & { tasks: TaskSummary[] };
  tasks: TaskSummary[];
  stats: Stats;
}

export function summarizeTask(t: TaskRecord): TaskSummary {
  const d = t.decision;
  return {
    task_id: t.task_id,
    task_type: t.task_type,
    priority: t.priority,
    status: t.status,
    assigned_agents: t.assigned_agents,
    attempts: t.attempts,
    ...(t.requested_by ? { requested_by: t.requested_by } : {}),
    created_at: t.created_at,
    updated_at: t.updated_at,
    ...(t.error ? { error: t.error } : {}),
    ...(t.reason ? { reason: t.reason } : {}),
    ...(t.a2a_tasks?.length
      ? {
          a2a_tasks: t.a2a_tasks.map((r) => ({
            agent_id: r.agent_id,
            state: r.state,
            ...(r.a2a_task_id ? { a2a_task_id: r.a2a_task_id } : {}),
          })),
        }
      : {}),
    ...(t.waiting ? { waiting: { agent_id: t.waiting.agent_id, message: t.waiting.message } } : {}),
    ...(d
      ? {
          decision: {
            action: d.action,
            router: d.router,
            path: d.path,
            decider: deciderOf(d),
            target_agents: d.target_agents,
            reasoning: d.reasoning,
            decided_at: d.decided_at,
            ...(d.model ? { model: d.model } : {}),
            ...(d.usage
              ? { usage: { input_tokens: d.usage.input_tokens, output_tokens: d.usage.output_tokens } }
              : {}),
            ...(d.latency_ms !== undefined ? { latency_ms: d.latency_ms } : {}),
            ...(d.fallback_reason ? { fallback_reason: d.fallback_reason } : {}),
          },
        }
      : {}),
  };
}

export class LiveFeed {
  readonly tracker: StatsTracker;
  private readonly clients = new Set<http.ServerResponse>();
  /** The tasks changed last (records are immutable values: summarized when a snapshot is sent). */
  private readonly recent = new Map<string, TaskRecord>();
  private readonly options: Required<Omit<FeedOptions, 'clock'>>;
  private readonly clock: Clock;
  private readonly startedAt: string;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly unsubscribe: Array<() => void> = [];
  private pending: NodeJS.Timeout | undefined;
  private lastSnapshotAt = 0;

  constructor(
    private readonly runtime: LocalRuntime,
    private readonly store: ObservedStore,
    options: FeedOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.options = {
      snapshotThrottleMs: 500,
      refreshMs: 5000,
      sampleMs: 5000,
      heartbeatMs: 15_000,
      recentLimit: 50,
      queueLimit: 50,
      maxClients: 64,
      seedLimit: 5000,
      ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
    } as Required<Omit<FeedOptions, 'clock'>>;
    this.tracker = new StatsTracker(this.clock);
    this.startedAt = new Date(this.clock.now()).toISOString();
  }

  /** Seeds the statistics from the store, then follows the store and the bus. */
  async start(): Promise<void> {
    const seeded: TaskRecord[] = [];
    for (const status of ['queued', 'assigned', 'completed', 'failed', 'rejected'] as const) {
      seeded.push(...(await this.store.listTasksByStatus(status, this.options.seedLimit)));
    }
    seeded.sort((a, b) => (a.updated_at < b.updated_at ? -1 : 1));
    this.tracker.seed(seeded);
    for (const t of seeded.slice(-this.options.recentLimit)) this.remember(t);
    this.tracker.sampleQueue();

    this.unsubscribe.push(
      this.store.subscribe((change) => {
        if (change.kind === 'task' && this.tracker.observe(change.record)) {
          this.remember(change.record);
          // Nothing is built for a feed nobody follows (the write path pays for it otherwise).
          if (this.clients.size > 0) this.broadcast('task', summarizeTask(change.record));
        }
        this.changed();
      }),
      this.runtime.bus.subscribe((event: PublishedEvent) => this.broadcast('assignment', event)),
    );
    this.timers.push(
      setInterval(() => this.tracker.sampleQueue(), this.options.sampleMs),
      setInterval(() => this.clients.size > 0 && void this.pushSnapshot(), this.options.refreshMs),
      setInterval(() => this.write(': keep-alive\n\n'), this.options.heartbeatMs),
    );
    for (const t of this.timers) t.unref();
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    if (this.pending) clearTimeout(this.pending);
    for (const u of this.unsubscribe) u();
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  get clientCount(): number {
    return this.clients.size;
  }

  stats(): Stats {
    return this.tracker.stats();
  }

  async snapshot(): Promise<Snapshot> {
    const { config, router } = this.runtime;
    const [agents, queued] = await Promise.all([
      this.runtime.coordinator.listAgents(),
      this.store.listTasksByStatus('queued', this.options.queueLimit),
    ]);
    return {
      server: {
        store: this.store.name,
        router: router.name,
        auth: Boolean(config.AUTH_TOKEN),
        heartbeat_ttl_seconds: config.AGENT_HEARTBEAT_TTL,
        started_at: this.startedAt,
      },
      generated_at: new Date(this.clock.now()).toISOString(),
      agents,
      queue: { ...this.tracker.queue(), tasks: queued.map(summarizeTask) },
      tasks: [...this.recent.values()].reverse().map(summarizeTask),
      stats: this.tracker.stats(),
    };
  }

  /** Takes over the response as an event stream. */
  addClient(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (this.clients.size >= this.options.maxClients) {
      res.writeHead(503, { 'content-type': 'application/json; charset=utf-8', 'retry-after': '5' });
      res.end(
        JSON.stringify({
          error: 'too_many_streams',
          reason: `at most ${this.options.maxClients} live streams`,
        }),
      );
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    this.clients.add(res);
    const drop = () => this.clients.delete(res);
    req.on('close', drop);
    res.on('error', drop);
    void this.snapshot()
      .then((s) => this.send(res, 'snapshot', s))
      .catch((err: unknown) => this.send(res, 'feed_error', { reason: (err as Error).message }));
  }

  private remember(task: TaskRecord): void {
    this.recent.delete(task.task_id);
    this.recent.set(task.task_id, task);
    if (this.recent.size > this.options.recentLimit)
      this.recent.delete(this.recent.keys().next().value as string);
  }

  /** Something changed: push a snapshot soon, at most once per throttle interval. */
  private changed(): void {
    if (this.pending || this.clients.size === 0) return;
    const wait = Math.max(0, this.lastSnapshotAt + this.options.snapshotThrottleMs - this.clock.now());
    this.pending = setTimeout(() => {
      this.pending = undefined;
      void this.pushSnapshot();
    }, wait);
  }

  private async pushSnapshot(): Promise<void> {
    if (this.clients.size === 0) return;
    this.lastSnapshotAt = this.clock.now();
    try {
      this.broadcast('snapshot', await this.snapshot());
    } catch (err) {
      this.broadcast('feed_error', { reason: (err as Error).message });
    }
  }

  private broadcast(event: string, data: unknown): void {
    if (this.clients.size === 0) return;
    this.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private send(res: http.ServerResponse, event: string, data: unknown): void {
    if (!res.writableEnded) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private write(chunk: string): void {
    for (const res of this.clients) {
      // A client that stopped reading is dropped rather than buffered without bound.
      if (res.writableEnded || res.writableLength > 8 * 1024 * 1024) {
        this.clients.delete(res);
        res.destroy();
        continue;
      }
      res.write(chunk);
    }
  }
}
