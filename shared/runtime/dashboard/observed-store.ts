/**
 * A StateStore decorator that tells listeners about every committed write. The dashboard's
 * live feed and statistics are built on it, so they see each change the moment the
 * coordinator commits it, without polling the store.
 */
import type { AgentRecord, TaskRecord, TaskStatus } from '../../core/model';
import type { Page, PutOptions, StateStore } from '../../core/ports';

export type StoreChange = { kind: 'task'; record: TaskRecord } | { kind: 'agent'; record: AgentRecord };

export class ObservedStore implements StateStore {
  readonly name: string;
  private readonly listeners = new Set<(change: StoreChange) => void>();

  readonly claimAgentSlot?: StateStore['claimAgentSlot'];
  readonly releaseAgentSlot?: StateStore['releaseAgentSlot'];
  readonly flush?: StateStore['flush'];

  constructor(readonly inner: StateStore) {
    this.name = inner.name;
    // A write-behind store stays one through the decorator (the core flushes through it).
    if (inner.flush) this.flush = inner.flush.bind(inner);
    // The inner store's atomic slot changes stay atomic through the decorator (and are seen).
    const claim = inner.claimAgentSlot?.bind(inner);
    const release = inner.releaseAgentSlot?.bind(inner);
    if (claim && release) {
      this.claimAgentSlot = async (agentId, taskId, stamp, force) => {
        const result = await claim(agentId, taskId, stamp, force);
        if (result?.claimed) this.emit({ kind: 'agent', record: result.agent });
        return result;
      };
      this.releaseAgentSlot = async (agentId, taskId, stamp) => {
        const agent = await release(agentId, taskId, stamp);
        if (agent) this.emit({ kind: 'agent', record: agent });
        return agent;
      };
    }
  }

  /** Listeners run synchronously after the write succeeded; a throwing listener is ignored. */
  subscribe(listener: (change: StoreChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  getAgent(agentId: string): Promise<AgentRecord | undefined> {
    return this.inner.getAgent(agentId);
  }

  listAgents(): Promise<AgentRecord[]> {
    return this.inner.listAgents();
  }

  async putAgent(agent: AgentRecord, expectedVersion: number | null): Promise<void> {
    await this.inner.putAgent(agent, expectedVersion);
    this.emit({ kind: 'agent', record: agent });
  }

  getTask(taskId: string): Promise<TaskRecord | undefined> {
    return this.inner.getTask(taskId);
  }

  async putTask(task: TaskRecord, expectedVersion: number | null, options?: PutOptions): Promise<void> {
    await this.inner.putTask(task, expectedVersion, options);
    this.emit({ kind: 'task', record: task });
  }

  listTasksByStatus(status: TaskStatus, limit?: number): Promise<TaskRecord[]> {
    return this.inner.listTasksByStatus(status, limit);
  }

  listQueue(queueKey: string, limit: number, cursor?: string): Promise<Page<TaskRecord>> {
    return this.inner.listQueue(queueKey, limit, cursor);
  }

  listQueueKeys(): Promise<string[]> {
    return this.inner.listQueueKeys();
  }

  listPendingOutbox(limit: number, cursor?: string): Promise<Page<TaskRecord>> {
    return this.inner.listPendingOutbox(limit, cursor);
  }

  listOverdue(before: string, limit: number, cursor?: string): Promise<Page<TaskRecord>> {
    return this.inner.listOverdue(before, limit, cursor);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await this.inner.close?.();
  }

  private emit(change: StoreChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch {
        // An observer must never fail a write that already committed.
      }
    }
  }
}
