/**
 * The subset of the Agent2Agent (A2A) wire format the coordinator reads, as zod schemas: the
 * Agent Card, the task a `SendMessage` / `GetTask` answers with, JSON-RPC replies and push
 * notification bodies. Both the v1.0 JSON (ProtoJSON: `TASK_STATE_COMPLETED`, `{ "data": ... }`
 * parts, `supportedInterfaces`) and the v0.3 JSON (`completed`, `{ "kind": "data" }` parts, a
 * card `url`) are read and normalised into one small view, so the rest of the adapter speaks
 * one language. Unknown fields are ignored; what is read is bounded.
 */
import * as z from 'zod';

const Str = (max: number) => z.string().max(max);
const Url = Str(2048).min(1);

// ---------------------------------------------------------------- Agent Card

const SkillSchema = z.object({
  id: Str(256).min(1),
  name: Str(512).optional(),
  description: Str(8192).optional(),
  tags: z.array(Str(256)).max(64).optional(),
});

const CapabilitiesSchema = z
  .object({ pushNotifications: z.boolean().optional(), streaming: z.boolean().optional() })
  .optional();

/** v1.0 security scheme: one key naming the kind (ProtoJSON of a `oneof`). */
export const SecuritySchemeV1 = z.object({
  httpAuthSecurityScheme: z.object({ scheme: Str(64).min(1), bearerFormat: Str(64).optional() }).optional(),
  apiKeySecurityScheme: z
    .object({ location: z.enum(['header', 'query', 'cookie']), name: Str(256).min(1) })
    .optional(),
  oauth2SecurityScheme: z.looseObject({}).optional(),
  openIdConnectSecurityScheme: z.looseObject({}).optional(),
  mtlsSecurityScheme: z.looseObject({}).optional(),
});
export type SecuritySchemeV1 = z.infer<typeof SecuritySchemeV1>;

export const AgentCardV1 = z.object({
  name: Str(256).min(1),
  description: Str(8192).optional(),
  version: Str(64).optional(),
  supportedInterfaces: z
    .array(
      z.object({
        url: Url,
        protocolBinding: Str(64).min(1),
        protocolVersion: Str(16).optional(),
        tenant: Str(256).optional(),
      }),
    )
    .min(1)
    .max(32),
  capabilities: CapabilitiesSchema,
  securitySchemes: z.record(Str(128), SecuritySchemeV1).optional(),
  securityRequirements: z
    .array(z.object({ schemes: z.record(Str(128), z.unknown()).optional() }))
    .max(32)
    .optional(),
  skills: z.array(SkillSchema).max(256).default([]),
});
export type AgentCardV1 = z.infer<typeof AgentCardV1>;

/** v0.3 security scheme: OpenAPI style, with a `type`. */
const SecuritySchemeV03 = z.object({
  type: z.enum(['http', 'apiKey', 'oauth2', 'openIdConnect', 'mutualTLS']),
  scheme: Str(64).optional(),
  in: z.enum(['header', 'query', 'cookie']).optional(),
  name: Str(256).optional(),
});

export const AgentCardV03 = z.object({
  name: Str(256).min(1),
  description: Str(8192).optional(),
  version: Str(64).optional(),
  protocolVersion: Str(16).optional(),
  url: Url,
  preferredTransport: Str(64).optional(),
  capabilities: CapabilitiesSchema,
  securitySchemes: z.record(Str(128), SecuritySchemeV03).optional(),
  security: z
    .array(z.record(Str(128), z.unknown()))
    .max(32)
    .optional(),
  skills: z.array(SkillSchema).max(256).default([]),
});
export type AgentCardV03 = z.infer<typeof AgentCardV03>;

// ---------------------------------------------------------------- parts, messages, tasks

const PartSchema = z.object({
  // v1.0
  text: z.string().optional(),
  data: z.unknown().optional(),
  url: z.string().optional(),
  raw: z.string().optional(),
  mediaType: z.string().optional(),
  filename: z.string().optional(),
  // v0.3
  kind: z.string().optional(),
  file: z
    .object({ uri: z.string().optional(), mimeType: z.string().optional(), name: z.string().optional() })
    .optional(),
});

const MessageSchema = z.object({
  messageId: z.string().optional(),
  role: z.union([z.string(), z.number()]).optional(),
  parts: z.array(PartSchema).max(1024).default([]),
  contextId: z.string().optional(),
  taskId: z.string().optional(),
  kind: z.literal('message').optional(),
});

const StatusSchema = z.object({
  state: z.union([z.string(), z.number()]),
  message: MessageSchema.optional(),
  timestamp: z.string().optional(),
});

const ArtifactSchema = z.object({
  artifactId: z.string().optional(),
  name: z.string().optional(),
  description: z.string().optional(),
  parts: z.array(PartSchema).max(1024).default([]),
});

export const TaskSchema = z.object({
  id: z.string().min(1).max(256),
  contextId: z.string().optional(),
  status: StatusSchema,
  artifacts: z.array(ArtifactSchema).max(256).default([]),
  history: z.array(MessageSchema).max(1024).optional(),
  kind: z.literal('task').optional(),
});

/** A JSON-RPC 2.0 reply: a result or an error. */
export const JsonRpcReply = z.object({
  jsonrpc: z.literal('2.0'),
  id: z.union([z.string(), z.number(), z.null()]).optional(),
  result: z.unknown().optional(),
  error: z.object({ code: z.number(), message: z.string(), data: z.unknown().optional() }).optional(),
});

/** A `SendMessage` answer: v1.0 wraps it (`{ task }` / `{ message }`), v0.3 does not (`kind`). */
export const SendMessageResult = z.union([
  z.object({ task: TaskSchema }),
  z.object({ message: MessageSchema }),
  TaskSchema.extend({ kind: z.literal('task') }),
  MessageSchema.extend({ kind: z.literal('message') }),
]);

/** A push notification body: v1.0 `StreamResponse`, or (v0.3) the task itself. */
export const PushNotificationBody = z.union([
  z.object({ task: TaskSchema }),
  z.object({
    statusUpdate: z.object({
      taskId: z.string().min(1),
      contextId: z.string().optional(),
      status: StatusSchema,
    }),
  }),
  z.object({ artifactUpdate: z.object({ taskId: z.string().min(1), contextId: z.string().optional() }) }),
  z.object({ message: MessageSchema }),
  TaskSchema,
]);

// ---------------------------------------------------------------- the normalised view

export const A2A_STATES = [
  'submitted',
  'working',
  'input-required',
  'auth-required',
  'completed',
  'failed',
  'canceled',
  'rejected',
  'unknown',
] as const;
export type A2aState = (typeof A2A_STATES)[number];
export const A2A_TERMINAL_STATES: readonly A2aState[] = ['completed', 'failed', 'canceled', 'rejected'];

/** v1.0 enum names and numbers, v0.3 kebab-case: one spelling. */
const STATE_NUMBERS: Record<number, A2aState> = {
  1: 'submitted',
  2: 'working',
  3: 'completed',
  4: 'failed',
  5: 'canceled',
  6: 'input-required',
  7: 'rejected',
  8: 'auth-required',
};
export function normaliseState(state: string | number): A2aState {
  if (typeof state === 'number') return STATE_NUMBERS[state] ?? 'unknown';
  const s = state
    .replace(/^TASK_STATE_/i, '')
    .toLowerCase()
    .replace(/_/g, '-');
  const alias = s === 'cancelled' ? 'canceled' : s;
  return (A2A_STATES as readonly string[]).includes(alias) ? (alias as A2aState) : 'unknown';
}

export interface A2aPart {
  text?: string;
  data?: unknown;
  url?: string;
  media_type?: string;
  filename?: string;
}

export interface A2aArtifact {
  artifact_id?: string;
  name?: string;
  description?: string;
  parts: A2aPart[];
}

/** What the coordinator keeps of an A2A task. */
export interface A2aTaskView {
  id: string;
  context_id?: string;
  state: A2aState;
  /** The text of the status message (what an agent asking for input says). */
  message?: string;
  artifacts: A2aArtifact[];
  /** Ids of the messages in the task's history (the first is the one that created it). */
  message_ids?: string[];
}

type WirePart = z.infer<typeof PartSchema>;
type WireTask = z.infer<typeof TaskSchema>;
type WireMessage = z.infer<typeof MessageSchema>;

export function normalisePart(p: WirePart): A2aPart {
  const out: A2aPart = {};
  if (p.text !== undefined) out.text = p.text;
  if (p.data !== undefined) out.data = p.data;
  const url = p.url ?? p.file?.uri;
  if (url !== undefined) out.url = url;
  const mediaType = p.mediaType ?? p.file?.mimeType;
  if (mediaType) out.media_type = mediaType;
  const filename = p.filename ?? p.file?.name;
  if (filename) out.filename = filename;
  return out;
}

export function messageText(m: WireMessage | undefined): string | undefined {
  if (!m) return undefined;
  const texts = m.parts.flatMap((p) =>
    p.text !== undefined ? [p.text] : p.data !== undefined ? [JSON.stringify(p.data)] : [],
  );
  return texts.length > 0 ? texts.join('\n').slice(0, 4000) : undefined;
}

export function normaliseTask(t: WireTask): A2aTaskView {
  const view: A2aTaskView = {
    id: t.id,
    state: normaliseState(t.status.state),
    artifacts: t.artifacts.map((a) => ({
      ...(a.artifactId ? { artifact_id: a.artifactId } : {}),
      ...(a.name ? { name: a.name } : {}),
      ...(a.description ? { description: a.description } : {}),
      parts: a.parts.map(normalisePart),
    })),
  };
  if (t.contextId) view.context_id = t.contextId;
  const ids = t.history?.flatMap((m) => (m.messageId ? [m.messageId] : []));
  if (ids && ids.length > 0) view.message_ids = ids;
  const text = messageText(t.status.message);
  if (text !== undefined) view.message = text;
  return view;
}

/** A direct message answer (no task): taken as a completed task whose artifact is the message. */
export function messageAsTask(m: WireMessage, fallbackId: string): A2aTaskView {
  return {
    id: m.taskId || fallbackId,
    ...(m.contextId ? { context_id: m.contextId } : {}),
    state: 'completed',
    artifacts: [{ name: 'message', parts: m.parts.map(normalisePart) }],
  };
}

/** Where the problem is, for a permanent error that names the field. */
export function issuePath(error: z.ZodError): string {
  const first = error.issues[0];
  if (!first) return '';
  return first.path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');
}

export function issueMessage(error: z.ZodError): string {
  const first = error.issues[0];
  return first ? `${issuePath(error) || '(root)'}: ${first.message}` : 'invalid';
}
