/**
 * The local runtime's HTTP server: Node's own `http`, no framework. It reads the body with a
 * size cap, hands the request to the HTTP API and writes the answer. Without AUTH_TOKEN it
 * refuses to listen beyond loopback, and answers only requests whose `Host` is a name it is
 * bound to and whose `Origin`, if any, is itself (DNS rebinding, CSRF: shared/http/guards.ts),
 * the dashboard's routes included.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../core/errors';
import type { ApiRequest, ApiResponse } from '../http/api';
import { json } from '../http/api';
import { allowedHosts, checkHost, checkOrigin, HttpError, httpErrorResponse } from '../http/guards';
import type { LocalRuntime } from './local';

export interface RunningServer {
  server: http.Server;
  url: string;
  close(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** Extra request handlers (server-sent events, the dashboard) that need the raw response. */
export type RawHandler = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => boolean;

export async function startLocalServer(
  runtime: LocalRuntime,
  rawHandlers: RawHandler[] = [],
): Promise<RunningServer> {
  const { config } = runtime;
  if (!isLoopback(config.HOST) && !config.AUTH_TOKEN) {
    throw new ConfigError(
      `HOST=${config.HOST} is not loopback: set AUTH_TOKEN before listening beyond this machine`,
    );
  }
  // Filled once the port is known (PORT=0 picks one); empty until then, so nothing passes early.
  const hosts = new Set<string>();
  const server = http.createServer((req, res) => {
    let url: URL;
    try {
      if (!config.AUTH_TOKEN) {
        checkHost(req.headers, hosts);
        checkOrigin(req.headers);
      }
      url = new URL(req.url ?? '/', 'http://local');
    } catch (err) {
      return send(
        res,
        err instanceof HttpError
          ? httpErrorResponse(err)
          : json(400, {
              error: 'bad_request',
              reason: `unreadable request target: ${(err as Error).message}`,
            }),
      );
    }
    for (const raw of rawHandlers) if (raw(req, res, url)) return;
    readBody(req, config.MAX_MESSAGE_BYTES)
      .then(async (body) => {
        if (body === 'too_large')
          return json(413, {
            error: 'payload_too_large',
            reason: `body exceeds ${config.MAX_MESSAGE_BYTES} bytes`,
          });
        const apiReq: ApiRequest = {
          method: req.method ?? 'GET',
          path: url.pathname,
          query: url.searchParams,
          headers: req.headers,
          body,
          remoteAddress: req.socket.remoteAddress ?? 'unknown',
        };
        return runtime.api(apiReq);
      })
      .then((response) => send(res, response))
      .catch((err: unknown) =>
        send(res, json(500, { error: 'internal_error', reason: (err as Error).message })),
      );
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.PORT, config.HOST, () => resolve());
  });
  const address = server.address() as AddressInfo;
  for (const name of allowedHosts(config.HOST, address.port)) hosts.add(name);
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  // A2A agents push task updates here unless A2A_NOTIFICATION_URL names another address.
  runtime.a2a?.setNotificationUrl(`http://${host}:${address.port}/a2a/notifications`);
  return {
    server,
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function send(res: http.ServerResponse, response: ApiResponse): void {
  if (res.headersSent) return;
  res.writeHead(response.status, response.headers);
  res.end(response.body);
}

/** Reads the body up to `max` bytes; past that stops reading and answers 413. */
function readBody(req: http.IncomingMessage, max: number): Promise<Buffer | 'too_large'> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > max) {
      req.resume();
      return resolve('too_large');
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > max) {
        done = true;
        resolve('too_large');
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => !done && resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
