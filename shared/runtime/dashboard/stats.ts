/**
 * Operator statistics, kept incrementally from the store's committed writes (see
 * observed-store.ts) and seeded from the records at start-up: tasks per minute by outcome,
 * who decided (LLM, fast path, rules, rules after an LLM failure, direct), queue depth over
 * time. Cheap enough to answer on every dashboard refresh.
 */
import type { DecisionRecord, Priority, TaskRecord, TaskStatus } from '../../core/model';
import { PRIORITIES } from '../../core/model';
import type { Clock } from '../../core/ports';

export const OUTCOMES = ['received', 'assigned', 'completed', 'failed', 'rejected'] as const;
export type Outcome = (typeof OUTCOMES)[number];
export const DECIDERS = ['llm', 'fast_path', 'rules', 'fallback', 'direct'] as const;
export type Decider = (typeof DECIDERS)[number];

export type MinuteBucket = { t: string } & Record<Outcome | Decider, number>;

export interface Stats {
  generated_at: string;
  window_minutes: number;
  /** One bucket per minute of the window, oldest first; empty minutes included. */
  per_minute: MinuteBucket[];
  queue_depth: Array<{ t: string; depth: number }>;
  /** Current number of known tasks per status. */
  tasks_by_status: Record<TaskStatus, number>;
  /** Decisions in the window by who made them, and the same since this process started. */
  deciders: Record<Decider, number>;
  deciders_since_start: Record<Decider, number>;
  llm: { decisions: number; input_tokens: number; output_tokens: number; avg_latency_ms: number | null };
}

/** Which part of the routing stack made a decision. */
export function deciderOf(d: Pick<DecisionRecord, 'router' | 'path' | 'fallback_reason'>): Decider {
  if (d.path.startsWith('fast_path')) return 'fast_path';
  if (d.router === 'llm') return 'llm';
  if (d.router === 'direct') return 'direct';
  return d.fallback_reason || d.path === 'fallback' ? 'fallback' : 'rules';
}

interface Tracked {
  status: TaskStatus;
  decidedAt: string | undefined;
  agents: string;
}

const MINUTE = 60_000;
const MAX_TRACKED = 200_000;

const zeroes = <K extends string>(keys: readonly K[]): Record<K, number> =>
  Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;

export class StatsTracker {
  private readonly tracked = new Map<string, Tracked>();
  private readonly queued = new Map<string, { priority: Priority; created_at: string }>();
  private readonly buckets = new Map<number, MinuteBucket>();
  private readonly counts = zeroes<TaskStatus>(['queued', 'assigned', 'completed', 'failed', 'rejected']);
  private readonly sinceStart = zeroes(DECIDERS);
  private readonly samples: Array<{ t: string; depth: number }> = [];
  private llmTokens = { input: 0, output: 0, latencyTotal: 0, latencyCount: 0, decisions: 0 };

  constructor(
    private readonly clock: Clock,
    readonly windowMinutes = 60,
    private readonly maxSamples = 720,
  ) {}

  /**
   * Records a committed task write. Returns true when something an operator sees changed
   * (status, decision or assigned agents); rewrites such as an outbox flush return false.
   */
  observe(task: TaskRecord, at = this.clock.now()): boolean {
    return this.apply(task, () => at);
  }

  /** Seeds from existing records, using their own timestamps. */
  seed(tasks: readonly TaskRecord[]): void {
    for (const task of tasks) {
      this.apply(task, (what) => {
        const iso =
          what === 'received'
            ? task.created_at
            : what === 'decision'
              ? task.decision?.decided_at
              : what === 'assigned'
                ? task.assigned_at
                : task.completed_at;
        const ms = Date.parse(iso ?? task.updated_at);
        return Number.isFinite(ms) ? ms : this.clock.now();
      });
    }
  }

  /** Queued tasks: how many per priority and the oldest one's age. */
  queue(): { depth: number; by_priority: Record<Priority, number>; oldest_created_at: string | null } {
    const byPriority = zeroes(PRIORITIES);
    let oldest: string | null = null;
    for (const q of this.queued.values()) {
      byPriority[q.priority] += 1;
      if (oldest === null || q.created_at < oldest) oldest = q.created_at;
    }
    return { depth: this.queued.size, by_priority: byPriority, oldest_created_at: oldest };
  }

  /** Takes a queue-depth sample (the feed calls it on a timer). */
  sampleQueue(): void {
    this.samples.push({ t: new Date(this.clock.now()).toISOString(), depth: this.queued.size });
    if (this.samples.length > this.maxSamples) this.samples.shift();
  }

  stats(): Stats {
    const now = this.clock.now();
    const first = Math.floor(now / MINUTE) - this.windowMinutes + 1;
    this.prune(first);
    const perMinute: MinuteBucket[] = [];
    const deciders = zeroes(DECIDERS);
    for (let m = first; m <= Math.floor(now / MINUTE); m++) {
      const b = this.buckets.get(m) ?? this.emptyBucket(m);
      perMinute.push(b);
      for (const d of DECIDERS) deciders[d] += b[d];
    }
    const t = this.llmTokens;
    return {
      generated_at: new Date(now).toISOString(),
      window_minutes: this.windowMinutes,
      per_minute: perMinute,
      queue_depth: [...this.samples, { t: new Date(now).toISOString(), depth: this.queued.size }],
      tasks_by_status: { ...this.counts },
      deciders,
      deciders_since_start: { ...this.sinceStart },
      llm: {
        decisions: t.decisions,
        input_tokens: t.input,
        output_tokens: t.output,
        avg_latency_ms: t.latencyCount > 0 ? Math.round(t.latencyTotal / t.latencyCount) : null,
      },
    };
  }

  private apply(task: TaskRecord, when: (what: Outcome | 'decision') => number): boolean {
    const prev = this.tracked.get(task.task_id);
    const next: Tracked = {
      status: task.status,
      decidedAt: task.decision?.decided_at,
      agents: task.assigned_agents.join(','),
    };
    if (
      prev &&
      prev.status === next.status &&
      prev.decidedAt === next.decidedAt &&
      prev.agents === next.agents
    )
      return false;
    if (!prev) this.count('received', when('received'));
    if (prev?.status !== task.status) {
      if (prev) this.counts[prev.status] -= 1;
      this.counts[task.status] += 1;
      if (task.status !== 'queued') this.count(task.status as Outcome, when(task.status as Outcome));
    }
    if (task.status === 'queued')
      this.queued.set(task.task_id, { priority: task.priority, created_at: task.created_at });
    else this.queued.delete(task.task_id);
    if (task.decision && prev?.decidedAt !== next.decidedAt)
      this.countDecision(task.decision, when('decision'));
    this.tracked.delete(task.task_id);
    this.tracked.set(task.task_id, next);
    if (this.tracked.size > MAX_TRACKED) this.forgetOldest();
    return true;
  }

  private countDecision(d: DecisionRecord, at: number): void {
    const decider = deciderOf(d);
    this.sinceStart[decider] += 1;
    this.count(decider, at);
    if (d.router === 'llm') {
      this.llmTokens.decisions += 1;
      this.llmTokens.input += d.usage?.input_tokens ?? 0;
      this.llmTokens.output += d.usage?.output_tokens ?? 0;
      if (d.latency_ms !== undefined) {
        this.llmTokens.latencyTotal += d.latency_ms;
        this.llmTokens.latencyCount += 1;
      }
    }
  }

  private count(key: Outcome | Decider, at: number): void {
    const minute = Math.floor(at / MINUTE);
    if (minute < Math.floor(this.clock.now() / MINUTE) - this.windowMinutes) return;
    let b = this.buckets.get(minute);
    if (!b) this.buckets.set(minute, (b = this.emptyBucket(minute)));
    b[key] += 1;
  }

  private emptyBucket(minute: number): MinuteBucket {
    return { t: new Date(minute * MINUTE).toISOString(), ...zeroes(OUTCOMES), ...zeroes(DECIDERS) };
  }

  private prune(firstMinute: number): void {
    for (const m of this.buckets.keys()) if (m < firstMinute) this.buckets.delete(m);
  }

  /** Forgets the least recently changed tenth of terminal tasks (their counts stay). */
  private forgetOldest(): void {
    let drop = Math.ceil(MAX_TRACKED / 10);
    for (const [id, t] of this.tracked) {
      if (drop <= 0) break;
      if (t.status === 'queued' || t.status === 'assigned') continue;
      this.tracked.delete(id);
      this.counts[t.status] -= 1;
      drop -= 1;
    }
  }
}
