/**
 * What the registry keeps about an agent that speaks A2A, and about an A2A task the coordinator
 * started for one of its tasks. (Schemas here until they move into the core model.)
 */
import * as z from 'zod';

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

export const A2aEndpoint = z.object({
  card_url: z.string(),
  card_name: z.string(),
  card_version: z.string().optional(),
  /** SHA-256 of the card as served: a heartbeat refreshes the record when it changed. */
  card_sha256: z.string(),
  fetched_at: z.string(),
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
  /** The A2A task's last known state, or `sending`. */
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
