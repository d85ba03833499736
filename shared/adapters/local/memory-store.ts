/**
 * An in-memory state store: for tests, benchmarks and `STORE=memory`. Same contract as the
 * others, with real indexes (per status and per queue in queue order, pending outboxes,
 * assigned tasks by deadline), so a listing costs its page, not the size of the ledger.
 *
 * Records are immutable values: the store keeps the object it was given and hands it out
 * without copying (the core changes records copy-on-write). Under jest (NODE_ENV=test) every
 * stored record is deep-frozen, so a caller that mutates one fails loudly in the tests.
 */
import { ConditionFailedError } from '../../core/errors';
import {
  queueKeyOf,
  queueOrderKey,
  type AgentRecord,
  type TaskRecord,
  type TaskStatus,
} from '../../core/model';
import type { Page, StateStore } from '../../core/ports';
import { SortedKeys } from './sorted-keys';

/** Index entries end with the task id after a separator that sorts before any id character. */
const SEP = '\u0000';
const idOf = (entry: string) => entry.slice(entry.lastIndexOf(SEP) + 1);

export class MemoryStateStore implements StateStore {
  readonly name = 'memory';
  private readonly agents = new Map<string, AgentRecord>();
  private readonly agentIds = new SortedKeys();
  private readonly tasks = new Map<string, TaskRecord>();
  private readonly byStatus = new Map<TaskStatus, SortedKeys>();
  private readonly queues = new Map<string, SortedKeys>();
  private readonly pendingOutbox = new SortedKeys();
  private readonly deadlines = new SortedKeys();

  async getAgent(agentId: string): Promise<AgentRecord | undefined> {
    return this.agents.get(agentId);
  }

  async listAgents(): Promise<AgentRecord[]> {
    return this.agentIds.page(Infinity).map((id) => this.agents.get(id)!);
  }

  async putAgent(agent: AgentRecord, expectedVersion: number | null): Promise<void> {
    check(
      this.agents.get(agent.agent_id)?.version,
      expectedVersion,
      agent.version,
      `agent ${agent.agent_id}`,
    );
    if (!this.agents.has(agent.agent_id)) this.agentIds.add(agent.agent_id);
    this.agents.set(agent.agent_id, keep(agent));
  }

  async getTask(taskId: string): Promise<TaskRecord | undefined> {
    return this.tasks.get(taskId);
  }

  async putTask(task: TaskRecord, expectedVersion: number | null): Promise<void> {
    const stored = this.tasks.get(task.task_id);
    check(stored?.version, expectedVersion, task.version, `task ${task.task_id}`);
    if (stored) this.unindex(stored);
    const kept = keep(task);
    this.tasks.set(task.task_id, kept);
    this.index(kept);
  }

  async listTasksByStatus(status: TaskStatus, limit = 100): Promise<TaskRecord[]> {
    return this.read(this.byStatus.get(status)?.page(limit) ?? []);
  }

  async listQueue(queueKey: string, limit: number, cursor?: string): Promise<Page<TaskRecord>> {
    return this.paged(this.queues.get(queueKey)?.page(limit, cursor) ?? [], limit);
  }

  async listQueueKeys(): Promise<string[]> {
    return [...this.queues.entries()].filter(([, keys]) => keys.size > 0).map(([key]) => key);
  }

  async listPendingOutbox(limit: number, cursor?: string): Promise<Page<TaskRecord>> {
    return this.paged(this.pendingOutbox.page(limit, cursor), limit);
  }

  async listOverdue(before: string, limit: number, cursor?: string): Promise<Page<TaskRecord>> {
    return this.paged(this.deadlines.page(limit, cursor, before), limit);
  }

  private index(t: TaskRecord): void {
    const order = `${queueOrderKey(t)}${SEP}${t.task_id}`;
    sortedFor(this.byStatus, t.status).add(order);
    if (t.status === 'queued') sortedFor(this.queues, queueKeyOf(t)).add(order);
    if (t.outbox.length > 0) this.pendingOutbox.add(t.task_id);
    if (t.status === 'assigned' && t.deadline_at) this.deadlines.add(`${t.deadline_at}${SEP}${t.task_id}`);
  }

  private unindex(t: TaskRecord): void {
    const order = `${queueOrderKey(t)}${SEP}${t.task_id}`;
    this.byStatus.get(t.status)?.delete(order);
    if (t.status === 'queued') this.queues.get(queueKeyOf(t))?.delete(order);
    this.pendingOutbox.delete(t.task_id);
    if (t.deadline_at) this.deadlines.delete(`${t.deadline_at}${SEP}${t.task_id}`);
  }

  private read(entries: readonly string[]): TaskRecord[] {
    const out: TaskRecord[] = [];
    for (const entry of entries) {
      const t = this.tasks.get(idOf(entry));
      if (t) out.push(t);
    }
    return out;
  }

  private paged(entries: readonly string[], limit: number): Page<TaskRecord> {
    const items = this.read(entries);
    return entries.length === limit ? { items, cursor: entries[entries.length - 1] } : { items };
  }
}

const FREEZE = process.env.NODE_ENV === 'test';

/** The record as stored: the caller's object, deep-frozen under tests. */
function keep<T extends object>(record: T): T {
  return FREEZE ? deepFreeze(record) : record;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

function sortedFor<K>(map: Map<K, SortedKeys>, key: K): SortedKeys {
  let keys = map.get(key);
  if (!keys) map.set(key, (keys = new SortedKeys()));
  return keys;
}

/** The version check every adapter applies; exported so adapters word conflicts alike. */
export function check(stored: number | undefined, expected: number | null, next: number, what: string): void {
  if (next !== (expected ?? 0) + 1) {
    throw new ConditionFailedError(`${what}: new version ${next} must be expected version + 1`);
  }
  if (expected === null ? stored !== undefined : stored !== expected) {
    throw new ConditionFailedError(
      `${what}: expected version ${expected ?? 'none'}, found ${stored ?? 'none'}`,
    );
  }
}
