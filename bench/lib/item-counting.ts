/**
 * Counts what the core reads from the state store, at the port: calls per method and the
 * records each call returned (a page's items, a listing's records, a point read's one record),
 * every method of the port included (the queue, outbox and deadline indexes too). Optionally the bytes of those records as
 * JSON, for the "KB read per completion" figure (that costs time, so timed runs leave it off).
 */
import type { AgentRecord, TaskRecord, TaskStatus } from '../../shared/core/model';
import type { Page, PutOptions, StateStore } from '../../shared/core/ports';

export interface ReadCounts {
  calls: Record<string, number>;
  /** Records returned by reads (agents and tasks); queue keys are counted in `keys`. */
  items: number;
  keys: number;
  bytes: number;
}

export const zeroReads = (): ReadCounts => ({ calls: {}, items: 0, keys: 0, bytes: 0 });

export function totalCalls(c: ReadCounts): number {
  return Object.values(c.calls).reduce((n, v) => n + v, 0);
}

export class ItemCountingStore implements StateStore {
  readonly name: string;
  counts = zeroReads();
  /** Measure the JSON size of every record read (slow: leave off while timing). */
  measureBytes = false;

  readonly claimAgentSlot?: StateStore['claimAgentSlot'];
  readonly releaseAgentSlot?: StateStore['releaseAgentSlot'];
  readonly flush?: StateStore['flush'];

  constructor(readonly inner: StateStore) {
    this.name = inner.name;
    if (inner.flush) this.flush = inner.flush.bind(inner);
    // Atomic slot changes read nothing for the core (the agent they return is the write's answer).
    const { claimAgentSlot: claim, releaseAgentSlot: release } = inner;
    if (claim && release) {
      this.claimAgentSlot = (a, t, stamp, force) => (
        this.call('claimAgentSlot'),
        claim.call(inner, a, t, stamp, force)
      );
      this.releaseAgentSlot = (a, t, stamp) => (
        this.call('releaseAgentSlot'),
        release.call(inner, a, t, stamp)
      );
    }
  }

  async listQueue(queueKey: string, limit: number, cursor?: string): Promise<Page<TaskRecord>> {
    return this.page('listQueue', await this.inner.listQueue(queueKey, limit, cursor));
  }
  async listQueueKeys(): Promise<string[]> {
    const keys = await this.inner.listQueueKeys();
    this.call('listQueueKeys');
    this.counts.keys += keys.length;
    return keys;
  }
  async listPendingOutbox(limit: number, cursor?: string): Promise<Page<TaskRecord>> {
    return this.page('listPendingOutbox', await this.inner.listPendingOutbox(limit, cursor));
  }
  async listOverdue(before: string, limit: number, cursor?: string): Promise<Page<TaskRecord>> {
    return this.page('listOverdue', await this.inner.listOverdue(before, limit, cursor));
  }

  /** Returns the counts so far and starts again from zero. */
  take(): ReadCounts {
    const c = this.counts;
    this.counts = zeroReads();
    return c;
  }

  private call(method: string): void {
    this.counts.calls[method] = (this.counts.calls[method] ?? 0) + 1;
  }

  private records<T extends object>(method: string, records: readonly T[]): void {
    this.call(method);
    this.counts.items += records.length;
    if (this.measureBytes) for (const r of records) this.counts.bytes += JSON.stringify(r).length;
  }

  private page(method: string, page: Page<TaskRecord>): Page<TaskRecord> {
    this.records(method, page.items);
    return page;
  }

  async getAgent(agentId: string): Promise<AgentRecord | undefined> {
    const a = await this.inner.getAgent(agentId);
    this.records('getAgent', a ? [a] : []);
    return a;
  }
  async listAgents(): Promise<AgentRecord[]> {
    const list = await this.inner.listAgents();
    this.records('listAgents', list);
    return list;
  }
  putAgent(agent: AgentRecord, expectedVersion: number | null): Promise<void> {
    this.call('putAgent');
    return this.inner.putAgent(agent, expectedVersion);
  }
  async getTask(taskId: string): Promise<TaskRecord | undefined> {
    const t = await this.inner.getTask(taskId);
    this.records('getTask', t ? [t] : []);
    return t;
  }
  putTask(task: TaskRecord, expectedVersion: number | null, options?: PutOptions): Promise<void> {
    this.call('putTask');
    return this.inner.putTask(task, expectedVersion, options);
  }
  async listTasksByStatus(status: TaskStatus, limit?: number): Promise<TaskRecord[]> {
    const list = await this.inner.listTasksByStatus(status, limit);
    this.records('listTasksByStatus', list);
    return list;
  }
  async close(): Promise<void> {
    await this.inner.close?.();
  }
}
