/**
 * The HTTP API's bodies as zod schemas: what `POST /events` takes and what every route
 * answers. The OpenAPI document (docs/openapi.json, `npm run openapi`) is generated from them,
 * and test/http/openapi.test.ts checks real answers of the local server against that document.
 * Records come from the core's model, inbound messages from its event schemas.
 */
import * as z from 'zod';
import { EVENT_SCHEMAS, EVENT_TYPES, DETAIL_TYPES, type EventType } from '../core/events/schemas';
import {
  AgentRecord,
  AgentStatus,
  OutboundEvent,
  RoutingAction,
  TaskRecord,
  TaskStatus,
} from '../core/model';

// ------------------------------------------------------------------ requests

/** One message of the contract in its direct form: `type` plus the fields of that type. */
const directMessages = EVENT_TYPES.map((type: EventType) =>
  (EVENT_SCHEMAS[type] as z.ZodObject)
    .extend({ type: z.literal(type) })
    .meta({ id: `Direct_${type}`, description: `A \`${type}\` message.` }),
);

export const DirectMessage = z
  .union(directMessages as unknown as [z.ZodObject, z.ZodObject, ...z.ZodObject[]])
  .meta({
    id: 'DirectMessage',
    description: 'A message of the contract: `type` names it (docs/contract.md).',
  });

export const EventBridgeEvent = z
  .looseObject({
    'detail-type': z.string().meta({ examples: Object.keys(DETAIL_TYPES) }),
    source: z.string().optional(),
    id: z.string().optional(),
    time: z.string().optional(),
    detail: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'EventBridgeEvent', description: 'An EventBridge-shaped event; `detail` holds the message.' });

export const StructuredCloudEvent = z
  .looseObject({
    specversion: z.literal('1.0'),
    id: z.string().min(1),
    source: z.string().min(1),
    type: z.string().min(1).meta({ description: 'A message type, its detail-type, or `<prefix>.<type>`.' }),
    time: z.string().optional(),
    subject: z.string().optional(),
    datacontenttype: z.string().optional(),
    data: z.unknown().optional(),
    data_base64: z.string().optional(),
  })
  .meta({ id: 'CloudEvent', description: 'A CloudEvent 1.0 in structured form; `data` holds the message.' });

export const SqsBatch = z
  .object({
    Records: z.array(
      z.looseObject({
        messageId: z.string(),
        body: z.string().meta({ description: 'The message as JSON text.' }),
      }),
    ),
  })
  .meta({ id: 'SqsBatch', description: 'An SQS-shaped batch: one outcome per record.' });

export const PubSubPush = z
  .object({
    message: z.looseObject({
      data: z.string().meta({ description: 'The message as base64 JSON.' }),
      attributes: z.record(z.string(), z.string()).optional(),
      messageId: z.string().optional(),
    }),
    subscription: z.string(),
  })
  .meta({ id: 'PubSubPush', description: 'A raw Pub/Sub push body.' });

export const InboundPayload = z
  .union([DirectMessage, EventBridgeEvent, StructuredCloudEvent, SqsBatch, PubSubPush])
  .meta({ id: 'InboundPayload', description: 'Any inbound shape of the contract.' });

export const CloudEventBatch = z
  .array(StructuredCloudEvent)
  .min(1)
  .max(1000)
  .meta({ id: 'CloudEventBatch', description: 'CloudEvents batched mode: one outcome per event.' });

// ------------------------------------------------------------------ responses

export const ErrorBody = z
  .object({
    error: z.string().meta({ description: 'A stable code, e.g. `invalid_message`, `unauthorized`.' }),
    reason: z.string().meta({ description: 'What was wrong, for a human.' }),
    field: z.string().optional().meta({ description: 'The offending field, when one is to blame.' }),
  })
  .meta({ id: 'Error' });

export const CoordinationResult = z
  .looseObject({
    task_id: z.string(),
    status: TaskStatus,
    assigned_agents: z.array(z.string()),
    action: RoutingAction.optional(),
    router: z.string().optional(),
    path: z.string().optional(),
    reasoning: z.string().optional(),
    duplicate: z.boolean().optional(),
  })
  .meta({ id: 'CoordinationResult', description: 'A coordination request or direct assignment, decided.' });

export const AgentStateResult = z
  .looseObject({
    agent_id: z.string(),
    status: AgentStatus,
    active_tasks: z.number().int(),
    requeued: z.array(z.string()),
    assigned: z.array(z.string()),
  })
  .meta({ id: 'AgentStateResult', description: 'An agent state change, applied.' });

export const HealthCheckResult = z
  .looseObject({
    agents: z.array(z.looseObject({ agent_id: z.string(), healthy: z.boolean(), status: AgentStatus })),
    healthy: z.number().int(),
    unhealthy: z.number().int(),
  })
  .meta({ id: 'HealthCheckResult', description: 'An agent health check report.' });

export const CompletionResult = z
  .looseObject({
    task_id: z.string(),
    status: TaskStatus,
    assigned: z.array(z.string()),
    ignored: z.string().optional(),
  })
  .meta({ id: 'CompletionResult', description: 'A task completion, applied.' });

export const ErrorEventResult = z
  .union([
    z.looseObject({ recorded: z.literal(true), agent_id: z.string().optional() }),
    z.looseObject({
      task_id: z.string(),
      status: TaskStatus.optional(),
      assigned_agents: z.array(z.string()),
      reassigned: z.boolean(),
    }),
  ])
  .meta({
    id: 'ErrorEventResult',
    description: 'An error event, recorded (and its task reassigned or failed).',
  });

export const SweepResult = z.looseObject({ assigned: z.array(z.string()) }).meta({
  id: 'SweepResult',
  description: 'A sweep report: what went offline, was requeued, republished, assigned.',
});

export const EventResult = z
  .union([
    CoordinationResult,
    AgentStateResult,
    HealthCheckResult,
    CompletionResult,
    ErrorEventResult,
    SweepResult,
  ])
  .meta({
    id: 'EventResult',
    description: 'What handling one message returned; its shape follows the message type.',
  });

export const Outcome = z
  .union([
    z.object({ id: z.string(), status: z.literal('done'), result: z.unknown() }),
    z.object({ id: z.string(), status: z.literal('retry'), code: z.string(), error: z.string() }),
    z.object({ id: z.string(), status: z.literal('dead_letter'), code: z.string(), reason: z.string() }),
  ])
  .meta({
    id: 'Outcome',
    description: 'One delivery of a batch: done, retry (a retry may help) or dead_letter.',
  });

export const BatchResult = z
  .object({
    batchItemFailures: z.array(z.object({ itemIdentifier: z.string() })),
    outcomes: z.array(Outcome),
  })
  .meta({ id: 'BatchResult', description: 'A batch: the ids that failed, and every outcome in order.' });

export const AgentView = AgentRecord.extend({
  stale: z.boolean().meta({ description: 'Its heartbeat is older than AGENT_HEARTBEAT_TTL.' }),
}).meta({ id: 'Agent' });

export const TaskView = TaskRecord.meta({ id: 'Task' });

export const PublishedEvent = OutboundEvent.extend({
  published_at: z.string(),
  sequence: z.number().int(),
}).meta({ id: 'PublishedEvent' });

export const AgentsBody = z.object({ agents: z.array(AgentView) }).meta({ id: 'AgentList' });
export const TasksBody = z.object({ tasks: z.array(TaskView) }).meta({ id: 'TaskList' });
export const AssignmentsBody = z
  .object({ assignments: z.array(PublishedEvent) })
  .meta({ id: 'AssignmentList' });
export const HealthBody = z.object({ status: z.literal('ok') }).meta({ id: 'Health' });
export const StatsBody = z
  .looseObject({
    generated_at: z.string(),
    window_minutes: z.number(),
    per_minute: z.array(z.looseObject({ t: z.string() })),
    queue_depth: z.array(z.object({ t: z.string(), depth: z.number() })),
    tasks_by_status: z.record(z.string(), z.number()),
  })
  .meta({ id: 'Stats', description: 'The dashboard figures (docs/dashboard.md).' });
