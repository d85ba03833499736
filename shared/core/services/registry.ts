/**
 * The agent registry: registration and heartbeats, slot claims and releases, going offline.
 * Every verb runs its own optimistic loop over the agent record, so a slot is claimed only on
 * an agent that still has one free, whatever other deliveries do at the same moment.
 */
import type { A2aEndpoint, AgentRecord, AgentStatus } from '../model';
import type { Clock } from '../ports';
import { hasFreeSlot } from '../routing/eligibility';
import { CONTENDED, type VersionedRecords } from './records';

/** Attempts of a claim that gives up under contention: the caller's snapshot, then one fresh read. */
const GIVE_UP_AFTER = 2;

export interface Registration {
  agent_id: string;
  new_state: AgentStatus;
  capabilities?: string[];
  max_concurrent_tasks?: number;
  /** From the agent's Agent Card; kept from the current record when absent. */
  a2a?: A2aEndpoint;
}

export interface ClaimOptions {
  /** Claim even when the agent is full or unavailable (repairs a slot the ledger says it holds). */
  force?: boolean;
  /** Agents read moments ago: saves the read, and is kept current with the claim. */
  snapshot?: Map<string, AgentRecord>;
  /** `give_up`: after a lost race and one fresh read, report no slot rather than retry on. */
  contended?: 'retry' | 'give_up';
}

export class Registry {
  /** The registry as this instance last saw it, kept current with its own writes. */
  private snapshot?: { at: number; agents: Map<string, AgentRecord> };

  /**
   * `snapshotTtlMs` > 0: routing reads the registry at most that often per instance (a fleet of
   * 10,000 agents is megabytes per read); this instance's own writes keep the snapshot current,
   * other instances' show within the TTL, and conditional claims keep a stale view harmless.
   */
  constructor(
    private readonly records: VersionedRecords,
    private readonly clock: Clock,
    private readonly heartbeatTtlMs: number,
    private readonly defaultMaxConcurrentTasks: number,
    private readonly snapshotTtlMs = 0,
  ) {
    if (snapshotTtlMs > 0)
      records.onAgent = (agent) => {
        this.snapshot?.agents.set(agent.agent_id, agent);
      };
  }

  get(agentId: string): Promise<AgentRecord | undefined> {
    return this.records.getAgent(agentId);
  }

  /** Every agent, for routing: the snapshot when it is recent enough (see the constructor). */
  async list(): Promise<AgentRecord[]> {
    const snap = this.snapshot;
    if (snap && this.clock.now() - snap.at < this.snapshotTtlMs)
      return [...snap.agents.values()].sort((a, b) => (a.agent_id < b.agent_id ? -1 : 1));
    return this.listFresh();
  }

  /** Every agent as stored now (the sweep, health checks, a decision taken again after a conflict). */
  async listFresh(): Promise<AgentRecord[]> {
    const agents = await this.records.listAgents();
    if (this.snapshotTtlMs > 0)
      this.snapshot = { at: this.clock.now(), agents: new Map(agents.map((a) => [a.agent_id, a])) };
    return agents;
  }

  /** True when the agent's heartbeat is older than the TTL and it is not already offline. */
  isStale(agent: AgentRecord, now = this.clock.now()): boolean {
    return agent.status !== 'offline' && this.heartbeatAge(agent, now) > this.heartbeatTtlMs;
  }

  heartbeatAge(agent: AgentRecord, now = this.clock.now()): number {
    return now - Date.parse(agent.last_heartbeat);
  }

  /** Registers the agent or updates it; either way it counts as a heartbeat. */
  register(r: Registration): Promise<AgentRecord> {
    const now = this.records.nowIso();
    return this.records.upsertAgent(r.agent_id, (current) => ({
      agent_id: r.agent_id,
      capabilities: r.capabilities ?? current?.capabilities ?? [],
      status: r.new_state,
      active_task_ids: current?.active_task_ids ?? [],
      active_tasks: current?.active_tasks ?? 0,
      max_concurrent_tasks:
        r.max_concurrent_tasks ?? current?.max_concurrent_tasks ?? this.defaultMaxConcurrentTasks,
      last_heartbeat: now,
      registered_at: current?.registered_at ?? now,
      updated_at: now,
      ...(current?.last_error ? { last_error: current.last_error } : {}),
      ...(r.a2a ? { a2a: r.a2a } : current?.a2a ? { a2a: current.a2a } : {}),
      version: 1,
      ttl: 0,
    }));
  }

  /** Adds the task to the agent's slots if one is free (or `force`). Idempotent. */
  /** The agent as it is after the claim, or undefined when no slot was claimed. */
  async claimSlot(
    agentId: string,
    taskId: string,
    options: ClaimOptions = {},
  ): Promise<AgentRecord | undefined> {
    if (this.records.atomicSlots) {
      // One conditional write in the store: concurrent claims on this agent do not conflict.
      const result = await this.records.claimSlotAtomically(agentId, taskId, options.force ?? false);
      if (result && options.snapshot) options.snapshot.set(agentId, result.agent);
      return result?.claimed ? result.agent : undefined;
    }
    let ok = false;
    const updated = await this.records.updateAgent(
      agentId,
      (a) => {
        ok = false;
        if (a.active_task_ids.includes(taskId)) {
          ok = true;
          return undefined;
        }
        if (!options.force && !hasFreeSlot(a)) return undefined;
        a.active_task_ids = [...a.active_task_ids, taskId];
        ok = true;
        return a;
      },
      options.snapshot?.get(agentId),
      options.contended === 'give_up' ? GIVE_UP_AFTER : undefined,
    );
    if (updated === CONTENDED || !updated) return undefined;
    if (options.snapshot) options.snapshot.set(agentId, updated);
    return ok ? updated : undefined;
  }

  /** Frees the task's slot on the agent; `snapshot` (see `claimSlot`) is kept current. */
  async releaseSlot(agentId: string, taskId: string, snapshot?: Map<string, AgentRecord>): Promise<void> {
    if (this.records.atomicSlots) {
      const updated = await this.records.releaseSlotAtomically(agentId, taskId);
      if (updated && snapshot?.has(agentId)) snapshot.set(agentId, updated);
      return;
    }
    // A release only gives back: it keeps trying under contention, since a slot given up on
    // here stays held until a sweep reconciles it.
    const updated = await this.records.updateAgentPersistently(agentId, (a) => {
      if (!a.active_task_ids.includes(taskId)) return undefined;
      a.active_task_ids = a.active_task_ids.filter((id) => id !== taskId);
      return a;
    });
    if (updated && snapshot?.has(agentId)) snapshot.set(agentId, updated);
  }

  async releaseSlots(
    agentIds: readonly string[],
    taskId: string,
    snapshot?: Map<string, AgentRecord>,
  ): Promise<void> {
    for (const agentId of agentIds) await this.releaseSlot(agentId, taskId, snapshot);
  }

  /** Marks the agent offline if it is still stale; returns it when this call took it offline. */
  async goOfflineIfStale(agent: AgentRecord): Promise<AgentRecord | undefined> {
    const updated = await this.records.updateAgent(
      agent.agent_id,
      (a) => {
        if (!this.isStale(a)) return undefined;
        a.status = 'offline';
        return a;
      },
      agent,
    );
    return updated?.status === 'offline' ? updated : undefined;
  }

  async recordError(agentId: string, message: string): Promise<void> {
    await this.records.updateAgent(agentId, (a) => ({ ...a, last_error: message.slice(0, 1000) }));
  }
}
