/**
 * HTTP -> the shared HTTP API: `POST /events` takes any inbound shape of the contract (a direct
 * message, an EventBridge-style event, a CloudEvent, a raw Pub/Sub push body); `GET /agents`,
 * `/tasks`, `/tasks/{id}`, `/health`. Authenticated with AUTH_TOKEN (Bearer or x-api-key).
 */
import type { HttpFunction, Request, Response } from '@google-cloud/functions-framework';
import type { ApiRequest } from '../shared/http/api';
import type { GcpRuntime } from '../shared/runtime/gcp';

export function toApiRequest(req: Request): ApiRequest {
  const url = new URL(req.originalUrl || req.url, 'http://function.local');
  return {
    method: req.method,
    path: url.pathname,
    query: url.searchParams,
    headers: req.headers,
    body: req.rawBody ?? (typeof req.body === 'string' ? req.body : undefined),
    ...(req.ip ? { remoteAddress: req.ip } : {}),
  };
}

export function httpHandler(runtime: () => Promise<GcpRuntime>): HttpFunction {
  return async (req: Request, res: Response) => {
    const out = await (await runtime()).api(toApiRequest(req));
    res.status(out.status).set(out.headers).send(out.body);
  };
}
