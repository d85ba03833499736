/**
 * HTTP -> the shared HTTP API: `POST /events` takes any inbound shape of the contract (a direct
 * message, an EventBridge-style event, a CloudEvent, a raw Pub/Sub push body); `GET /agents`,
 * `/tasks`, `/tasks/{id}`, `/health`; CloudEvents in binary, structured and batched mode.
 * Authenticated with AUTH_TOKEN (Bearer or x-api-key). The caller's address is the right-most
 * X-Forwarded-For entry (Google's front end adds it), not express's client-written `req.ip`.
 */
import type { HttpFunction, Request, Response } from '@google-cloud/functions-framework';
import type { ApiRequest } from '../shared/http/api';
import { gcpClientAddress } from '../shared/http/client-address';
import type { GcpRuntime } from '../shared/runtime/gcp';

export function toApiRequest(req: Request): ApiRequest {
  const url = new URL(req.originalUrl || req.url, 'http://function.local');
  const address = gcpClientAddress(req.headers, req.socket?.remoteAddress);
  return {
    method: req.method,
    path: url.pathname,
    query: url.searchParams,
    headers: req.headers,
    body: req.rawBody ?? (typeof req.body === 'string' ? req.body : undefined),
    ...(address ? { remoteAddress: address } : {}),
  };
}

export function httpHandler(runtime: () => Promise<GcpRuntime>): HttpFunction {
  return async (req: Request, res: Response) => {
    const out = await (await runtime()).api(toApiRequest(req));
    res.status(out.status).set(out.headers).send(out.body);
  };
}
