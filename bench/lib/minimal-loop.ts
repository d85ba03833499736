/**
 * A minimal correct coordination loop, written for the bench as the machine's limit for this
 * work: a Map registry and ledger, a per-capability index of agents, one zod validation of each
 * inbound message with the core's own schema, least-loaded choice among the free capable
 * agents, a per-capability FIFO queue drained on completion, and one outbox event per
 * assignment (rendered, "published" to an in-memory list, cleared). Nothing is persisted,
 * nothing is retried, nothing is audited: everything `Coordinator.handle` adds on top of this
 * (versioned records, conditional writes, idempotent redelivery, decision history, TTLs,
 * telemetry) is what the ratio measures.
 */
import { performance } from 'node:perf_hooks';
import { CoordinationRequest, TaskCompletion } from '../../shared/core/events/schemas';
import type { ReferenceScenario } from './scenario-types';
import { timingOf, workload, type Timing } from './throughput';

interface Agent {
  id: string;
  capabilities: ReadonlySet<string>;
  max: number;
  available: boolean;
  active: Set<string>;
}

interface Task {
  id: string;
  status: 'queued' | 'assigned' | 'completed';
  capabilities: string[];
  priority: string;
  agent?: string;
  attempt: number;
}

interface Event {
  id: string;
  type: 'Task Assignment';
  task_id: string;
  target_agent: string;
  detail: Record<string, unknown>;
}

const COORDINATION = 'coordination';

export class MinimalLoop {
  private readonly agents = new Map<string, Agent>();
  private readonly byCapability = new Map<string, Agent[]>();
  private readonly tasks = new Map<string, Task>();
  private readonly queues = new Map<string, string[]>();
  private readonly outbox: Event[] = [];
  readonly published: Event[] = [];

  register(id: string, capabilities: readonly string[], max: number, available = true): void {
    const agent: Agent = { id, capabilities: new Set(capabilities), max, available, active: new Set() };
    this.agents.set(id, agent);
    for (const c of capabilities) {
      const list = this.byCapability.get(c) ?? [];
      list.push(agent);
      this.byCapability.set(c, list);
    }
  }

  /** A coordination request: validated, recorded, assigned (or queued, or delegated). */
  request(message: unknown): Task {
    const m = CoordinationRequest.parse(message);
    const id = m.task_id!;
    const existing = this.tasks.get(id);
    if (existing) return existing; // a redelivery
    const capabilities = m.required_capabilities?.length ? m.required_capabilities : [m.task_type];
    const task: Task = { id, status: 'queued', capabilities, priority: m.priority, attempt: 0 };
    this.tasks.set(id, task);
    const capable = this.capable(capabilities);
    const agent =
      leastLoaded(capable.filter(free)) ?? (capable.length === 0 ? this.coordinator() : undefined);
    if (agent) this.assign(task, agent);
    else this.enqueue(task);
    this.flush();
    return task;
  }

  /** A task completion: validated, the slot freed, the queues the agent can serve drained. */
  complete(message: unknown): void {
    const m = TaskCompletion.parse(message);
    const task = this.tasks.get(m.task_id);
    const agent = this.agents.get(m.agent_id);
    if (!task || !agent || task.status !== 'assigned' || task.agent !== agent.id) return;
    task.status = 'completed';
    agent.active.delete(task.id);
    for (const [key, queue] of this.queues) {
      if (!free(agent)) break;
      if (queue.length === 0 || !key.split('\u0000').every((c) => agent.capabilities.has(c))) continue;
      this.assign(this.tasks.get(queue.shift()!)!, agent);
    }
    this.flush();
  }

  private capable(capabilities: readonly string[]): Agent[] {
    const first = this.byCapability.get(capabilities[0]!) ?? [];
    return capabilities.length === 1
      ? first
      : first.filter((a) => capabilities.every((c) => a.capabilities.has(c)));
  }

  private coordinator(): Agent | undefined {
    return leastLoaded((this.byCapability.get(COORDINATION) ?? []).filter(free));
  }

  private assign(task: Task, agent: Agent): void {
    task.status = 'assigned';
    task.agent = agent.id;
    task.attempt += 1;
    agent.active.add(task.id);
    this.outbox.push({
      id: `${task.id}#${task.attempt}#${agent.id}`,
      type: 'Task Assignment',
      task_id: task.id,
      target_agent: agent.id,
      detail: { task_id: task.id, agent_id: agent.id, priority: task.priority, attempt: task.attempt },
    });
  }

  private enqueue(task: Task): void {
    const key = [...task.capabilities].sort().join('\u0000');
    const queue = this.queues.get(key) ?? [];
    queue.push(task.id);
    this.queues.set(key, queue);
  }

  private flush(): void {
    for (const e of this.outbox) this.published.push(e);
    this.outbox.length = 0;
    if (this.published.length > 10_000) this.published.splice(0, this.published.length - 10_000);
  }
}

const free = (a: Agent) => a.available && a.active.size < a.max;

function leastLoaded(agents: readonly Agent[]): Agent | undefined {
  let best: Agent | undefined;
  for (const a of agents) {
    if (!best) best = a;
    else {
      const d = a.active.size / a.max - best.active.size / best.max || a.active.size - best.active.size;
      if (d < 0 || (d === 0 && a.id < best.id)) best = a;
    }
  }
  return best;
}

export interface LoopTiming extends Timing {
  /** Requests per second of wall time, each request's completion included. */
  withCompletionsPerSecond: number;
  /** Requests per second of this process's CPU time (user + system), completions included: what load on the machine does not change. */
  cpuPerSecond: number;
  /** Share of the timed requests that took over 1 ms, and their share of the total request time. */
  slowShare: number;
  slowTimeShare: number;
}

/** The figures of a loop from its request samples, wall time and CPU time (ms). */
export function loopTiming(samples: number[], wallMs: number, cpuMs: number): LoopTiming {
  const total = samples.reduce((a, v) => a + v, 0);
  const slow = samples.filter((v) => v > 1);
  return {
    ...timingOf(samples),
    withCompletionsPerSecond: (samples.length / wallMs) * 1000,
    cpuPerSecond: (samples.length / cpuMs) * 1000,
    slowShare: slow.length / Math.max(1, samples.length),
    slowTimeShare: slow.reduce((a, v) => a + v, 0) / Math.max(1e-9, total),
  };
}

/** CPU time of this process so far, ms. */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * The same workload as `measureCore`: the scenario's coordination requests cycled with fresh
 * task ids, each timed, each assigned task completed right after (untimed in `perSecond`,
 * included in `withCompletionsPerSecond`).
 */
export function measureMinimalLoop(
  scenario: ReferenceScenario,
  options: { requests: number; warmup: number },
): LoopTiming {
  const loop = new MinimalLoop();
  for (const a of scenario.agents)
    loop.register(a.agent_id, a.capabilities, a.max_concurrent_tasks, a.status === 'available');
  const messages = workload(scenario);
  const samples: number[] = [];
  let wallStart = 0;
  let cpuStart = 0;
  for (let i = 0; i < options.warmup + options.requests; i++) {
    if (i === options.warmup) {
      wallStart = performance.now();
      cpuStart = cpuMs();
    }
    const base = messages[i % messages.length]!;
    const message = { ...base, task_id: `${String(base.task_id)}-${i}` };
    const started = performance.now();
    const task = loop.request(message);
    const elapsed = performance.now() - started;
    if (i >= options.warmup) samples.push(elapsed);
    if (task.status === 'assigned')
      loop.complete({ type: 'task_completion', task_id: task.id, agent_id: task.agent, status: 'succeeded' });
  }
  return loopTiming(samples, performance.now() - wallStart, cpuMs() - cpuStart);
}
