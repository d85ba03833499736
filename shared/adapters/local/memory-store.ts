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
import type { Page, SlotClaim, StateStore, WriteStamp } from '../../core/ports';
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

  /** Atomic by construction: the check and the change run in one synchronous step. */
  async claimAgentSlot(
    agentId: string,
    taskId: string,
    stamp: WriteStamp,
    force: boolean,
  ): Promise<SlotClaim | undefined> {
    const agent = this.agents.get(agentId);
    if (!agent) return undefined;
    const next = withSlotClaimed(agent, taskId, stamp, force);
    if (!next) return { agent, claimed: agent.active_task_ids.includes(taskId) };
    this.agents.set(agentId, keep(next));
    return { agent: next, claimed: true };
  }

  async releaseAgentSlot(
    agentId: string,
    taskId: string,
    stamp: WriteStamp,
  ): Promise<AgentRecord | undefined> {
    const agent = this.agents.get(agentId);
    const next = agent && withSlotReleased(agent, taskId, stamp);
    if (!next) return agent;
    this.agents.set(agentId, keep(next));
    return next;
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

/**
 * The agent after an atomic claim of a slot for the task, or undefined when there is nothing to
 * write: the task holds a slot already, or (unless `force`) the agent is not available or full.
 * Shared by the embedded stores, which apply it in one step.
 */
export function withSlotClaimed(
  agent: AgentRecord,
  taskId: string,
  stamp: WriteStamp,
  force: boolean,
): AgentRecord | undefined {
  if (agent.active_task_ids.includes(taskId)) return undefined;
  if (!force && (agent.status !== 'available' || agent.active_tasks >= agent.max_concurrent_tasks))
    return undefined;
  return withSlots(agent, [...agent.active_task_ids, taskId], stamp);
}

/** The agent after an atomic release of the task's slot, or undefined when it holds none. */
export function withSlotReleased(
  agent: AgentRecord,
  taskId: string,
  stamp: WriteStamp,
): AgentRecord | undefined {
  if (!agent.active_task_ids.includes(taskId)) return undefined;
  return withSlots(
    agent,
    agent.active_task_ids.filter((id) => id !== taskId),
    stamp,
  );
}

/** The agent with these slots, stamped as every write of it is (count, version, time, TTL). */
function withSlots(agent: AgentRecord, ids: string[], stamp: WriteStamp): AgentRecord {
  return {
    ...agent,
    active_task_ids: ids,
    active_tasks: ids.length,
    version: agent.version + 1,
    updated_at: stamp.updatedAt,
    ttl: stamp.ttl,
  };
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
