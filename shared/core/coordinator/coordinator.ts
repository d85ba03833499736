/**
 * The coordination core's one entry point for every runtime. `handle` normalizes any inbound
 * payload into canonical events, hands each to its use case (consecutive coordination
 * requests together, so a batching router decides them in one call), and returns one outcome
 * per delivery (`done`, `retry`, `dead_letter`) that a handler maps to its platform. No
 * business rule lives here: see `../usecases/` and docs/architecture.md.
 */
import { DEFAULT_CORE_SETTINGS, type CoreSettings } from '../config';
import { NotFoundError, ValidationError } from '../errors';
import { normalize, type Delivery, type DeliveryMeta } from '../events/normalize';
import type { CoordinatorEvent, EventOf } from '../events/schemas';
import { BUS_LIMITS, limitFor, STORE_LIMITS } from '../limits';
import { nullLogger } from '../logger';
import type { AgentRecord, TaskRecord, TaskStatus } from '../model';
import { Outbox } from '../outbox/outbox';
import {
  METRICS,
  noopTelemetry,
  systemClock,
  type A2aGateway,
  type Clock,
  type EventBus,
  type Logger,
  type PayloadStore,
  type Router,
  type StateStore,
  type Telemetry,
} from '../ports';
import { VersionedRecords } from '../services/records';
import { Registry } from '../services/registry';
import { TaskLedger } from '../services/task-ledger';
import { changeAgentState } from '../usecases/agent-state';
import { completeTask } from '../usecases/completion';
import { coordinate } from '../usecases/coordinate';
import { assignDirectly } from '../usecases/direct-assignment';
import { checkHealth } from '../usecases/health-check';
import type { CoordinationResult, CoreServices } from '../usecases/services';
import { sweepWithA2a } from '../usecases/sweep/a2a';
import { requireInput } from '../usecases/input-required';
import { reportError } from '../usecases/task-error';
import { done, failed, fifoBlocked, type Outcome } from './outcomes';

export type { Outcome } from './outcomes';
export type { CoordinationResult } from '../usecases/services';

export interface CoordinatorDeps {
  store: StateStore;
  bus: EventBus;
  router: Router;
  clock?: Clock;
  logger?: Logger;
  telemetry?: Telemetry;
  /** Where task data above the claim-check threshold is kept. */
  payloads?: PayloadStore;
  settings?: Partial<CoreSettings>;
  /** Agents that speak A2A; the runtime also wraps `bus` with the A2A dispatch adapter. */
  a2a?: A2aGateway;
}

export interface HandleOptions {
  /** FIFO semantics: stop at the first failure, the rest are retried in order. */
  ordered?: boolean;
}

export class Coordinator {
  readonly settings: CoreSettings;
  /** Store round trips, for benchmarks. */
  readonly storeStats: VersionedRecords['stats'];
  private readonly services: CoreServices;

  constructor(deps: CoordinatorDeps) {
    const settings = { ...DEFAULT_CORE_SETTINGS, ...deps.settings };
    const clock = deps.clock ?? systemClock;
    const telemetry = deps.telemetry ?? noopTelemetry;
    const records = new VersionedRecords(deps.store, clock, settings.recordTtlSeconds);
    const ledger = new TaskLedger(records, settings.maxAttempts, settings.defaultTaskDurationMs);
    this.settings = settings;
    this.storeStats = records.stats;
    this.services = {
      registry: new Registry(
        records,
        clock,
        settings.heartbeatTtlMs,
        settings.defaultMaxConcurrentTasks,
        settings.registrySnapshotMs,
      ),
      ledger,
      outbox: new Outbox(deps.bus, ledger, telemetry),
      router: deps.router,
      clock,
      logger: deps.logger ?? nullLogger,
      settings,
      telemetry,
      ...(deps.payloads ? { payloads: deps.payloads } : {}),
      limits: { store: limitFor(STORE_LIMITS, deps.store.name), bus: limitFor(BUS_LIMITS, deps.bus.name) },
      ...(deps.a2a ? { a2a: deps.a2a } : {}),
    };
  }

  // ------------------------------------------------------------------ entry points

  /** Normalizes any inbound payload and handles every delivery in it. */
  async handle(input: unknown, meta: DeliveryMeta = {}, options: HandleOptions = {}): Promise<Outcome[]> {
    const deliveries = await this.services.telemetry.span('coordinator.normalize', {}, async () =>
      normalize(input, meta, { maxBytes: this.settings.maxMessageBytes }),
    );
    return this.handleDeliveries(deliveries, options);
  }

  /** Handles deliveries in order; consecutive coordination requests are routed together. */
  async handleDeliveries(deliveries: readonly Delivery[], options: HandleOptions = {}): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    let i = 0;
    while (i < deliveries.length) {
      if (options.ordered && outcomes.some((o) => o.status !== 'done')) {
        outcomes.push(fifoBlocked(deliveries[i++]!.id));
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
    for (const o of outcomes)
      this.services.telemetry.metric(METRICS.deliveries, 1, 'Count', { outcome: o.status });
    return outcomes;
  }

  async handleDelivery(delivery: Delivery): Promise<Outcome> {
    const logger = this.services.logger;
    if (delivery.error || !delivery.event)
      return failed(logger, delivery.id, delivery.error ?? new ValidationError('empty delivery'));
    let outcome: Outcome;
    try {
      outcome = done(delivery.id, await this.handleEvent(delivery.event));
    } catch (err) {
      outcome = failed(logger, delivery.id, err);
    }
    return this.services.ledger.writeBehind ? (await this.durable([outcome]))[0]! : outcome;
  }

  /**
   * The outcomes once what their deliveries wrote is durable (a write-behind store's flush): a
   * delivery is acknowledged only then. When the flush fails, each `done` is retried instead.
   */
  private async durable(outcomes: Outcome[]): Promise<Outcome[]> {
    if (!this.services.ledger.writeBehind) return outcomes;
    try {
      await this.services.ledger.flush();
      return outcomes;
    } catch (err) {
      return outcomes.map((o) => (o.status === 'done' ? failed(this.services.logger, o.id, err) : o));
    }
  }

  /** Applies one canonical event with its use case; throws on failure. */
  async handleEvent(event: CoordinatorEvent): Promise<unknown> {
    const s = this.services;
    switch (event.type) {
      case 'coordination_request':
        return settled((await coordinate(s, [event]))[0]!);
      case 'task_assignment':
        return assignDirectly(s, event);
      case 'agent_health_check':
        return checkHealth(s, event.data.agent_id);
      case 'agent_state_change':
        return changeAgentState(s, event);
      case 'task_completion':
        return completeTask(s, event);
      case 'error_event':
        return reportError(s, event);
      case 'task_input_required':
        return requireInput(s, event);
      case 'sweep':
        return sweepWithA2a(s);
    }
  }

  /**
   * A push notification from an A2A agent (`POST /a2a/notifications`): answers 404 when this
   * coordinator has no A2A agents configured.
   */
  async a2aNotification(body: unknown, headers: Record<string, string | string[] | undefined>) {
    if (!this.services.a2a) return { status: 404, body: { error: 'not_found' } };
    const answer = await this.services.a2a.notification(body, headers);
    // Answered only once what it changed is durable; the agent sends it again otherwise.
    await this.services.ledger.flush();
    return answer;
  }

  /** The scheduled sweep (what a `sweep` event does); it returns once what it wrote is durable. */
  async sweep() {
    const result = await sweepWithA2a(this.services);
    await this.services.ledger.flush();
    return result;
  }

  private async handleRequestRun(run: readonly Delivery[]): Promise<Outcome[]> {
    const logger = this.services.logger;
    let results: Array<CoordinationResult | Error>;
    try {
      results = await coordinate(
        this.services,
        run.map((d) => d.event as EventOf<'coordination_request'>),
      );
    } catch (err) {
      return run.map((d) => failed(logger, d.id, err));
    }
    return this.durable(
      run.map((d, k) => {
        const r = results[k]!;
        return r instanceof Error ? failed(logger, d.id, r) : done(d.id, r);
      }),
    );
  }

  // ------------------------------------------------------------------ queries (HTTP API, CLI, dashboard)

  async getTask(taskId: string): Promise<TaskRecord> {
    const task = await this.services.ledger.get(taskId);
    if (!task) throw new NotFoundError(`task ${taskId} not found`);
    return task;
  }

  findTask(taskId: string): Promise<TaskRecord | undefined> {
    return this.services.ledger.get(taskId);
  }

  findAgent(agentId: string): Promise<AgentRecord | undefined> {
    return this.services.registry.get(agentId);
  }

  /** Tasks in one status, in queue order. */
  listTasks(status: TaskStatus, limit?: number): Promise<TaskRecord[]> {
    return this.services.ledger.list(status, limit);
  }

  async listAgents(): Promise<Array<AgentRecord & { stale: boolean }>> {
    const registry = this.services.registry;
    const now = this.services.clock.now();
    return (await registry.list()).map((a) => ({ ...a, stale: registry.isStale(a, now) }));
  }
}

function settled<T>(result: T | Error): T {
  if (result instanceof Error) throw result;
  return result;
}
