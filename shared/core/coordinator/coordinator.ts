/**
 * The coordination core: one entry point (`handle`) for every runtime. It takes any inbound
 * payload, works out the canonical events, applies the contract's behaviour, and returns one
 * outcome per delivery (`done`, `retry`, `dead_letter`) that a handler maps to its platform.
 *
 * Correctness does not depend on the router: decisions are validated, slots are claimed with
 * conditional writes before a task is committed as assigned, the task id is the idempotency
 * key, and events go out through an outbox written with the task.
 */
import { DEFAULT_CORE_SETTINGS, type CoreSettings } from '../config';
import { CoordinatorError, errorMessage, isRetryable, NotFoundError, ValidationError } from '../errors';
import { normalize, type Delivery, type DeliveryMeta } from '../events/normalize';
import type { CoordinatorEvent, EventOf } from '../events/schemas';
import {
  hasFreeSlot,
  isCapable,
  requiredCapabilities,
  TERMINAL_TASK_STATUSES,
  type AgentRecord,
  type DecisionRecord,
  type OutboundEvent,
  type TaskRecord,
} from '../model';
import {
  systemClock,
  type Clock,
  type EventBus,
  type Logger,
  type Router,
  type RouterResult,
  type RoutingRequest,
  type StateStore,
} from '../ports';
import { toView } from '../routing/agent-view';
import { COORDINATION_CAPABILITY, decideByRules } from '../routing/rules-router';
import { Ledger } from './ledger';
import { nullLogger } from '../logger';

export interface CoordinatorDeps {
  store: StateStore;
  bus: EventBus;
  router: Router;
  clock?: Clock;
  logger?: Logger;
  settings?: Partial<CoreSettings>;
}

export type Outcome =
  | { id: string; status: 'done'; result: unknown }
  | { id: string; status: 'retry'; code: string; error: string }
  | { id: string; status: 'dead_letter'; code: string; reason: string };

export interface HandleOptions {
  /** FIFO semantics: stop at the first failure, the rest are retried in order. */
  ordered?: boolean;
}

export interface CoordinationResult {
  task_id: string;
  status: TaskRecord['status'];
  action?: DecisionRecord['action'];
  assigned_agents: string[];
  router?: DecisionRecord['router'];
  path?: string;
  reasoning?: string;
  duplicate?: boolean;
}

const MAX_HISTORY = 20;

/** What to do when every target of an assignment is full by the time it executes. */
type NoSlotPolicy = 'redecide' | 'queue' | 'skip';
const DRAIN_LIMIT = 200;

export class Coordinator {
  readonly ledger: Ledger;
  readonly settings: CoreSettings;
  private readonly clock: Clock;
  private readonly logger: Logger;

  constructor(readonly deps: CoordinatorDeps) {
    this.settings = { ...DEFAULT_CORE_SETTINGS, ...deps.settings };
    this.clock = deps.clock ?? systemClock;
    this.logger = deps.logger ?? nullLogger;
    this.ledger = new Ledger(deps.store, this.clock, this.settings.recordTtlSeconds);
  }

  // ------------------------------------------------------------------ entry points

  /** Normalizes any inbound payload and handles every delivery in it. */
  async handle(input: unknown, meta: DeliveryMeta = {}, options: HandleOptions = {}): Promise<Outcome[]> {
    return this.handleDeliveries(
      normalize(input, meta, { maxBytes: this.settings.maxMessageBytes }),
      options,
    );
  }

  /**
   * Handles deliveries in order. Consecutive coordination requests are routed together, so an
   * LLM router with batching decides them in one call.
   */
  async handleDeliveries(deliveries: readonly Delivery[], options: HandleOptions = {}): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    let i = 0;
    while (i < deliveries.length) {
      if (options.ordered && outcomes.some((o) => o.status !== 'done')) {
        const d = deliveries[i++]!;
        outcomes.push({
          id: d.id,
          status: 'retry',
          code: 'FIFO_BLOCKED',
          error: 'not processed: an earlier message of this ordered batch failed',
        });
        continue;
      }
      let j = i;
      while (j < deliveries.length && deliveries[j]!.event?.type === 'coordination_request') j++;
      if (j - i > 1 && !options.ordered) {
        outcomes.push(...(await this.handleRequestRun(deliveries.slice(i, j))));
        i = j;
        continue;
      }
      outcomes.push(await this.handleDelivery(deliveries[i]!));
      i++;
    }
    return outcomes;
  }

  async handleDelivery(delivery: Delivery): Promise<Outcome> {
    if (delivery.error || !delivery.event)
      return this.failed(delivery.id, delivery.error ?? new ValidationError('empty delivery'));
    try {
      return { id: delivery.id, status: 'done', result: await this.handleEvent(delivery.event) };
    } catch (err) {
      return this.failed(delivery.id, err);
    }
  }

  /** Applies one canonical event; throws on failure. */
  async handleEvent(event: CoordinatorEvent): Promise<unknown> {
    switch (event.type) {
      case 'coordination_request':
        return (await this.coordinate([event]))[0];
      case 'task_assignment':
        return this.assignDirect(event);
      case 'agent_health_check':
        return this.healthCheck(event.data.agent_id);
      case 'agent_state_change':
        return this.changeAgentState(event);
      case 'task_completion':
        return this.completeTask(event);
      case 'error_event':
        return this.recordError(event);
      case 'sweep':
        return this.sweep();
    }
  }

  private async handleRequestRun(run: readonly Delivery[]): Promise<Outcome[]> {
    const events = run.map((d) => d.event as EventOf<'coordination_request'>);
    let results: Array<CoordinationResult | Error>;
    try {
      results = await this.coordinate(events, true);
    } catch (err) {
      return run.map((d) => this.failed(d.id, err));
    }
    return run.map((d, k) => {
      const r = results[k];
      return r instanceof Error ? this.failed(d.id, r) : { id: d.id, status: 'done', result: r };
    });
  }

  private failed(id: string, err: unknown): Outcome {
    const code = err instanceof CoordinatorError ? err.code : 'INTERNAL_ERROR';
    if (!isRetryable(err)) {
      this.logger.warn('message rejected', { delivery_id: id, code, reason: errorMessage(err) });
      return { id, status: 'dead_letter', code, reason: errorMessage(err) };
    }
    this.logger.error('message failed; it will be retried', {
      delivery_id: id,
      code,
      error: errorMessage(err),
    });
    return { id, status: 'retry', code, error: errorMessage(err) };
  }

  // ------------------------------------------------------------------ coordination requests

  /**
   * Creates (or finds) the tasks, routes the ones that need a decision in one router call,
   * and executes each decision. With `settle`, per-task failures come back as errors instead
   * of failing the whole run.
   */
  async coordinate(events: EventOf<'coordination_request'>[], settle?: false): Promise<CoordinationResult[]>;
  async coordinate(
    events: EventOf<'coordination_request'>[],
    settle: true,
  ): Promise<Array<CoordinationResult | Error>>;
  async coordinate(
    events: EventOf<'coordination_request'>[],
    settle = false,
  ): Promise<Array<CoordinationResult | Error>> {
    const results: Array<CoordinationResult | Error | undefined> = new Array(events.length);
    const toRoute: Array<{ index: number; task: TaskRecord }> = [];
    for (const [index, event] of events.entries()) {
      try {
        const task = await this.openTask(event);
        if (task.status === 'queued' && !task.decision && task.outbox.length === 0)
          toRoute.push({ index, task });
        else results[index] = await this.resume(task, true);
      } catch (err) {
        if (!settle) throw err;
        results[index] = err as Error;
      }
    }
    if (toRoute.length > 0) {
      const agents = await this.ledger.listAgents();
      const snapshot = new Map(agents.map((a) => [a.agent_id, a]));
      const requests = toRoute.map(({ task }) => this.routingRequest(task, agents));
      const decided = this.deps.router.decideBatch
        ? await this.deps.router.decideBatch(requests)
        : await Promise.all(requests.map((r) => this.deps.router.decide(r)));
      for (const [k, { index, task }] of toRoute.entries()) {
        try {
          results[index] = await this.execute(task, decided[k]!, 'redecide', 0, snapshot);
        } catch (err) {
          if (!settle) throw err;
          results[index] = err as Error;
        }
      }
    }
    return results as Array<CoordinationResult | Error>;
  }

  /** Creates the task (or finds it: a redelivery); `pinnedAgent` for a direct assignment. */
  private async openTask(event: EventOf<'coordination_request'>, pinnedAgent?: string): Promise<TaskRecord> {
    const d = event.data;
    const now = this.ledger.nowIso();
    const { task } = await this.ledger.createTask({
      task_id: d.task_id ?? `task-${event.id}`,
      task_type: d.task_type,
      task_data: d.task_data,
      priority: d.priority,
      required_capabilities: d.required_capabilities ?? [],
      ...(pinnedAgent ? { pinned_agent: pinnedAgent } : {}),
      requested_by: d.agent_id ?? event.source,
      status: 'queued',
      assigned_agents: [],
      completed_agents: [],
      failed_agents: [],
      attempts: 0,
      dependencies: [],
      history: [],
      outbox: [],
      created_at: event.time ?? now,
      updated_at: now,
      version: 1,
      ttl: this.ledger.ttl(),
    });
    return task;
  }

  /** A task that exists already: finish what a crashed or concurrent delivery left, else report it. */
  private async resume(task: TaskRecord, duplicate: boolean): Promise<CoordinationResult> {
    let current = task;
    if (current.outbox.length > 0) current = await this.flushOutbox(current);
    if (current.status === 'assigned') {
      // Claims come before the commit, so an assigned task holds its slots; this repairs a
      // slot lost to an operator edit and is a no-op otherwise.
      for (const agentId of current.assigned_agents) await this.claimSlot(agentId, current.task_id, true);
    }
    return { ...this.summary(current), duplicate };
  }

  private routingRequest(task: TaskRecord, agents: readonly AgentRecord[]): RoutingRequest {
    return {
      task: {
        task_id: task.task_id,
        task_type: task.task_type,
        task_data: task.task_data,
        priority: task.priority,
        required_capabilities: task.required_capabilities,
        requested_by: task.requested_by,
        failed_agents: task.failed_agents,
      },
      agents: agents.map(toView),
    };
  }

  /**
   * Executes a validated decision. For an assignment, slots are claimed first (conditional
   * agent writes), then the task is committed as assigned together with its outbox, then the
   * outbox is published. A lost race at any step is undone and decided again by the rules.
   */
  private async execute(
    task: TaskRecord,
    routed: RouterResult,
    onNoSlot: NoSlotPolicy = 'redecide',
    round = 0,
    snapshot?: Map<string, AgentRecord>,
  ): Promise<CoordinationResult> {
    const decision = routed.decision;
    const record = this.decisionRecord(task, routed);
    this.audit(task, record);

    if (decision.action === 'reject_task') {
      const committed = await this.commit(task, (t) => {
        if (t.status !== 'queued') return undefined;
        t.status = 'rejected';
        t.reason = decision.reasoning || 'rejected by the router';
        t.completed_at = this.ledger.nowIso();
        this.pushDecision(t, record);
        t.outbox.push(this.outcomeEvent(t, 'Task Rejected'));
        return t;
      });
      return this.summary(await this.flushOutbox(committed));
    }

    const unmet = await this.unmetDependencies(decision.dependencies);
    if (decision.action === 'queue_task' || unmet.length > 0) {
      const committed = await this.commit(task, (t) => {
        if (t.status !== 'queued') return undefined;
        t.dependencies = decision.dependencies;
        if (unmet.length > 0 && decision.action !== 'queue_task') {
          record.reasoning = `${record.reasoning} (waiting for ${unmet.join(', ')})`.trim();
        }
        this.pushDecision(t, record);
        return t;
      });
      return this.summary(committed);
    }

    // assign_task / delegate_coordination
    const claimed: string[] = [];
    for (const agentId of decision.target_agents) {
      if (await this.claimSlot(agentId, task.task_id, false, snapshot)) claimed.push(agentId);
    }
    if (claimed.length === 0) {
      // Every target filled up since the decision (another task took the slot).
      if (onNoSlot === 'skip') return this.summary(task);
      if (onNoSlot === 'queue' || round >= 3) {
        const reasoning = `${decision.reasoning} (no free slot on ${decision.target_agents.join(', ')}; queued)`;
        return this.execute(
          task,
          { ...routed, decision: { ...decision, action: 'queue_task', target_agents: [], reasoning } },
          'queue',
          round + 1,
        );
      }
      // Decide again on the current registry, by the rules.
      const agents = await this.ledger.listAgents();
      const again = decideByRules(this.routingRequest(task, agents), 'rules:slot_conflict');
      again.fallback_reason = `targets full at execution: ${decision.target_agents.join(', ')}`;
      return this.execute(task, again, onNoSlot, round + 1);
    }
    record.target_agents = claimed;
    let committed: TaskRecord;
    try {
      committed = await this.commit(task, (t) => {
        if (t.status !== 'queued') return undefined;
        this.markAssigned(t, claimed, record, decision.estimated_duration);
        return t;
      });
    } catch (err) {
      await this.releaseAll(claimed, task.task_id);
      throw err;
    }
    if (committed.status !== 'assigned' || !claimed.every((a) => committed.assigned_agents.includes(a))) {
      // Another delivery assigned it first: give our slots back.
      await this.releaseAll(
        claimed.filter((a) => !committed.assigned_agents.includes(a)),
        task.task_id,
      );
      return { ...this.summary(committed), duplicate: true };
    }
    return this.summary(await this.flushOutbox(committed));
  }

  /** Writes a change to the task starting from the version the caller holds. */
  private async commit(
    task: TaskRecord,
    change: (t: TaskRecord) => TaskRecord | undefined,
  ): Promise<TaskRecord> {
    const result = await this.ledger.updateTask(task.task_id, change, task);
    if (!result) throw new NotFoundError(`task ${task.task_id} disappeared`);
    return result;
  }

  private markAssigned(t: TaskRecord, agents: string[], record: DecisionRecord, durationMin?: number): void {
    const now = this.clock.now();
    t.status = 'assigned';
    t.assigned_agents = agents;
    t.completed_agents = [];
    t.attempts += 1;
    t.assigned_at = new Date(now).toISOString();
    const durationMs = durationMin ? durationMin * 60_000 : this.settings.defaultTaskDurationMs;
    t.deadline_at = new Date(now + durationMs).toISOString();
    if (record.priority) t.priority = record.priority;
    this.pushDecision(t, record);
    for (const agentId of agents) t.outbox.push(this.assignmentEvent(t, agentId, record));
  }

  private pushDecision(t: TaskRecord, record: DecisionRecord): void {
    t.decision = record;
    t.history = [...t.history, record].slice(-MAX_HISTORY);
  }

  private decisionRecord(task: TaskRecord, routed: RouterResult): DecisionRecord {
    const r: DecisionRecord = {
      ...routed.decision,
      router: routed.router,
      path: routed.path,
      decided_at: this.ledger.nowIso(),
      requested_by: task.requested_by,
    };
    if (routed.fallback_reason) r.fallback_reason = routed.fallback_reason;
    if (routed.model) r.model = routed.model;
    if (routed.usage) r.usage = routed.usage;
    if (routed.latency_ms !== undefined) r.latency_ms = routed.latency_ms;
    return r;
  }

  /** The audit trail: who asked, which router, which agents, why. Never the task data. */
  private audit(task: TaskRecord, record: DecisionRecord): void {
    this.logger.info('decision', {
      audit: true,
      task_id: task.task_id,
      task_type: task.task_type,
      requested_by: task.requested_by,
      action: record.action,
      router: record.router,
      path: record.path,
      target_agents: record.target_agents,
      reasoning: record.reasoning,
      fallback_reason: record.fallback_reason,
      model: record.model,
      usage: record.usage,
    });
  }

  private async unmetDependencies(dependencies: readonly string[]): Promise<string[]> {
    const unmet: string[] = [];
    for (const id of dependencies) {
      const dep = await this.ledger.getTask(id);
      if (dep?.status !== 'completed') unmet.push(id);
    }
    return unmet;
  }

  // ------------------------------------------------------------------ slots and outbox

  /**
   * Adds the task to the agent's active set if it has a free slot (or `force`). Idempotent.
   * `snapshot` (agents read moments ago) saves the read and is kept current.
   */
  private async claimSlot(
    agentId: string,
    taskId: string,
    force = false,
    snapshot?: Map<string, AgentRecord>,
  ): Promise<boolean> {
    let ok = false;
    const updated = await this.ledger.updateAgent(
      agentId,
      (a) => {
        ok = false;
        if (a.active_task_ids.includes(taskId)) {
          ok = true;
          return undefined;
        }
        if (!force && !hasFreeSlot(a)) return undefined;
        a.active_task_ids = [...a.active_task_ids, taskId];
        ok = true;
        return a;
      },
      snapshot?.get(agentId),
    );
    if (updated && snapshot) snapshot.set(agentId, updated);
    return ok;
  }

  private async releaseSlot(agentId: string, taskId: string): Promise<void> {
    await this.ledger.updateAgent(agentId, (a) => {
      if (!a.active_task_ids.includes(taskId)) return undefined;
      a.active_task_ids = a.active_task_ids.filter((id) => id !== taskId);
      return a;
    });
  }

  private async releaseAll(agentIds: readonly string[], taskId: string): Promise<void> {
    for (const agentId of agentIds) await this.releaseSlot(agentId, taskId);
  }

  /** Publishes the task's pending events, then clears exactly those from the outbox. */
  private async flushOutbox(task: TaskRecord): Promise<TaskRecord> {
    if (task.outbox.length === 0) return task;
    const sent = new Set(task.outbox.map((e) => e.id));
    await this.deps.bus.publish(task.outbox);
    const cleared = await this.ledger.updateTask(
      task.task_id,
      (t) => {
        if (!t.outbox.some((e) => sent.has(e.id))) return undefined;
        t.outbox = t.outbox.filter((e) => !sent.has(e.id));
        return t;
      },
      task,
    );
    return cleared ?? task;
  }

  private assignmentEvent(t: TaskRecord, agentId: string, record: DecisionRecord): OutboundEvent {
    const assignedAt = t.assigned_at ?? this.ledger.nowIso();
    return {
      id: `${t.task_id}:${t.attempts}:${agentId}`,
      type: 'Task Assignment',
      target_agent: agentId,
      task_id: t.task_id,
      time: assignedAt,
      detail: {
        target_agent: agentId,
        task_message: {
          type: 'task_assignment',
          task_id: t.task_id,
          agent_id: agentId,
          task_type: t.task_type,
          task_data: t.task_data,
          priority: t.priority,
          assigned_at: assignedAt,
          attempt: t.attempts,
          deadline_at: t.deadline_at,
          instructions: record.task_distribution[agentId],
          decision: {
            action: record.action,
            router: record.router,
            path: record.path,
            reasoning: record.reasoning,
            target_agents: record.target_agents,
            estimated_duration: record.estimated_duration,
          },
        },
      },
    };
  }

  private outcomeEvent(t: TaskRecord, type: 'Task Rejected' | 'Task Failed'): OutboundEvent {
    return {
      id: `${t.task_id}:${type === 'Task Rejected' ? 'rejected' : 'failed'}`,
      type,
      task_id: t.task_id,
      time: this.ledger.nowIso(),
      ...(t.requested_by ? { target_agent: t.requested_by } : {}),
      detail: {
        task_id: t.task_id,
        task_type: t.task_type,
        requested_by: t.requested_by,
        status: t.status,
        reason: t.reason ?? t.error,
        attempts: t.attempts,
        failed_agents: t.failed_agents,
      },
    };
  }

  private summary(t: TaskRecord): CoordinationResult {
    const r: CoordinationResult = {
      task_id: t.task_id,
      status: t.status,
      assigned_agents: t.assigned_agents,
    };
    if (t.decision) {
      r.action = t.decision.action;
      r.router = t.decision.router;
      r.path = t.decision.path;
      r.reasoning = t.decision.reasoning;
    }
    return r;
  }

  // ------------------------------------------------------------------ direct assignment

  private async assignDirect(event: EventOf<'task_assignment'>): Promise<CoordinationResult> {
    const d = event.data;
    const opened = await this.openTask(
      {
        ...event,
        type: 'coordination_request',
        data: { task_id: d.task_id, task_type: d.task_type, task_data: d.task_data, priority: d.priority },
      },
      d.agent_id,
    );
    if (opened.status !== 'queued' || opened.decision || opened.outbox.length > 0)
      return this.resume(opened, true);
    // Pinned when created; a task id first seen as a coordination request gets pinned here.
    const task = opened.pinned_agent
      ? opened
      : await this.commit(opened, (t) => ({ ...t, pinned_agent: d.agent_id }));
    const agent = await this.ledger.getAgent(d.agent_id);
    const direct = (
      action: RouterResult['decision']['action'],
      reasoning: string,
      targets: string[] = [],
    ): RouterResult => ({
      router: 'direct',
      path: 'direct',
      decision: {
        action,
        target_agents: targets,
        task_distribution: {},
        dependencies: [],
        reasoning,
        priority: d.priority,
      },
    });
    let routed: RouterResult;
    if (!agent) routed = direct('reject_task', `agent ${d.agent_id} is not registered`);
    else if (!isCapable(agent, requiredCapabilities(task))) {
      routed = direct(
        'reject_task',
        `agent ${d.agent_id} lacks capability ${requiredCapabilities(task).join(', ')}`,
      );
    } else if (!hasFreeSlot(agent)) {
      routed = direct(
        'queue_task',
        `agent ${d.agent_id} is ${agent.status} (${agent.active_tasks}/${agent.max_concurrent_tasks}); queued for it`,
      );
    } else routed = direct('assign_task', `direct assignment to ${d.agent_id}`, [d.agent_id]);
    return this.execute(task, routed, 'queue');
  }

  // ------------------------------------------------------------------ agents

  private async changeAgentState(event: EventOf<'agent_state_change'>) {
    const d = event.data;
    const now = this.ledger.nowIso();
    const agent = await this.ledger.upsertAgent(d.agent_id, (current) => ({
      agent_id: d.agent_id,
      capabilities: d.capabilities ?? current?.capabilities ?? [],
      status: d.new_state,
      active_task_ids: current?.active_task_ids ?? [],
      active_tasks: current?.active_tasks ?? 0,
      max_concurrent_tasks:
        d.max_concurrent_tasks ?? current?.max_concurrent_tasks ?? this.settings.defaultMaxConcurrentTasks,
      last_heartbeat: now,
      registered_at: current?.registered_at ?? now,
      updated_at: now,
      ...(current?.last_error ? { last_error: current.last_error } : {}),
      version: 1,
      ttl: 0,
    }));
    let requeued: string[] = [];
    let assigned: string[] = [];
    if (agent.status === 'offline')
      requeued = await this.requeueAgentTasks(agent, `agent ${agent.agent_id} went offline`);
    if (hasFreeSlot(agent)) assigned = await this.drainQueue();
    return {
      agent_id: agent.agent_id,
      status: agent.status,
      active_tasks: agent.active_tasks,
      requeued,
      assigned,
    };
  }

  private async healthCheck(agentId?: string) {
    const agents = agentId ? [await this.ledger.getAgent(agentId)] : await this.ledger.listAgents();
    if (agentId && !agents[0]) throw new NotFoundError(`agent ${agentId} is not registered`);
    const now = this.clock.now();
    const report = [];
    for (const agent of agents as AgentRecord[]) {
      const age = now - Date.parse(agent.last_heartbeat);
      const stale = age > this.settings.heartbeatTtlMs;
      if (stale && agent.status !== 'offline') await this.markOffline(agent, 'heartbeat expired');
      report.push({
        agent_id: agent.agent_id,
        healthy: !stale && agent.status !== 'offline',
        status: stale ? 'offline' : agent.status,
        last_heartbeat: agent.last_heartbeat,
        heartbeat_age_seconds: Math.round(age / 1000),
        active_tasks: agent.active_tasks,
      });
    }
    return {
      agents: report,
      healthy: report.filter((r) => r.healthy).length,
      unhealthy: report.filter((r) => !r.healthy).length,
    };
  }

  /** Marks a stale agent offline (only if it is still stale) and requeues its tasks. */
  private async markOffline(agent: AgentRecord, reason: string): Promise<string[]> {
    const updated = await this.ledger.updateAgent(
      agent.agent_id,
      (a) => {
        const stale = this.clock.now() - Date.parse(a.last_heartbeat) > this.settings.heartbeatTtlMs;
        if (!stale || a.status === 'offline') return undefined;
        a.status = 'offline';
        return a;
      },
      agent,
    );
    if (!updated || updated.status !== 'offline') return [];
    return this.requeueAgentTasks(updated, reason);
  }

  /** Takes every task off an agent and puts it back in the queue (or fails it past max attempts). */
  private async requeueAgentTasks(agent: AgentRecord, reason: string): Promise<string[]> {
    const requeued: string[] = [];
    for (const taskId of agent.active_task_ids) {
      await this.unassign(taskId, agent.agent_id, reason, false);
      await this.releaseSlot(agent.agent_id, taskId);
      requeued.push(taskId);
    }
    return requeued;
  }

  /**
   * Takes one agent off a task. `failedOnIt`: the agent failed it (never chosen again, counts
   * against the attempts). The task goes back to the queue when no agent is left on it, or is
   * failed once its attempts are used up.
   */
  private async unassign(
    taskId: string,
    agentId: string,
    reason: string,
    failedOnIt: boolean,
  ): Promise<TaskRecord | undefined> {
    const updated = await this.ledger.updateTask(taskId, (t) => {
      if (t.status !== 'assigned' || !t.assigned_agents.includes(agentId)) return undefined;
      t.assigned_agents = t.assigned_agents.filter((a) => a !== agentId);
      if (failedOnIt && !t.failed_agents.includes(agentId)) t.failed_agents = [...t.failed_agents, agentId];
      t.error = reason;
      if (t.assigned_agents.length > 0) return t;
      if (t.attempts >= this.settings.maxAttempts) {
        t.status = 'failed';
        t.completed_at = this.ledger.nowIso();
        t.outbox.push(this.outcomeEvent(t, 'Task Failed'));
      } else {
        t.status = 'queued';
        t.deadline_at = undefined;
      }
      return t;
    });
    return updated && updated.outbox.length > 0 ? this.flushOutbox(updated) : updated;
  }

  // ------------------------------------------------------------------ task lifecycle

  private async completeTask(event: EventOf<'task_completion'>) {
    const d = event.data;
    if (d.status === 'failed') {
      return this.recordError({
        ...event,
        type: 'error_event',
        data: {
          agent_id: d.agent_id,
          task_id: d.task_id,
          error: errorText(d.result) ?? 'agent reported failure',
        },
      });
    }
    const task = await this.ledger.getTask(d.task_id);
    if (!task) throw new NotFoundError(`task ${d.task_id} not found`);
    let ignored: string | undefined;
    const updated = await this.ledger.updateTask(
      d.task_id,
      (t) => {
        ignored = undefined;
        if (TERMINAL_TASK_STATUSES.includes(t.status)) {
          ignored = `task is already ${t.status}`;
          return undefined;
        }
        if (t.status !== 'assigned' || !t.assigned_agents.includes(d.agent_id)) {
          ignored = `task is not assigned to ${d.agent_id}`;
          return undefined;
        }
        if (t.completed_agents.includes(d.agent_id)) {
          ignored = `${d.agent_id} already reported completion`;
          return undefined;
        }
        t.completed_agents = [...t.completed_agents, d.agent_id];
        if (d.result !== undefined) {
          t.result =
            t.assigned_agents.length > 1
              ? { ...(asRecord(t.result) ?? {}), [d.agent_id]: d.result }
              : d.result;
        }
        if (t.assigned_agents.every((a) => t.completed_agents.includes(a))) {
          t.status = 'completed';
          t.completed_at = this.ledger.nowIso();
        }
        return t;
      },
      task,
    );
    // Free the slot whatever the task says: a slot held by a finished agent is never useful.
    await this.releaseSlot(d.agent_id, d.task_id);
    const assigned = await this.drainQueue();
    return {
      task_id: d.task_id,
      status: updated?.status ?? task.status,
      ...(ignored ? { ignored } : {}),
      assigned,
    };
  }

  private async recordError(event: EventOf<'error_event'>) {
    const d = event.data;
    const message = typeof d.error === 'string' ? d.error : JSON.stringify(d.error).slice(0, 4000);
    if (d.agent_id) {
      await this.ledger.updateAgent(d.agent_id, (a) => ({ ...a, last_error: message.slice(0, 1000) }));
    }
    if (!d.task_id) return { recorded: true, agent_id: d.agent_id };
    const task = await this.ledger.getTask(d.task_id);
    if (!task) throw new NotFoundError(`task ${d.task_id} not found`);
    const failing = d.agent_id ? [d.agent_id] : task.assigned_agents;
    let current: TaskRecord | undefined = task;
    for (const agentId of failing) {
      current = (await this.unassign(d.task_id, agentId, message, true)) ?? current;
      await this.releaseSlot(agentId, d.task_id);
    }
    // Reassign right away when another capable agent is free; else it waits in the queue.
    const assigned = current?.status === 'queued' ? await this.drainQueue() : [];
    const final = await this.ledger.getTask(d.task_id);
    return {
      task_id: d.task_id,
      status: final?.status,
      attempts: final?.attempts,
      assigned_agents: final?.assigned_agents ?? [],
      reassigned: assigned.includes(d.task_id),
    };
  }

  /**
   * Assigns queued tasks to free agents: highest priority and oldest first, least-loaded
   * capable agent, skipping tasks whose dependencies have not completed. Returns the ids of
   * the tasks it assigned.
   */
  async drainQueue(): Promise<string[]> {
    const queued = await this.ledger.listTasks('queued', DRAIN_LIMIT);
    if (queued.length === 0) return [];
    const agents = new Map((await this.ledger.listAgents()).map((a) => [a.agent_id, a]));
    const assigned: string[] = [];
    for (const task of queued) {
      const free = [...agents.values()].filter(hasFreeSlot);
      if (free.length === 0) break;
      // Only the free agents that could take this task matter: most queued tasks wait for a
      // capability whose agents are all busy, and are passed over without building a request.
      const required = requiredCapabilities(task);
      const eligible = (a: AgentRecord) =>
        (!task.pinned_agent || a.agent_id === task.pinned_agent) && !task.failed_agents.includes(a.agent_id);
      let candidates = free.filter((a) => eligible(a) && isCapable(a, required));
      if (
        candidates.length === 0 &&
        !task.pinned_agent &&
        ![...agents.values()].some((a) => isCapable(a, required))
      ) {
        candidates = free.filter((a) => eligible(a) && a.capabilities.includes(COORDINATION_CAPABILITY));
      }
      if (candidates.length === 0) continue;
      if (task.dependencies.length > 0 && !(await this.dependenciesReady(task))) continue;
      const routed = decideByRules(
        this.routingRequest(task, candidates),
        task.pinned_agent ? 'direct:drain' : 'drain',
      );
      if (routed.decision.action !== 'assign_task' && routed.decision.action !== 'delegate_coordination')
        continue;
      routed.decision.reasoning = `from the queue: ${routed.decision.reasoning}`;
      if (task.pinned_agent) routed.router = 'direct';
      const result = await this.execute(task, routed, 'skip', 0, agents).catch((err: unknown) => {
        this.logger.warn('drain: could not assign a queued task; it stays queued', {
          task_id: task.task_id,
          error: errorMessage(err),
        });
        return undefined;
      });
      if (result?.status === 'assigned' && !result.duplicate) assigned.push(task.task_id);
    }
    return assigned;
  }

  /** True when every dependency completed; fails the task when one failed or was rejected. */
  private async dependenciesReady(task: TaskRecord): Promise<boolean> {
    for (const id of task.dependencies) {
      const dep = await this.ledger.getTask(id);
      if (dep?.status === 'completed') continue;
      if (dep && (dep.status === 'failed' || dep.status === 'rejected')) {
        const failed = await this.ledger.updateTask(task.task_id, (t) => {
          if (t.status !== 'queued') return undefined;
          t.status = 'failed';
          t.error = `dependency ${id} ${dep.status}`;
          t.completed_at = this.ledger.nowIso();
          t.outbox.push(this.outcomeEvent(t, 'Task Failed'));
          return t;
        });
        if (failed) await this.flushOutbox(failed);
      }
      return false;
    }
    return true;
  }

  // ------------------------------------------------------------------ sweep

  /**
   * The scheduled sweep: stale agents go offline and give their tasks back, tasks past their
   * deadline go back to the queue, pending outboxes are published, slots held by tasks that
   * are not assigned to the agent are released, and the queue is drained.
   */
  async sweep() {
    const now = this.clock.now();
    const agents = await this.ledger.listAgents();
    const offline: string[] = [];
    const requeued: string[] = [];
    for (const agent of agents) {
      if (
        agent.status !== 'offline' &&
        now - Date.parse(agent.last_heartbeat) > this.settings.heartbeatTtlMs
      ) {
        const tasks = await this.markOffline(agent, 'heartbeat expired');
        offline.push(agent.agent_id);
        requeued.push(...tasks);
      }
    }
    const assignedTasks = await this.ledger.listTasks('assigned', 1000);
    let republished = 0;
    for (const task of assignedTasks) {
      if (task.outbox.length > 0) {
        await this.flushOutbox(task);
        republished += task.outbox.length;
      }
      if (task.deadline_at && Date.parse(task.deadline_at) < now) {
        for (const agentId of task.assigned_agents) {
          await this.unassign(task.task_id, agentId, `deadline ${task.deadline_at} passed`, false);
          await this.releaseSlot(agentId, task.task_id);
        }
        requeued.push(task.task_id);
      }
    }
    for (const status of ['rejected', 'failed'] as const) {
      for (const task of await this.ledger.listTasks(status, 200)) {
        if (task.outbox.length > 0) {
          await this.flushOutbox(task);
          republished += task.outbox.length;
        }
      }
    }
    const released = await this.reconcileSlots(await this.ledger.listTasks('assigned', 1000)); // repaired slots, both ways
    const assigned = await this.drainQueue();
    return { offline, requeued: [...new Set(requeued)], republished, released, assigned };
  }

  /**
   * Makes every agent's slots match the ledger, both ways: a slot held for a task that is not
   * assigned to the agent (a crash between claim and commit) is released, and an assigned task
   * missing from its agent's slots (a release that raced a commit) is added back.
   */
  private async reconcileSlots(assignedTasks: readonly TaskRecord[]): Promise<number> {
    const holders = new Map(assignedTasks.map((t) => [t.task_id, t]));
    let repaired = 0;
    for (const agent of await this.ledger.listAgents()) {
      for (const taskId of agent.active_task_ids) {
        const task = holders.get(taskId) ?? (await this.ledger.getTask(taskId));
        if (task?.status === 'assigned' && task.assigned_agents.includes(agent.agent_id)) continue;
        // A claim made moments ago may be about to commit: leave it to the next sweep.
        if (task?.status === 'queued' && this.clock.now() - Date.parse(task.updated_at) < 60_000) continue;
        await this.releaseSlot(agent.agent_id, taskId);
        repaired += 1;
      }
      for (const listed of assignedTasks) {
        if (
          !listed.assigned_agents.includes(agent.agent_id) ||
          agent.active_task_ids.includes(listed.task_id)
        )
          continue;
        // The listing may be older than a release: believe only a fresh read.
        const task = await this.ledger.getTask(listed.task_id);
        if (task?.status !== 'assigned' || !task.assigned_agents.includes(agent.agent_id)) continue;
        await this.claimSlot(agent.agent_id, task.task_id, true);
        repaired += 1;
      }
    }
    return repaired;
  }

  // ------------------------------------------------------------------ queries (HTTP API, CLI, dashboard)

  async getTask(taskId: string): Promise<TaskRecord> {
    const task = await this.ledger.getTask(taskId);
    if (!task) throw new NotFoundError(`task ${taskId} not found`);
    return task;
  }

  async listAgents(): Promise<Array<AgentRecord & { stale: boolean }>> {
    const now = this.clock.now();
    return (await this.ledger.listAgents()).map((a) => ({
      ...a,
      stale: a.status !== 'offline' && now - Date.parse(a.last_heartbeat) > this.settings.heartbeatTtlMs,
    }));
  }
}

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

function errorText(result: unknown): string | undefined {
  if (typeof result === 'string') return result;
  const r = asRecord(result);
  if (r && typeof r.error === 'string') return r.error;
  return undefined;
}
