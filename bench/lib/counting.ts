/**
 * Counting decorators for the ports: every round trip to the state store and every LLM call
 * is counted where it leaves the core, whatever the core's own counters say.
 */
import type { AgentRecord, TaskRecord, TaskStatus } from '../../shared/core/model';
import type {
  LlmClient,
  LlmRequest,
  LlmResponse,
  Page,
  PutOptions,
  StateStore,
} from '../../shared/core/ports';

export const STORE_METHODS = [
  'getAgent',
  'listAgents',
  'putAgent',
  'getTask',
  'putTask',
  'listTasksByStatus',
  'listQueue',
  'listQueueKeys',
  'listPendingOutbox',
  'listOverdue',
  'claimAgentSlot',
  'releaseAgentSlot',
] as const;
export type StoreMethod = (typeof STORE_METHODS)[number];
export type StoreCounts = Record<StoreMethod, number>;

export const zeroStoreCounts = (): StoreCounts => ({
  getAgent: 0,
  listAgents: 0,
  putAgent: 0,
  getTask: 0,
  putTask: 0,
  listTasksByStatus: 0,
  listQueue: 0,
  listQueueKeys: 0,
  listPendingOutbox: 0,
  listOverdue: 0,
  claimAgentSlot: 0,
  releaseAgentSlot: 0,
});

export function totalOf(counts: StoreCounts): number {
  return STORE_METHODS.reduce((n, m) => n + counts[m], 0);
}

export function diffCounts(after: StoreCounts, before: StoreCounts): StoreCounts {
  const d = zeroStoreCounts();
  for (const m of STORE_METHODS) d[m] = after[m] - before[m];
  return d;
}

/** A StateStore that counts calls per method (failed conditional writes count too: they are round trips). */
export class CountingStore implements StateStore {
  readonly name: string;
  readonly counts = zeroStoreCounts();
  /** Any method called on the store that is not part of the port (a scan would show up here). */
  readonly other = new Map<string, number>();

  readonly claimAgentSlot?: StateStore['claimAgentSlot'];
  readonly releaseAgentSlot?: StateStore['releaseAgentSlot'];
  /** A write-behind store's flush: forwarded (not a call per write, so not counted). */
  readonly flush?: StateStore['flush'];

  constructor(readonly inner: StateStore) {
    this.name = `counting(${inner.name})`;
    if (inner.flush) this.flush = inner.flush.bind(inner);
    const { claimAgentSlot: claim, releaseAgentSlot: release } = inner;
    if (claim && release) {
      this.claimAgentSlot = (a, t, stamp, force) => {
        this.counts.claimAgentSlot += 1;
        return claim.call(inner, a, t, stamp, force);
      };
      this.releaseAgentSlot = (a, t, stamp) => {
        this.counts.releaseAgentSlot += 1;
        return release.call(inner, a, t, stamp);
      };
    }
  }

  snapshot(): StoreCounts {
    return { ...this.counts };
  }

  getAgent(agentId: string): Promise<AgentRecord | undefined> {
    this.counts.getAgent += 1;
    return this.inner.getAgent(agentId);
  }
  listAgents(): Promise<AgentRecord[]> {
    this.counts.listAgents += 1;
    return this.inner.listAgents();
  }
  putAgent(agent: AgentRecord, expectedVersion: number | null): Promise<void> {
    this.counts.putAgent += 1;
    return this.inner.putAgent(agent, expectedVersion);
  }
  getTask(taskId: string): Promise<TaskRecord | undefined> {
    this.counts.getTask += 1;
    return this.inner.getTask(taskId);
  }
  putTask(task: TaskRecord, expectedVersion: number | null, options?: PutOptions): Promise<void> {
    this.counts.putTask += 1;
    return this.inner.putTask(task, expectedVersion, options);
  }
  listTasksByStatus(status: TaskStatus, limit?: number): Promise<TaskRecord[]> {
    this.counts.listTasksByStatus += 1;
    return this.inner.listTasksByStatus(status, limit);
  }
  listQueue(queueKey: string, limit: number, cursor?: string): Promise<Page<TaskRecord>> {
    this.counts.listQueue += 1;
    return this.inner.listQueue(queueKey, limit, cursor);
  }
  listQueueKeys(): Promise<string[]> {
    this.counts.listQueueKeys += 1;
    return this.inner.listQueueKeys();
  }
  listPendingOutbox(limit: number, cursor?: string): Promise<Page<TaskRecord>> {
    this.counts.listPendingOutbox += 1;
    return this.inner.listPendingOutbox(limit, cursor);
  }
  listOverdue(before: string, limit: number, cursor?: string): Promise<Page<TaskRecord>> {
    this.counts.listOverdue += 1;
    return this.inner.listOverdue(before, limit, cursor);
  }
  async close(): Promise<void> {
    await this.inner.close?.();
  }
}

/**
 * Wraps a StateStore in a Proxy that records every property the core reads from it, so a
 * test can assert that only the port's methods are used (no scan helper, no adapter internals).
 */
export function recordAccess(store: StateStore): { store: StateStore; used: Set<string> } {
  const used = new Set<string>();
  const proxy = new Proxy(store, {
    get(target, prop, receiver) {
      if (typeof prop === 'string') used.add(prop);
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { store: proxy, used };
}

export interface LlmCounts {
  calls: number;
  /** Tasks decided per call, one entry per call. */
  tasksPerCall: number[];
  inputTokens: number;
  outputTokens: number;
  requests: LlmRequest[];
}

/** An LlmClient that counts the calls and tokens going through it. */
export class CountingLlm implements LlmClient {
  readonly provider: string;
  readonly model: string;
  readonly counts: LlmCounts = { calls: 0, tasksPerCall: [], inputTokens: 0, outputTokens: 0, requests: [] };

  constructor(
    private readonly inner: LlmClient,
    private readonly keepRequests = false,
  ) {
    this.provider = inner.provider;
    this.model = inner.model;
  }

  async complete(request: LlmRequest, signal: AbortSignal): Promise<LlmResponse> {
    this.counts.calls += 1;
    this.counts.tasksPerCall.push(taskIdsIn(request.prompt).length);
    if (this.keepRequests) this.counts.requests.push(request);
    const response = await this.inner.complete(request, signal);
    this.counts.inputTokens += response.usage?.input_tokens ?? 0;
    this.counts.outputTokens += response.usage?.output_tokens ?? 0;
    return response;
  }
}

/** The task ids a routing prompt asks about (one `task_id:` line per task). */
export function taskIdsIn(prompt: string): string[] {
  return [...prompt.matchAll(/^task_id: (\S+)$/gm)].map((m) => m[1]!);
}
