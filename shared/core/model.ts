/**
 * The records the coordinator keeps and the routing decision it executes. Schemas are the
 * source of truth; types are derived from them. Field names follow the public contract
 * (snake_case), see README "Event contract".
 */
import * as z from 'zod';

export const PRIORITIES = ['critical', 'high', 'medium', 'low'] as const;
export const Priority = z.enum(PRIORITIES);
export type Priority = z.infer<typeof Priority>;
/** Lower rank is served first. */
export const PRIORITY_RANK: Record<Priority, number> = { critical: 0, high: 1, medium: 2, low: 3 };

export const AGENT_STATUSES = ['available', 'busy', 'offline'] as const;
export const AgentStatus = z.enum(AGENT_STATUSES);
export type AgentStatus = z.infer<typeof AgentStatus>;

export const TASK_STATUSES = ['queued', 'assigned', 'completed', 'failed', 'rejected'] as const;
export const TaskStatus = z.enum(TASK_STATUSES);
export type TaskStatus = z.infer<typeof TaskStatus>;
export const TERMINAL_TASK_STATUSES: readonly TaskStatus[] = ['completed', 'failed', 'rejected'];

export const ROUTING_ACTIONS = ['assign_task', 'queue_task', 'delegate_coordination', 'reject_task'] as const;
export const RoutingAction = z.enum(ROUTING_ACTIONS);
export type RoutingAction = z.infer<typeof RoutingAction>;

const Identifier = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[A-Za-z0-9._:@\-/]+$/, 'may contain only letters, digits and . _ : @ - /');

/** What a router (LLM or deterministic) must return; validated before anything is executed. */
export const RoutingDecision = z.object({
  action: RoutingAction,
  target_agents: z.array(Identifier).max(16).default([]),
  task_distribution: z.record(z.string(), z.string().max(2000)).default({}),
  priority: Priority.optional(),
  /** Minutes the task is expected to take; also sets the assignment's deadline. */
  estimated_duration: z
    .number()
    .positive()
    .max(7 * 24 * 60)
    .optional(),
  dependencies: z.array(Identifier).max(32).default([]),
  reasoning: z.string().max(4000).default(''),
});
export type RoutingDecision = z.infer<typeof RoutingDecision>;

export const ROUTERS = ['llm', 'rules', 'direct'] as const;
export type RouterKind = (typeof ROUTERS)[number];

export const TokenUsage = z.object({
  input_tokens: z.number().int().nonnegative(),
  output_tokens: z.number().int().nonnegative(),
  cache_read_tokens: z.number().int().nonnegative().optional(),
  cache_write_tokens: z.number().int().nonnegative().optional(),
});
export type TokenUsage = z.infer<typeof TokenUsage>;

/** A decision as recorded on the task: what was decided, by whom, and why. */
export const DecisionRecord = RoutingDecision.extend({
  router: z.enum(ROUTERS),
  /** Which path decided: `fast_path`, `llm`, `llm_batch`, `rules`, `direct`, `fallback`, ... */
  path: z.string(),
  decided_at: z.string(),
  /** Why an LLM was not used or its answer not taken (timeout, circuit_open, over_budget, ...). */
  fallback_reason: z.string().optional(),
  /** Parts of the router's answer that were dropped by validation, with reasons. */
  dropped: z.array(z.string()).optional(),
  model: z.string().optional(),
  usage: TokenUsage.optional(),
  latency_ms: z.number().nonnegative().optional(),
  /** Who asked: the requesting agent or the delivery source. */
  requested_by: z.string().optional(),
});
export type DecisionRecord = z.infer<typeof DecisionRecord>;

/** An agent's A2A security scheme, as its Agent Card describes it (the secret is configured). */
export const A2aSecurity = z.object({
  /** The scheme's name in the card (`securitySchemes` key). */
  name: z.string(),
  type: z.enum(['http', 'apiKey', 'oauth2', 'openIdConnect', 'mutualTLS']),
  /** For `http`: `Bearer`, `Basic`. */
  scheme: z.string().optional(),
  /** For `apiKey`: where the key goes and under which name. */
  location: z.enum(['header', 'query', 'cookie']).optional(),
  param_name: z.string().optional(),
});
export type A2aSecurity = z.infer<typeof A2aSecurity>;

/** How to reach an agent that speaks A2A: what its Agent Card said when it was last fetched. */
export const A2aEndpoint = z.object({
  card_url: z.string(),
  card_name: z.string(),
  card_version: z.string().optional(),
  /** SHA-256 of the card as served: a heartbeat refreshes the record when it changed. */
  card_sha256: z.string(),
  fetched_at: z.string(),
  /** The capabilities the card's skills gave (merged with the explicit ones). */
  card_capabilities: z.array(z.string()).default([]),
  interface_url: z.string(),
  protocol_binding: z.enum(['JSONRPC', 'HTTP+JSON']),
  protocol_version: z.enum(['1.0', '0.3']),
  tenant: z.string().optional(),
  security: A2aSecurity.optional(),
  push_notifications: z.boolean(),
  skills: z.array(z.string()).default([]),
});
export type A2aEndpoint = z.infer<typeof A2aEndpoint>;

/** An A2A task the coordinator started for one agent's part of one of its tasks. */
export const A2aTaskRef = z.object({
  agent_id: z.string(),
  /** The assignment event it was sent for (`<task_id>:<attempt>:<agent>`): the idempotency key. */
  assignment_id: z.string(),
  /** Set once the agent answered; absent while the send is in flight. */
  a2a_task_id: z.string().optional(),
  /** The A2A task's last known state (`submitted`, `working`, `completed`, ...), or `sending`. */
  state: z.string(),
  /** The agent was asked to push updates (its card allows it and a notification URL is set). */
  push: z.boolean(),
  /** What the agent must send back with each notification (compared in constant time). */
  push_token: z.string().optional(),
  /** Sends that failed and may be retried. */
  send_failures: z.number().int().nonnegative().default(0),
  /** What an agent asking for input said. */
  message: z.string().optional(),
  dispatched_at: z.string(),
  updated_at: z.string(),
});
export type A2aTaskRef = z.infer<typeof A2aTaskRef>;

export const AgentRecord = z.object({
  agent_id: Identifier,
  capabilities: z.array(z.string()).default([]),
  status: AgentStatus,
  /** Ids of the tasks holding a slot on this agent; `active_tasks` is its length. */
  active_task_ids: z.array(z.string()).default([]),
  active_tasks: z.number().int().nonnegative(),
  max_concurrent_tasks: z.number().int().positive(),
  last_heartbeat: z.string(),
  registered_at: z.string(),
  updated_at: z.string(),
  last_error: z.string().optional(),
  /** Set for an agent registered from an Agent Card: assignments go to it over A2A. */
  a2a: A2aEndpoint.optional(),
  version: z.number().int().positive(),
  /** Epoch seconds after which the store may expire the record. */
  ttl: z.number().int(),
});
export type AgentRecord = z.infer<typeof AgentRecord>;

/** A claim check: where a large `task_data` is kept instead of the task and its assignment. */
export const PayloadRef = z.object({
  uri: z.string().min(1).max(2048),
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  content_type: z.literal('application/json').default('application/json'),
});
export type PayloadRef = z.infer<typeof PayloadRef>;

/** An event waiting to be published: written with the task, cleared once the bus took it. */
export const OutboundEvent = z.object({
  id: z.string(),
  type: z.enum(['Task Assignment', 'Task Rejected', 'Task Failed', 'Task Input Required']),
  target_agent: z.string().optional(),
  /** `a2a`: the target agent takes work over A2A (the dispatch adapter sends it there too). */
  protocol: z.literal('a2a').optional(),
  task_id: z.string(),
  detail: z.record(z.string(), z.unknown()),
  time: z.string(),
});
export type OutboundEvent = z.infer<typeof OutboundEvent>;

export const TaskRecord = z.object({
  task_id: Identifier,
  task_type: z.string(),
  task_data: z.unknown().optional(),
  /** Where the task data is kept when it was too large for the bus (claim check); then no `task_data`. */
  task_data_ref: PayloadRef.optional(),
  priority: Priority,
  required_capabilities: z.array(z.string()).default([]),
  requested_by: z.string().optional(),
  status: TaskStatus,
  assigned_agents: z.array(z.string()).default([]),
  /** Agents that have reported completion (multi-agent tasks close when all have). */
  completed_agents: z.array(z.string()).default([]),
  /** Agents that failed this task; never chosen again for it. */
  failed_agents: z.array(z.string()).default([]),
  attempts: z.number().int().nonnegative(),
  dependencies: z.array(z.string()).default([]),
  /**
   * Another task waits in a queue for this one to complete (this is its dependency): when this
   * one ends, every queue drains, not only the freed agent's (see usecases/drain.ts).
   */
  awaited: z.boolean().optional(),
  /** When a direct assignment names its agent, the agent it must go to. */
  pinned_agent: z.string().optional(),
  decision: DecisionRecord.optional(),
  history: z.array(DecisionRecord).default([]),
  /** Events committed with the task but not yet accepted by the bus (transactional outbox). */
  outbox: z.array(OutboundEvent).default([]),
  result: z.unknown().optional(),
  /** Assignments of this task that could not be committed for good (it fails at `MAX_COMMIT_FAILURES`). */
  commit_failures: z.number().int().nonnegative().optional(),
  /** The A2A tasks started for this task's agents (one per agent, the latest assignment's). */
  a2a_tasks: z.array(A2aTaskRef).optional(),
  /** An agent asked for input: the task waits (still assigned, no deadline) until it goes on. */
  waiting: z.object({ agent_id: z.string(), message: z.string(), since: z.string() }).optional(),
  error: z.string().optional(),
  reason: z.string().optional(),
  created_at: z.string(),
  updated_at: z.string(),
  assigned_at: z.string().optional(),
  deadline_at: z.string().optional(),
  completed_at: z.string().optional(),
  version: z.number().int().positive(),
  ttl: z.number().int(),
});
export type TaskRecord = z.infer<typeof TaskRecord>;

/**
 * The queue a queued task waits in: its pinned agent's (`agent:<id>`), else the one of its
 * exact capability set (`caps:<sorted capabilities joined by +>`). A freed agent reads only the
 * heads of the queues it can serve.
 */
export function queueKeyOf(
  task: Pick<TaskRecord, 'pinned_agent' | 'required_capabilities' | 'task_type'>,
): string {
  if (task.pinned_agent) return `agent:${task.pinned_agent}`;
  const caps = task.required_capabilities;
  if (caps.length === 0) return `caps:${task.task_type}`;
  if (caps.length === 1) return `caps:${caps[0]}`;
  return `caps:${[...new Set(caps)].sort().join('+')}`;
}

/** The capabilities a `caps:` queue key stands for (none for a pinned agent's queue). */
export function queueKeyCapabilities(queueKey: string): string[] | undefined {
  return queueKey.startsWith('caps:') ? queueKey.slice(5).split('+') : undefined;
}

/** The key that orders the queue: priority first, then age, then id for stability. */
export function queueOrderKey(task: Pick<TaskRecord, 'priority' | 'created_at' | 'task_id'>): string {
  return `${PRIORITY_RANK[task.priority]}#${task.created_at}#${task.task_id}`;
}
