/**
 * The ports: the only ways the core talks to the world. Adapters (DynamoDB, Cosmos DB,
 * Firestore, LevelDB, EventBridge, Service Bus, Pub/Sub, Bedrock, ...) implement them; the
 * core never imports a cloud SDK.
 */
import type {
  A2aEndpoint,
  AgentRecord,
  OutboundEvent,
  PayloadRef,
  RoutingDecision,
  TaskRecord,
  TaskStatus,
  TokenUsage,
} from './model';

// ---------------------------------------------------------------- state store

/**
 * Agent registry and task ledger with optimistic concurrency.
 *
 * `put*` writes `record` only if the stored version equals `expectedVersion` (`null`: only if
 * no record exists) and the record's own `version` is `expectedVersion + 1` (1 for a new one).
 * Otherwise it throws `ConditionFailedError`. Throttling and timeouts surface as
 * `StoreUnavailableError`. Records are returned as plain objects the caller may not mutate.
 *
 * A write is visible to every read of the store once it resolves. It is durable then too,
 * except in a write-behind store (one that has `flush`), where it is durable once a `flush`
 * called after it resolves.
 */
export interface StateStore {
  readonly name: string;
  getAgent(agentId: string): Promise<AgentRecord | undefined>;
  /** Every registered agent, with one query (never a table scan). */
  listAgents(): Promise<AgentRecord[]>;
  putAgent(agent: AgentRecord, expectedVersion: number | null): Promise<void>;
  getTask(taskId: string): Promise<TaskRecord | undefined>;
  putTask(task: TaskRecord, expectedVersion: number | null, options?: PutOptions): Promise<void>;
  /**
   * Tasks in one status, in queue order (priority rank, then `created_at`, then id), at most
   * `limit` (default 100). One query per call.
   */
  listTasksByStatus(status: TaskStatus, limit?: number): Promise<TaskRecord[]>;

  // The indexes below let the drain and the sweep read only what needs them, paged, whatever
  // the size of the ledger. A `cursor` is opaque: pass back the one a page returned.

  /**
   * Queued tasks of one queue (`queueKeyOf(task)`: the pinned agent's, or the capability
   * set's), in queue order (`queueOrderKey`), at most `limit`. One query per call.
   */
  listQueue(queueKey: string, limit: number, cursor?: string): Promise<Page<TaskRecord>>;
  /**
   * Every queue key that holds queued tasks (it may also list keys whose queue emptied since).
   * Small: one key per capability set and per pinned agent in use.
   */
  listQueueKeys(): Promise<string[]>;
  /** Tasks of any status whose outbox is not empty, at most `limit` per page. */
  listPendingOutbox(limit: number, cursor?: string): Promise<Page<TaskRecord>>;
  /** Assigned tasks whose `deadline_at` is before `before`, earliest first, at most `limit` per page. */
  listOverdue(before: string, limit: number, cursor?: string): Promise<Page<TaskRecord>>;

  // Atomic slot changes (optional; a store implements both or neither). A claim or release is
  // one conditional write in the store, with no read of the agent first and no version to
  // match, so concurrent claims on one agent do not conflict: each gets a slot while one is
  // free, then "full". Both bump `version` and set `updated_at`/`ttl` from `stamp`, keeping
  // `active_tasks` equal to the length of `active_task_ids`, like every write of the agent.
  // Without them the registry runs its optimistic read-modify-write loop over `putAgent`.

  /**
   * Adds the task to the agent's slots when the agent is `available` with a free slot (any
   * status and load with `force`). Idempotent: a task already holding a slot is `claimed`
   * without a write. `claimed: false`: no slot (the agent as stored). Undefined: no such agent.
   */
  claimAgentSlot?(
    agentId: string,
    taskId: string,
    stamp: WriteStamp,
    force: boolean,
  ): Promise<SlotClaim | undefined>;
  /** Takes the task off the agent's slots (no write when it holds none); undefined: no such agent. */
  releaseAgentSlot?(agentId: string, taskId: string, stamp: WriteStamp): Promise<AgentRecord | undefined>;

  /**
   * Write-behind stores only (optional): resolves once every write that resolved before the call
   * is durable, except `deferrable` ones, which may still wait for a later flush; rejects with a
   * retryable error when the writes could not be made durable (they stay pending and the next
   * flush tries them again). The core calls it before anything outside the store can see what it
   * wrote: before it publishes events, and before it acknowledges a delivery. A store whose
   * writes are durable when they resolve does not have it. A decorator of a store must forward it.
   */
  flush?(): Promise<void>;
  /** Writes whatever is pending (a write-behind store) and closes. */
  close?(): Promise<void>;
}

/** How a write may be treated. */
export interface PutOptions {
  /**
   * Losing this write in a crash only repeats work that is idempotent (clearing the outbox of
   * events already published: the sweep publishes them again, under the same ids). A write-behind
   * store need not wait for it in `flush`; it writes it with the next batch.
   */
  deferrable?: boolean;
}

/** `updated_at` and `ttl` of a record written by an atomic change. */
export interface WriteStamp {
  updatedAt: string;
  ttl: number;
}

/** What an atomic claim did: the agent as stored after it, and whether the task holds a slot on it. */
export interface SlotClaim {
  agent: AgentRecord;
  claimed: boolean;
}

/** One page of a listing; `cursor` is set when there may be more. */
export interface Page<T> {
  items: T[];
  cursor?: string;
}

// ---------------------------------------------------------------- bus

/**
 * Publishes outbound events. Resolves only when every event was accepted; throws
 * `PublishError` naming the events that were not (the caller keeps them in the outbox).
 * Event ids are deterministic (task, attempt, agent), so a bus with duplicate detection
 * (Service Bus, SQS FIFO, the local bus) drops a republished one.
 */
export interface EventBus {
  readonly name: string;
  publish(events: readonly OutboundEvent[]): Promise<void>;
  close?(): Promise<void>;
}

// ---------------------------------------------------------------- A2A agents

/** What an Agent Card gives the registry. */
export interface ResolvedAgentCard {
  /** Capabilities from the card's skills. */
  capabilities: string[];
  a2a: A2aEndpoint;
}

/**
 * Agents that speak the Agent2Agent protocol (adapters/a2a). Dispatch itself happens behind the
 * bus port; this is what the use cases need besides.
 */
export interface A2aGateway {
  /**
   * The card at `url` (fetched, or `current` when it is the same card and still fresh). Throws
   * a permanent `ValidationError` naming the field for a bad card, a retryable error when the
   * card cannot be read now.
   */
  resolveCard(url: string, current?: A2aEndpoint): Promise<ResolvedAgentCard>;
  /** Polls the A2A tasks the coordinator waits for and reports those that moved on (the sweep). */
  poll(): Promise<{ polled: number; reported: number; failed: number }>;
  /** A push notification from an agent: verified, confirmed with the agent, reported. */
  notification(
    body: unknown,
    headers: Record<string, string | string[] | undefined>,
  ): Promise<{ status: number; body: Record<string, unknown> }>;
}

// ---------------------------------------------------------------- router

/** The agent view a router sees: only what a decision needs. */
export interface AgentView {
  agent_id: string;
  capabilities: string[];
  status: AgentRecord['status'];
  active_tasks: number;
  max_concurrent_tasks: number;
}

export interface RoutingRequest {
  task: Pick<
    TaskRecord,
    | 'task_id'
    | 'task_type'
    | 'task_data'
    | 'priority'
    | 'required_capabilities'
    | 'requested_by'
    | 'failed_agents'
  >;
  /** The registry at decision time (all agents, not only capable ones: the LLM may delegate). */
  agents: AgentView[];
}

export interface RouterResult {
  decision: RoutingDecision;
  router: 'llm' | 'rules' | 'direct';
  path: string;
  model?: string;
  usage?: TokenUsage;
  latency_ms?: number;
  fallback_reason?: string;
  /** Parts of the router's answer that validation dropped, with reasons. */
  dropped?: string[];
}

/** Decides where a task goes. The rules router implements it; LLM routers are wrapped. */
export interface Router {
  readonly name: string;
  decide(request: RoutingRequest): Promise<RouterResult>;
  /** One decision per request, in order. Routers without batching decide one by one. */
  decideBatch?(requests: readonly RoutingRequest[]): Promise<RouterResult[]>;
}

/** A tool (function) the LLM must call: the decision schema as JSON Schema. */
export interface LlmTool {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
}

export interface LlmRequest {
  /** Stable across calls (instructions, schema): cacheable prefix. */
  system: string;
  /** The per-call part: registry snapshot and task(s). */
  prompt: string;
  tool: LlmTool;
  maxOutputTokens: number;
}

export interface LlmResponse {
  /** The tool call's arguments, as the model produced them (unvalidated). */
  toolInput?: unknown;
  /** Any free text the model produced instead of / besides the tool call. */
  text?: string;
  usage?: TokenUsage;
  stopReason?: string;
  model?: string;
}

/**
 * A chat model behind a provider API (Bedrock Converse, OpenAI-compatible, Azure OpenAI,
 * Vertex). It must honour `signal` and throw `RouterError` with a reason on failure; it may
 * retry throttling itself within the signal's lifetime. Validation is the core's job.
 */
export interface LlmClient {
  readonly provider: string;
  readonly model: string;
  complete(request: LlmRequest, signal: AbortSignal): Promise<LlmResponse>;
}

// ---------------------------------------------------------------- clock & logger

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

// ---------------------------------------------------------------- payload store (claim check)

/**
 * Where a `task_data` too large for the bus is kept (S3, Blob Storage, a local directory). The
 * task and its assignment carry the returned `PayloadRef` instead of the data; agents read the
 * data through the reference.
 */
export interface PayloadStore {
  readonly name: string;
  /**
   * Stores `body` (UTF-8 JSON) under `key` (derived from the task id, safe as an object key).
   * Idempotent: the same key and bytes give the same reference.
   */
  put(key: string, body: Uint8Array): Promise<PayloadRef>;
  /** The bytes behind a reference this store returned; `NotFoundError` when gone. */
  get(uri: string): Promise<Uint8Array>;
}

// ---------------------------------------------------------------- telemetry

export type SpanAttributes = Record<string, string | number | boolean | undefined>;

/** Metric names, the same on every runtime (EMF on AWS, OpenTelemetry elsewhere). */
export const METRICS = {
  /** A decision executed; dimensions `router`, `path`, `action`. */
  decisions: 'coordinator.decisions',
  /** An LLM answer not taken; dimension `reason`. */
  fallbacks: 'coordinator.llm.fallbacks',
  llmLatency: 'coordinator.llm.latency',
  llmInputTokens: 'coordinator.llm.input_tokens',
  llmOutputTokens: 'coordinator.llm.output_tokens',
  /** Queued tasks seen by a drain or sweep. */
  queueDepth: 'coordinator.queue.depth',
  /** Milliseconds from a task's creation to its assignment. */
  assignmentLatency: 'coordinator.assignment.latency',
  /** Deliveries by outcome; dimension `outcome` (`done`, `retry`, `dead_letter`). */
  deliveries: 'coordinator.deliveries',
} as const;
export type MetricName = (typeof METRICS)[keyof typeof METRICS];
export type MetricUnit = 'Count' | 'Milliseconds';

/**
 * Spans and metrics. Off by default (`noopTelemetry`); runtimes plug in OpenTelemetry or
 * Powertools. Implementations must be cheap when nothing listens.
 */
export interface Telemetry {
  /** Runs `fn` inside a span; the span ends when `fn` settles and records its error. */
  span<T>(name: string, attributes: SpanAttributes, fn: () => Promise<T>): Promise<T>;
  metric(name: MetricName, value: number, unit: MetricUnit, dimensions?: Record<string, string>): void;
}

export const noopTelemetry: Telemetry = {
  span: (_name, _attributes, fn) => fn(),
  metric: () => undefined,
};
