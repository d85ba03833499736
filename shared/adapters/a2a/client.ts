/**
 * The coordinator's A2A client: `SendMessage` / `GetTask` / `ListTasks` (v1.0) or
 * `message/send` / `tasks/get` (v0.3), over JSON-RPC or the HTTP+JSON binding, as the agent's
 * card says. Plain `fetch`, bounded in time and size; every answer is validated. Credentials come
 * from the configured secrets at call time and are never logged or stored on a record.
 */
import { randomUUID } from 'node:crypto';
import { CoordinatorError, errorMessage } from '../../core/errors';
import { readCapped } from './card';
import type { A2aEndpoint } from './endpoint';
import {
  issueMessage,
  JsonRpcReply,
  messageAsTask,
  normaliseTask,
  SendMessageResult,
  TaskSchema,
  type A2aTaskView,
} from './wire';

/** A failed A2A call; `retryable` when a later call may succeed (network, timeout, 5xx). */
export class A2aCallError extends CoordinatorError {
  override readonly code: string = 'A2A_CALL_FAILED';
  override readonly retryable: boolean;
  constructor(
    message: string,
    retryable: boolean,
    readonly notFound = false,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.retryable = retryable;
  }
}

/** The secret for an agent (a token, an API key, `user:password` for Basic), or none. */
export type A2aSecrets = (agentId: string) => string | undefined;

/** `A2A_SECRETS`: a JSON object from agent id to secret. */
export function secretsFromJson(json: string | undefined): A2aSecrets {
  const map = new Map<string, string>();
  if (json) {
    const parsed = JSON.parse(json) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new Error('A2A_SECRETS must be a JSON object from agent id to secret');
    }
    for (const [k, v] of Object.entries(parsed)) if (typeof v === 'string') map.set(k, v);
  }
  return (agentId) => map.get(agentId);
}

export interface A2aClientOptions {
  secrets: A2aSecrets;
  timeoutMs: number;
  maxReplyBytes: number;
  fetch?: typeof fetch;
}

export interface SendParams {
  /** Deterministic: the assignment event's id. */
  messageId: string;
  /** The coordinator's task id. */
  contextId: string;
  data: unknown;
  metadata: Record<string, unknown>;
  push?: { url: string; token: string };
}

interface Call {
  method: 'GET' | 'POST';
  url: string;
  body?: unknown;
}

export class A2aClient {
  private readonly fetch: typeof fetch;

  constructor(private readonly options: A2aClientOptions) {
    this.fetch = options.fetch ?? fetch;
  }

  /** Sends the task; answers with the A2A task it created (or a message, taken as completed). */
  async sendMessage(agentId: string, ep: A2aEndpoint, p: SendParams): Promise<A2aTaskView> {
    const v03 = ep.protocol_version === '0.3';
    const params = v03
      ? {
          message: {
            kind: 'message',
            messageId: p.messageId,
            contextId: p.contextId,
            role: 'user',
            parts: [{ kind: 'data', data: p.data }],
            metadata: p.metadata,
          },
          configuration: {
            blocking: false,
            acceptedOutputModes: [],
            ...(p.push ? { pushNotificationConfig: { url: p.push.url, token: p.push.token } } : {}),
          },
          metadata: p.metadata,
        }
      : {
          ...(ep.tenant ? { tenant: ep.tenant } : {}),
          message: {
            messageId: p.messageId,
            contextId: p.contextId,
            role: 'ROLE_USER',
            parts: [{ data: p.data, mediaType: 'application/json' }],
            metadata: p.metadata,
          },
          configuration: {
            returnImmediately: true,
            acceptedOutputModes: [],
            ...(p.push ? { taskPushNotificationConfig: { url: p.push.url, token: p.push.token } } : {}),
          },
          metadata: p.metadata,
        };
    const result = await this.call(
      agentId,
      ep,
      v03 ? 'message/send' : 'SendMessage',
      params,
      ep.protocol_binding === 'HTTP+JSON'
        ? { method: 'POST', url: restUrl(ep, 'message:send'), body: params }
        : undefined,
    );
    const parsed = SendMessageResult.safeParse(result);
    if (!parsed.success) throw malformed(agentId, 'SendMessage', issueMessage(parsed.error));
    const r = parsed.data;
    if ('task' in r) return normaliseTask(r.task);
    if ('message' in r) return messageAsTask(r.message, p.messageId);
    if (r.kind === 'task') return normaliseTask(r);
    return messageAsTask(r, p.messageId);
  }

  async getTask(agentId: string, ep: A2aEndpoint, id: string): Promise<A2aTaskView> {
    const v03 = ep.protocol_version === '0.3';
    const params = { ...(ep.tenant && !v03 ? { tenant: ep.tenant } : {}), id };
    const result = await this.call(
      agentId,
      ep,
      v03 ? 'tasks/get' : 'GetTask',
      params,
      ep.protocol_binding === 'HTTP+JSON'
        ? { method: 'GET', url: restUrl(ep, `tasks/${encodeURIComponent(id)}`) }
        : undefined,
    );
    const parsed = TaskSchema.safeParse(result);
    if (!parsed.success) throw malformed(agentId, 'GetTask', issueMessage(parsed.error));
    return normaliseTask(parsed.data);
  }

  /**
   * The A2A task this coordinator task's `messageId` created, if the agent lists tasks (v1.0
   * `ListTasks` by context). Used only to recover from a send whose answer was lost.
   */
  async findTask(agentId: string, ep: A2aEndpoint, contextId: string): Promise<A2aTaskView[]> {
    if (ep.protocol_version === '0.3') return [];
    const params = { ...(ep.tenant ? { tenant: ep.tenant } : {}), contextId, pageSize: 50 };
    const result = await this.call(
      agentId,
      ep,
      'ListTasks',
      params,
      ep.protocol_binding === 'HTTP+JSON'
        ? {
            method: 'GET',
            url: `${restUrl(ep, 'tasks')}?contextId=${encodeURIComponent(contextId)}&pageSize=50`,
          }
        : undefined,
    );
    const tasks = (result as { tasks?: unknown[] } | undefined)?.tasks;
    if (!Array.isArray(tasks)) return [];
    return tasks.flatMap((t) => {
      const parsed = TaskSchema.safeParse(t);
      return parsed.success ? [normaliseTask(parsed.data)] : [];
    });
  }

  /** One request: JSON-RPC to the interface URL, or the HTTP+JSON call given. */
  private async call(
    agentId: string,
    ep: A2aEndpoint,
    method: string,
    params: unknown,
    rest: Call | undefined,
  ): Promise<unknown> {
    const call: Call = rest ?? {
      method: 'POST',
      url: ep.interface_url,
      body: { jsonrpc: '2.0', id: randomUUID(), method, params },
    };
    const url = new URL(call.url);
    const headers: Record<string, string> = {
      accept: 'application/json, application/a2a+json',
      'A2A-Version': ep.protocol_version,
    };
    if (call.body !== undefined) headers['content-type'] = 'application/json';
    applyAuth(agentId, ep, this.options.secrets(agentId), headers, url);
    const what = `${method} to ${agentId}`;
    const signal = AbortSignal.timeout(this.options.timeoutMs);
    let status: number;
    let text: string | undefined;
    try {
      const res = await this.fetch(url, {
        method: call.method,
        headers,
        redirect: 'error',
        signal,
        ...(call.body !== undefined ? { body: JSON.stringify(call.body) } : {}),
      });
      status = res.status;
      text = await readCapped(res, this.options.maxReplyBytes);
    } catch (err) {
      const code = (err as { cause?: { code?: unknown } }).cause?.code;
      const reason = signal.aborted
        ? `no answer within ${this.options.timeoutMs} ms`
        : `${errorMessage(err)}${typeof code === 'string' ? ` (${code})` : ''}`;
      throw new A2aCallError(`${what}: ${reason}`, true, false, { cause: err });
    }
    if (text === undefined) {
      throw new A2aCallError(`${what}: the reply is larger than ${this.options.maxReplyBytes} bytes`, false);
    }
    if (status >= 500 || status === 429) throw new A2aCallError(`${what}: HTTP ${status}`, true);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new A2aCallError(`${what}: HTTP ${status}, the reply is not JSON`, status >= 500);
    }
    if (rest) {
      if (status === 404) throw new A2aCallError(`${what}: not found`, false, true);
      if (status >= 400) throw new A2aCallError(`${what}: HTTP ${status} ${restError(json)}`, false);
      return json;
    }
    const reply = JsonRpcReply.safeParse(json);
    if (!reply.success) throw malformed(agentId, method, issueMessage(reply.error));
    if (reply.data.error) {
      const { code, message } = reply.data.error;
      // -32001: task not found. -32603: internal error (worth another try). Others: our request.
      throw new A2aCallError(
        `${what}: JSON-RPC error ${code}: ${message.slice(0, 300)}`,
        code === -32603,
        code === -32001,
      );
    }
    if (status >= 400) throw new A2aCallError(`${what}: HTTP ${status}`, false);
    return reply.data.result;
  }
}

function restUrl(ep: A2aEndpoint, path: string): string {
  const base = ep.interface_url.replace(/\/+$/, '');
  const prefix = ep.protocol_version === '0.3' ? '/v1' : ep.tenant ? `/${encodeURIComponent(ep.tenant)}` : '';
  return `${base}${prefix}/${path}`;
}

function restError(json: unknown): string {
  const message = (json as { error?: { message?: unknown } } | null)?.error?.message;
  return typeof message === 'string' ? message.slice(0, 300) : '';
}

function malformed(agentId: string, method: string, reason: string): A2aCallError {
  return new A2aCallError(`${method} to ${agentId}: malformed reply: ${reason}`, false);
}

/**
 * Adds the credential the card's scheme asks for. A scheme with no configured secret, or one the
 * client cannot satisfy (mutual TLS), is a permanent failure naming the agent and the scheme.
 */
export function applyAuth(
  agentId: string,
  ep: A2aEndpoint,
  secret: string | undefined,
  headers: Record<string, string>,
  url: URL,
): void {
  const s = ep.security;
  if (!s) return;
  if (s.type === 'mutualTLS') {
    throw new A2aCallError(
      `${agentId}: the card asks for mutual TLS (${s.name}), which is not supported`,
      false,
    );
  }
  if (secret === undefined) {
    throw new A2aCallError(
      `${agentId}: the card asks for ${s.type} authentication (${s.name}) and A2A_SECRETS has no secret for this agent`,
      false,
    );
  }
  if (s.type === 'apiKey') {
    const name = s.param_name ?? 'X-API-Key';
    if (s.location === 'query') url.searchParams.set(name, secret);
    else if (s.location === 'cookie') headers.cookie = `${name}=${encodeURIComponent(secret)}`;
    else headers[name.toLowerCase()] = secret;
    return;
  }
  const scheme = s.type === 'http' ? (s.scheme ?? 'Bearer') : 'Bearer';
  headers.authorization =
    scheme.toLowerCase() === 'basic'
      ? `Basic ${Buffer.from(secret, 'utf8').toString('base64')}`
      : `${scheme.toLowerCase() === 'bearer' ? 'Bearer' : scheme} ${secret}`;
}
