/**
 * The inbound contract: message bodies (snake_case, as the contract gives them) and the
 * canonical event the core works on. One canonical shape, whatever the transport.
 */
import * as z from 'zod';
import { AgentStatus, Priority } from '../model';

const Id = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(256, 'must be at most 256 characters')
  .regex(/^[A-Za-z0-9._:@\-/]+$/, 'may contain only letters, digits and . _ : @ - /');
/**
 * Task ids the coordinator generates from a delivery id (`task-<message id>`, see
 * `generatedTaskId`) have this prefix to themselves: a task id a client names when it creates
 * a task may not start with it, so no message id can ever land on a client's task. Messages
 * that only refer to a task (completion, error) may name a generated id, of course.
 */
export const GENERATED_TASK_ID_PREFIX = 'task-';
const ClientTaskId = Id.refine((v) => !v.startsWith(GENERATED_TASK_ID_PREFIX), {
  message: `must not start with "${GENERATED_TASK_ID_PREFIX}": that prefix is reserved for the ids the coordinator generates from message ids`,
});
const Capability = z.string().trim().min(1).max(128);
const Capabilities = z.array(Capability).max(64);

export const CoordinationRequest = z.object({
  task_id: ClientTaskId.optional(),
  agent_id: Id.optional(),
  task_type: z.string().trim().min(1, 'must not be empty').max(128),
  task_data: z.unknown().optional(),
  priority: Priority.default('medium'),
  required_capabilities: Capabilities.optional(),
});
export type CoordinationRequest = z.infer<typeof CoordinationRequest>;

export const TaskAssignmentRequest = z.object({
  task_id: ClientTaskId.optional(),
  agent_id: Id,
  task_type: z.string().trim().min(1).max(128),
  task_data: z.unknown().optional(),
  priority: Priority.default('medium'),
});
export type TaskAssignmentRequest = z.infer<typeof TaskAssignmentRequest>;

export const AgentHealthCheck = z.object({ agent_id: Id.optional() });
export type AgentHealthCheck = z.infer<typeof AgentHealthCheck>;

export const AgentStateChange = z.object({
  agent_id: Id,
  new_state: AgentStatus,
  capabilities: Capabilities.optional(),
  max_concurrent_tasks: z.number().int().positive().max(1000).optional(),
  /** An A2A agent: its Agent Card (or its base URL); the card's skills add capabilities. */
  agent_card_url: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .optional(),
});
export type AgentStateChange = z.infer<typeof AgentStateChange>;

export const TaskCompletion = z.object({
  task_id: Id,
  agent_id: Id,
  status: z.enum(['succeeded', 'failed']).default('succeeded'),
  result: z.unknown().optional(),
});
export type TaskCompletion = z.infer<typeof TaskCompletion>;

export const ErrorEvent = z.object({
  agent_id: Id.optional(),
  task_id: Id.optional(),
  error: z.union([z.string().max(4000), z.record(z.string(), z.unknown())]),
});
export type ErrorEvent = z.infer<typeof ErrorEvent>;

/** An agent needs input to go on (an A2A task in `input-required`): the task waits. */
export const TaskInputRequired = z.object({
  task_id: Id,
  agent_id: Id,
  message: z.string().max(4000),
  a2a_task_id: z.string().max(256).optional(),
});
export type TaskInputRequired = z.infer<typeof TaskInputRequired>;

export const Sweep = z.object({}).passthrough();

/** Canonical event types (snake_case) and the schema of each one's data. */
export const EVENT_SCHEMAS = {
  coordination_request: CoordinationRequest,
  task_assignment: TaskAssignmentRequest,
  agent_health_check: AgentHealthCheck,
  agent_state_change: AgentStateChange,
  task_completion: TaskCompletion,
  error_event: ErrorEvent,
  task_input_required: TaskInputRequired,
  sweep: Sweep,
} as const;
export type EventType = keyof typeof EVENT_SCHEMAS;
export const EVENT_TYPES = Object.keys(EVENT_SCHEMAS) as EventType[];

/**
 * EventBridge detail-types (and their CloudEvents/attribute spelling) of the contract. Look a
 * name up with `Object.hasOwn` (or `eventTypeOf`): a plain lookup finds `constructor`,
 * `toString` and `__proto__` on the prototype.
 */
export const DETAIL_TYPES: Record<string, EventType> = {
  'Agent State Change': 'agent_state_change',
  'Coordination Request': 'coordination_request',
  'Task Completion': 'task_completion',
  'Error Event': 'error_event',
  'Task Assignment Request': 'task_assignment',
  'Agent Health Check': 'agent_health_check',
  'Agent Input Required': 'task_input_required',
  'Scheduled Event': 'sweep',
  Sweep: 'sweep',
};

/** The canonical type a name stands for (snake_case type or detail-type), own keys only. */
export function eventTypeOf(name: string): EventType | undefined {
  if (Object.hasOwn(EVENT_SCHEMAS, name)) return name as EventType;
  if (Object.hasOwn(DETAIL_TYPES, name)) return DETAIL_TYPES[name];
  return undefined;
}

interface EventBase {
  /** CloudEvents `id`: the delivery's message id, or derived from the body. */
  id: string;
  /** CloudEvents `source`: where it came from (`aws.sqs`, `local.http`, a bus source, ...). */
  source: string;
  /** When the event happened (RFC 3339). */
  time: string;
  specversion: '1.0';
}

/** The one event type inside the core: CloudEvents 1.0 attributes plus typed data. */
export type CoordinatorEvent = {
  [K in EventType]: EventBase & { type: K; data: z.infer<(typeof EVENT_SCHEMAS)[K]> };
}[EventType];

export type EventOf<K extends EventType> = Extract<CoordinatorEvent, { type: K }>;
