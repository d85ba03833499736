/**
 * The OpenAPI 3.1 document of the local HTTP API, generated from the zod schemas in
 * ./schemas.ts with zod-openapi. `npm run openapi` writes it to docs/openapi.json, which is
 * checked in and served at `GET /openapi.json` (the server reads the file, so zod-openapi is
 * needed only to regenerate it). test/http/openapi.test.ts fails when the two differ.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import * as z from 'zod';
import { createDocument, type ZodOpenApiResponsesObject } from 'zod-openapi';
import { TaskStatus } from '../core/model';
import {
  AgentsBody,
  AssignmentsBody,
  BatchResult,
  CloudEventBatch,
  ErrorBody,
  EventResult,
  HealthBody,
  InboundPayload,
  StatsBody,
  StructuredCloudEvent,
  TaskView,
  TasksBody,
} from './schemas';

const jsonBody = (schema: z.ZodType) => ({ 'application/json': { schema } });
const error = (description: string) => ({ description, content: jsonBody(ErrorBody) });
const retryAfter = z.string().meta({ description: 'Seconds to wait before trying again.' });

/** Answers any route may give before it is reached. */
const common: ZodOpenApiResponsesObject = {
  '401': {
    description: 'AUTH_TOKEN is set and the request carries no valid token.',
    content: jsonBody(ErrorBody),
  },
  '403': error('AUTH_TOKEN is off and `Origin` names another site (cross-site request).'),
  '421': error('AUTH_TOKEN is off and `Host` is not a name the local server is bound to (DNS rebinding).'),
  '429': {
    description: 'More than RATE_LIMIT_PER_MINUTE requests from this caller in a minute.',
    headers: z.object({ 'retry-after': retryAfter }),
    content: jsonBody(ErrorBody),
  },
};

/** The dashboard's routes are raw handlers on the local server: no rate limit there. */
const { '429': _noRateLimit, ...dashboardCommon } = common;

const query = (shape: Record<string, z.ZodType>) => ({ query: z.object(shape) });

export function buildOpenApiDocument(): ReturnType<typeof createDocument> {
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'agent-coordinator HTTP API',
      version: '1',
      description:
        "The local runtime's HTTP API (`npm start`), also served by the Azure HTTP trigger (under `/api`) and the GCP HTTP function. See docs/http.md.",
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: 'http://127.0.0.1:8787', description: '`npm start`' }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'AUTH_TOKEN, when it is set.' },
        apiKey: {
          type: 'apiKey',
          in: 'header',
          name: 'x-api-key',
          description: 'AUTH_TOKEN, when it is set.',
        },
      },
    },
    security: [{}, { bearer: [] }, { apiKey: [] }],
    paths: {
      '/events': {
        post: {
          summary: 'Send one message, an SQS-shaped batch, or CloudEvents (binary, structured, batched).',
          description:
            'Binary-mode CloudEvents carry their attributes in `ce-*` headers and the message as a JSON body (its schema is the `data` of a CloudEvent). Without AUTH_TOKEN only the media types below are accepted (415 otherwise).',
          requestParams: {
            header: z.object({
              'x-request-id': z
                .string()
                .optional()
                .meta({ description: 'The delivery id (task id `task-<id>` when the message names none).' }),
              'ce-specversion': z.string().optional().meta({ description: 'Binary mode: `1.0`.' }),
              'ce-id': z.string().optional().meta({ description: 'Binary mode: the event id.' }),
              'ce-source': z.string().optional().meta({ description: 'Binary mode: the event source.' }),
              'ce-type': z.string().optional().meta({ description: 'Binary mode: the message type.' }),
            }),
          },
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: InboundPayload },
              'application/cloudevents+json': { schema: StructuredCloudEvent },
              'application/cloudevents-batch+json': { schema: CloudEventBatch },
            },
          },
          responses: {
            '200': {
              description:
                'One message: what handling it returned. A batch (SQS-shaped or CloudEvents batched mode): every outcome.',
              content: jsonBody(z.union([EventResult, BatchResult])),
            },
            '400': error(
              'Malformed: not JSON, not a message of the contract, an invalid CloudEvent, or a bad field.',
            ),
            '404': error('The message names a task or agent that does not exist.'),
            '413': error('The body is larger than MAX_MESSAGE_BYTES.'),
            '415': {
              description: 'AUTH_TOKEN is off and the Content-Type is not one of the accepted media types.',
              headers: z.object({
                'accept-post': z.string().meta({ description: 'The media types accepted.' }),
              }),
              content: jsonBody(ErrorBody),
            },
            '503': {
              description: 'A retryable failure (the store or the bus): send it again.',
              headers: z.object({ 'retry-after': retryAfter }),
              content: jsonBody(ErrorBody),
            },
            ...common,
          },
        },
      },
      '/a2a/notifications': {
        post: {
          summary: 'An A2A push notification: a task update from an agent registered from its Agent Card.',
          description:
            'Authenticated by the per-task token the coordinator registered with the push config (`X-A2A-Notification-Token`), not by AUTH_TOKEN; the state is confirmed with the agent (tasks/get) before it counts. See docs/a2a.md.',
          security: [{}],
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: z.looseObject({}).meta({ description: 'An A2A Task or a status update event.' }),
              },
            },
          },
          responses: {
            '200': {
              description: 'Taken (or ignored, or a duplicate of a state already reported).',
              content: jsonBody(
                z.looseObject({
                  accepted: z.boolean().optional(),
                  duplicate: z.boolean().optional(),
                  state: z.string().optional(),
                  ignored: z.string().optional(),
                }),
              ),
            },
            '400': error('Not an A2A task or status update, or no context id.'),
            '401': error('Missing or wrong notification token.'),
            '404': error('No task of this coordinator has that A2A task.'),
            '403': common['403']!,
            '421': common['421']!,
          },
        },
      },
      '/agents': {
        get: {
          summary: 'The registry, each agent marked `stale` when its heartbeat is old.',
          responses: { '200': { description: 'Every agent.', content: jsonBody(AgentsBody) }, ...common },
        },
      },
      '/tasks': {
        get: {
          summary: 'Tasks in one status in queue order, or the most recently updated of all.',
          requestParams: query({
            status: TaskStatus.optional(),
            limit: z.coerce.number().int().min(0).max(1000).optional().meta({ description: 'Default 100.' }),
          }),
          responses: {
            '200': { description: 'The tasks.', content: jsonBody(TasksBody) },
            '400': error('A bad `status` or `limit`.'),
            ...common,
          },
        },
      },
      '/tasks/{id}': {
        get: {
          summary: 'One task with its decision history.',
          requestParams: {
            path: z.object({ id: z.string().meta({ description: 'The task id, percent-encoded.' }) }),
          },
          responses: {
            '200': { description: 'The task.', content: jsonBody(TaskView) },
            '400': error('The id is not valid percent-encoding.'),
            '404': error('No such task.'),
            ...common,
          },
        },
      },
      '/assignments': {
        get: {
          summary: 'What was published (`Task Assignment`, `Task Rejected`, `Task Failed`), oldest first.',
          requestParams: query({
            agent: z.string().optional().meta({ description: 'The target agent.' }),
            task_id: z.string().optional(),
            type: z.string().optional(),
            after: z.coerce
              .number()
              .int()
              .min(0)
              .optional()
              .meta({ description: 'Only events after this sequence.' }),
            limit: z.coerce
              .number()
              .int()
              .min(0)
              .max(10000)
              .optional()
              .meta({ description: 'Default 1000.' }),
          }),
          responses: {
            '200': { description: 'The published events.', content: jsonBody(AssignmentsBody) },
            '400': error('A bad `after` or `limit`.'),
            '404': error('This runtime does not keep published events (only the local one does).'),
            ...common,
          },
        },
      },
      '/health': {
        get: {
          summary: 'Liveness; needs no credentials.',
          security: [{}],
          responses: { '200': { description: 'Alive.', content: jsonBody(HealthBody) } },
        },
      },
      '/openapi.json': {
        get: {
          summary: 'This document; needs no credentials.',
          security: [{}],
          responses: {
            '200': {
              description: 'The OpenAPI document.',
              content: jsonBody(z.looseObject({ openapi: z.string() })),
            },
            '403': common['403']!,
            '421': common['421']!,
            '429': common['429']!,
          },
        },
      },
      '/stats': {
        get: {
          summary: 'Local server only: the dashboard figures.',
          responses: {
            '200': { description: 'The figures.', content: jsonBody(StatsBody) },
            ...dashboardCommon,
          },
        },
      },
      '/stream': {
        get: {
          summary: 'Local server only: the dashboard feed as server-sent events (`snapshot`, then changes).',
          responses: {
            '200': {
              description: 'An event stream.',
              content: { 'text/event-stream': { schema: z.string() } },
            },
            '503': error('Too many live streams.'),
            ...dashboardCommon,
          },
        },
      },
    },
  });
}

/** The document as checked in: the generator's key order, formatted as `prettier --check` wants. */
export async function renderOpenApiDocument(): Promise<string> {
  const prettier = await import('prettier');
  const options = (await prettier.resolveConfig(path.resolve(__dirname, 'openapi.json'))) ?? {};
  return prettier.format(JSON.stringify(buildOpenApiDocument()), { ...options, parser: 'json' });
}

/** `npm run openapi`: (re)writes docs/openapi.json. */
export async function main(out = path.resolve(process.cwd(), 'docs', 'openapi.json')): Promise<void> {
  writeFileSync(out, await renderOpenApiDocument());
  process.stdout.write(`wrote ${path.relative(process.cwd(), out)}\n`);
}
