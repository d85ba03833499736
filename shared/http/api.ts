/**
 * The HTTP API, free of any server framework: a request in, a response out. The local Node
 * server, the Azure HTTP trigger and the GCP HTTP function all call it, so authentication,
 * size limits, rate limits and error mapping are the same everywhere.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Coordinator, Outcome } from '../core/coordinator/coordinator';
import {
  CoordinatorError,
  errorMessage,
  NotFoundError,
  PayloadTooLargeError,
  ValidationError,
} from '../core/errors';
import { normalizeOne, type Delivery } from '../core/events/normalize';
import { batchResponse, isBatchPayload } from '../core/invocation';
import { TaskStatus } from '../core/model';
import type { Clock } from '../core/ports';
import { systemClock } from '../core/ports';
import openApiDocument from '../../docs/openapi.json';
import { addressKey } from './client-address';
import { readHttpInput } from './cloudevents';
import { checkContentType, checkOrigin, HttpError, httpErrorResponse } from './guards';

export interface ApiRequest {
  method: string;
  /** Path without the query string, e.g. `/tasks/abc`. */
  path: string;
  query?: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body?: string | Uint8Array;
  /**
   * The caller's address as the platform saw it (the socket's peer, or what the platform's
   * front end wrote: see client-address.ts), never a client-written header. The rate limit's
   * key when no accepted credential identifies the caller.
   */
  remoteAddress?: string;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Published events the API can list (`GET /assignments`); the local bus provides it. */
export interface AssignmentFeed {
  list(filter: {
    type?: string;
    target_agent?: string;
    task_id?: string;
    after?: number;
    limit?: number;
  }): unknown[];
}

export interface HttpApiOptions {
  coordinator: Coordinator;
  /** Shared secret: callers send `Authorization: Bearer <token>` or `x-api-key`. */
  authToken?: string;
  maxBodyBytes: number;
  /** Requests per caller per minute; 0 turns the limit off. */
  rateLimitPerMinute?: number;
  /** How many callers the rate limiter remembers; the least recently seen go first. */
  rateLimitCallers?: number;
  assignments?: AssignmentFeed;
  /** Source recorded on events that arrive over HTTP. */
  source?: string;
  clock?: Clock;
  /** Extra routes (the dashboard); tried before the API's own. */
  extraRoutes?: (req: ApiRequest) => ApiResponse | undefined;
}

export type HttpApi = (req: ApiRequest) => Promise<ApiResponse>;

export function createHttpApi(options: HttpApiOptions): HttpApi {
  const clock = options.clock ?? systemClock;
  const limiter = new RateLimiter(options.rateLimitPerMinute ?? 0, clock, options.rateLimitCallers);
  const tokenDigest = options.authToken ? digest(options.authToken) : undefined;
  // The one identity a shared secret can prove: every holder of the token is the same caller.
  const tokenCaller = tokenDigest ? `token:${tokenDigest.toString('hex').slice(0, 16)}` : undefined;

  return async (req) => {
    try {
      const method = req.method.toUpperCase();
      const path = req.path.replace(/\/+$/, '') || '/';
      if (method === 'GET' && path === '/health') return json(200, { status: 'ok' });
      // Without a token nothing else tells a page in the operator's browser from a client.
      if (!tokenDigest) checkOrigin(req.headers);
      const accepted = tokenDigest ? authorized(req, tokenDigest) : false;
      // Keyed on what a caller cannot choose: the accepted token, else the peer address (so
      // guessing tokens is limited too).
      const caller = accepted && tokenCaller ? tokenCaller : `ip:${addressKey(req.remoteAddress)}`;
      const retryAfter = limiter.take(caller);
      if (retryAfter > 0) {
        return json(
          429,
          { error: 'rate_limited', reason: `more than ${options.rateLimitPerMinute} requests a minute` },
          { 'retry-after': String(retryAfter) },
        );
      }
      if (method === 'GET' && path === '/openapi.json') return json(200, openApiDocument);
      // A2A agents push task updates with the per-task token the coordinator gave them.
      if (method === 'POST' && path === '/a2a/notifications') return await a2aNotification(options, req);
      if (tokenDigest && !accepted) {
        return json(
          401,
          {
            error: 'unauthorized',
            reason: 'missing or wrong credentials: send Authorization: Bearer <token> or x-api-key',
          },
          { 'www-authenticate': 'Bearer' },
        );
      }
      const extra = options.extraRoutes?.({ ...req, path });
      if (extra) return extra;
      return await route(options, { ...req, method, path });
    } catch (err) {
      return errorResponse(err);
    }
  };
}

async function route(options: HttpApiOptions, req: ApiRequest): Promise<ApiResponse> {
  const { coordinator } = options;
  const q = req.query ?? new URLSearchParams();
  if (req.method === 'POST' && req.path === '/events') {
    // A browser posts text/plain, a form or no type cross-site without asking first.
    if (!options.authToken) checkContentType(req);
    const body = bodyText(req.body, options.maxBodyBytes);
    const input = readHttpInput(req.headers, body);
    const requestId = header(req, 'x-request-id') ?? header(req, 'idempotency-key');
    const source = options.source ?? 'http';
    if (input.mode === 'batch') {
      // One delivery per event, each with its own outcome, as in an SQS batch.
      const deliveries: Delivery[] = input.events.map((entry) =>
        'error' in entry ? entry : normalizeOne(entry.event, { source, id: entry.id }),
      );
      return json(200, batchResponse(await coordinator.handleDeliveries(deliveries)));
    }
    const payload = input.mode === 'plain' ? input.payload : input.event;
    const outcomes = await coordinator.handle(payload, { source, ...(requestId ? { id: requestId } : {}) });
    if (isBatchPayload(payload)) return json(200, batchResponse(outcomes));
    return outcomeResponse(outcomes[0]!);
  }
  if (req.method !== 'GET')
    return json(405, { error: 'method_not_allowed', reason: `${req.method} ${req.path} is not supported` });
  if (req.path === '/agents') return json(200, { agents: await coordinator.listAgents() });
  if (req.path === '/tasks') {
    const limit = intParam(q.get('limit'), 100, 1000, 'limit');
    const status = q.get('status');
    if (status !== null) {
      const parsed = TaskStatus.safeParse(status);
      if (!parsed.success)
        throw new ValidationError(`status must be one of ${TaskStatus.options.join(', ')}`, 'status');
      return json(200, { tasks: await coordinator.listTasks(parsed.data, limit) });
    }
    const all = (await Promise.all(TaskStatus.options.map((s) => coordinator.listTasks(s, limit)))).flat();
    all.sort((a, b) => (a.updated_at < b.updated_at ? 1 : -1));
    return json(200, { tasks: all.slice(0, limit) });
  }
  const taskMatch = /^\/tasks\/([^/]+)$/.exec(req.path);
  if (taskMatch) return json(200, await coordinator.getTask(pathSegment(taskMatch[1]!, 'task id')));
  if (req.path === '/assignments') {
    if (!options.assignments)
      return json(404, { error: 'not_found', reason: 'this runtime does not keep published assignments' });
    const after = q.get('after');
    return json(200, {
      assignments: options.assignments.list({
        type: q.get('type') ?? undefined,
        target_agent: q.get('agent') ?? q.get('target_agent') ?? undefined,
        task_id: q.get('task_id') ?? undefined,
        after: after === null ? undefined : intParam(after, 0, Number.MAX_SAFE_INTEGER, 'after'),
        limit: intParam(q.get('limit'), 1000, 10_000, 'limit'),
      }),
    });
  }
  throw new NotFoundError(`no route for ${req.method} ${req.path}`);
}

/** Maps one outcome to HTTP: done 200, permanent failure 400 (404 for unknown ids), retryable 503. */
export function outcomeResponse(outcome: Outcome): ApiResponse {
  if (outcome.status === 'done') return json(200, outcome.result ?? {});
  if (outcome.status === 'dead_letter') {
    const status = outcome.code === 'NOT_FOUND' ? 404 : outcome.code === 'PAYLOAD_TOO_LARGE' ? 413 : 400;
    return json(status, { error: outcome.code.toLowerCase(), reason: outcome.reason });
  }
  return json(503, { error: outcome.code.toLowerCase(), reason: outcome.error }, { 'retry-after': '1' });
}

export function errorResponse(err: unknown): ApiResponse {
  if (err instanceof HttpError) return httpErrorResponse(err);
  if (err instanceof PayloadTooLargeError)
    return json(413, { error: 'payload_too_large', reason: err.message });
  if (err instanceof NotFoundError) return json(404, { error: 'not_found', reason: err.message });
  if (err instanceof ValidationError)
    return json(400, { error: err.code.toLowerCase(), reason: err.message, field: err.path || undefined });
  if (err instanceof CoordinatorError && err.retryable)
    return json(503, { error: err.code.toLowerCase(), reason: err.message }, { 'retry-after': '1' });
  return json(500, { error: 'internal_error', reason: errorMessage(err) });
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): ApiResponse {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: JSON.stringify(body),
  };
}

function bodyText(body: string | Uint8Array | undefined, max: number): string {
  if (body === undefined || body.length === 0)
    throw new ValidationError('request body is empty: send a JSON event', 'body');
  const size = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
  if (size > max) throw new PayloadTooLargeError(`body is ${size} bytes; the limit is ${max}`, 'body');
  return typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
}

/** `POST /a2a/notifications`: an A2A push notification (docs/a2a.md). */
async function a2aNotification(options: HttpApiOptions, req: ApiRequest): Promise<ApiResponse> {
  // No content-type rule here (the A2A SDK's push sender sets none): what protects this route
  // is the per-task token, and the state is confirmed with the agent before it counts.
  let body: unknown;
  try {
    body = JSON.parse(bodyText(req.body, options.maxBodyBytes));
  } catch (err) {
    if (err instanceof CoordinatorError) throw err;
    throw new ValidationError('body is not JSON', 'body');
  }
  const answer = await options.coordinator.a2aNotification(body, req.headers);
  return json(answer.status, answer.body);
}

/** A percent-encoded path segment, decoded; bad encoding (`%ZZ`) is the caller's mistake. */
function pathSegment(raw: string, name: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new ValidationError(
      `the ${name} in the path is not valid percent-encoding: ${JSON.stringify(raw.slice(0, 100))}`,
      name,
    );
  }
}

function intParam(raw: string | null, fallback: number, max: number, name: string): number {
  if (raw === null || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > max)
    throw new ValidationError(`${name} must be a whole number from 0 to ${max}`, name);
  return n;
}

export function header(req: Pick<ApiRequest, 'headers'>, name: string): string | undefined {
  const value = req.headers[name] ?? req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

function digest(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

/** Constant-time: both sides are hashed to equal length before `timingSafeEqual`. */
export function authorized(req: Pick<ApiRequest, 'headers'>, expected: Buffer): boolean {
  const auth = header(req, 'authorization');
  const presented = auth?.startsWith('Bearer ') ? auth.slice(7) : header(req, 'x-api-key');
  if (!presented) return false;
  return timingSafeEqual(digest(presented), expected);
}

export function secretDigest(secret: string): Buffer {
  return digest(secret);
}

/**
 * Fixed one-minute windows per caller; returns seconds to wait, 0 when allowed. The table keeps
 * at most `maxCallers` callers: a new one evicts the least recently seen (a Map iterates in
 * insertion order and every hit re-inserts), so a flood of new callers cannot reset the
 * windows of the ones being limited.
 */
export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();
  constructor(
    private readonly perMinute: number,
    private readonly clock: Clock,
    private readonly maxCallers = 10_000,
  ) {}

  get size(): number {
    return this.windows.size;
  }

  take(caller: string): number {
    if (this.perMinute <= 0) return 0;
    const now = this.clock.now();
    let w = this.windows.get(caller);
    if (w) this.windows.delete(caller);
    if (!w || now - w.start >= 60_000) w = { start: now, count: 0 };
    this.windows.set(caller, w);
    while (this.windows.size > this.maxCallers) {
      const oldest = this.windows.keys().next().value as string;
      this.windows.delete(oldest);
    }
    if (w.count >= this.perMinute) return Math.max(1, Math.ceil((w.start + 60_000 - now) / 1000));
    w.count += 1;
    return 0;
  }
}
