/**
 * The coordinator's HTTP API from the command line: Node's own fetch, the token as a bearer
 * header, and failures turned into the CLI's exit codes (unreachable 3, unauthorized 4).
 */
import { CliError, EXIT, usageError } from './errors';

export interface Connection {
  url: string;
  token?: string;
  timeoutMs: number;
}

export interface HttpResult {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

export function connectionFrom(
  values: { url?: string | undefined; token?: string | undefined; timeout?: string | undefined },
  env: Record<string, string | undefined>,
): Connection {
  const raw = values.url ?? env.AGENT_COORDINATOR_URL ?? `http://127.0.0.1:${env.PORT || '8787'}`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw usageError(`--url must be an http(s) address, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw usageError(`--url must be http or https, got "${raw}"`);
  const timeout = values.timeout === undefined ? 30 : Number(values.timeout);
  if (!Number.isFinite(timeout) || timeout <= 0)
    throw usageError(`--timeout must be a positive number of seconds, got "${values.timeout}"`);
  const token = values.token ?? env.AGENT_COORDINATOR_TOKEN ?? env.AUTH_TOKEN;
  return { url: url.href.replace(/\/+$/, ''), ...(token ? { token } : {}), timeoutMs: timeout * 1000 };
}

function headersFor(conn: Connection, extra: Record<string, string> = {}): Record<string, string> {
  return { ...(conn.token ? { authorization: `Bearer ${conn.token}` } : {}), ...extra };
}

/** Why a fetch failed, in words an operator can act on. */
export function networkReason(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return 'timed out';
  const code = e.cause?.code;
  if (code === 'ECONNREFUSED')
    return 'connection refused (is the coordinator running? try "agent-coordinator start")';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host name not found';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'connection reset';
  return e.cause?.message ?? e.message ?? String(err);
}

function unreachable(conn: Connection, err: unknown): CliError {
  return new CliError(EXIT.unreachable, `cannot reach ${conn.url}: ${networkReason(err)}`);
}

export function unauthorized(conn: Connection): CliError {
  return new CliError(
    EXIT.unauthorized,
    conn.token
      ? `${conn.url} refused the token (401)`
      : `${conn.url} requires a token (401): set AUTH_TOKEN or pass --token`,
  );
}

export async function request(
  conn: Connection,
  method: string,
  path: string,
  options: { body?: string; headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<HttpResult> {
  let res: Response;
  const timeout = AbortSignal.timeout(conn.timeoutMs);
  try {
    res = await fetch(`${conn.url}${path}`, {
      method,
      headers: headersFor(conn, {
        ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...options.headers,
      }),
      ...(options.body !== undefined ? { body: options.body } : {}),
      signal: options.signal ? AbortSignal.any([timeout, options.signal]) : timeout,
    });
  } catch (err) {
    throw unreachable(conn, err);
  }
  let text: string;
  try {
    text = await res.text();
  } catch (err) {
    throw unreachable(conn, err);
  }
  if (res.status === 401) throw unauthorized(conn);
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** GETs a JSON resource; anything but 200 is an error naming the server's reason. */
export async function getJson<T>(conn: Connection, path: string): Promise<T> {
  const res = await request(conn, 'GET', path);
  if (res.status !== 200) {
    throw new CliError(EXIT.failed, `GET ${path} answered ${res.status}: ${reasonOf(res)}`);
  }
  if (res.json === undefined)
    throw new CliError(EXIT.failed, `GET ${path} did not answer JSON (is ${conn.url} an agent-coordinator?)`);
  return res.json as T;
}

export function reasonOf(res: HttpResult): string {
  const body = res.json as { error?: string; reason?: string } | undefined;
  if (body?.reason) return body.error ? `${body.error}: ${body.reason}` : body.reason;
  return res.text.slice(0, 200) || `HTTP ${res.status}`;
}

export interface StreamEvent {
  event: string;
  data: string;
}

/**
 * Reads a server-sent event stream (`GET /stream`). Resolves once connected and calls
 * `onEvent` for each event; `done` settles when the stream ends (rejects if it broke).
 */
export async function openStream(
  conn: Connection,
  path: string,
  onEvent: (e: StreamEvent) => void,
  signal: AbortSignal,
): Promise<{ done: Promise<void> }> {
  let res: Response;
  try {
    res = await fetch(`${conn.url}${path}`, {
      headers: headersFor(conn, { accept: 'text/event-stream' }),
      signal,
    });
  } catch (err) {
    throw unreachable(conn, err);
  }
  if (res.status === 401) throw unauthorized(conn);
  if (res.status !== 200 || !res.body || !res.headers.get('content-type')?.startsWith('text/event-stream')) {
    const text = await res.text().catch(() => '');
    throw new CliError(
      EXIT.failed,
      `GET ${path} answered ${res.status}${text ? `: ${text.slice(0, 200)}` : ''} (does this server have the live feed?)`,
    );
  }
  const body = res.body;
  const done = (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true }).replace(/\r\n?/g, '\n');
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
          }
          if (data.length > 0) onEvent({ event, data: data.join('\n') });
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      throw unreachable(conn, err);
    }
  })();
  return { done };
}
