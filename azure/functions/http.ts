/**
 * HTTP trigger: every route of the HTTP API (`POST /api/events` with any inbound shape,
 * `GET /api/agents`, `/api/tasks`, `/api/tasks/{id}`, `/api/health`). The host checks the
 * function key (authLevel `function`); with AUTH_TOKEN set, the API also wants the shared secret.
 */
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { getAzureRuntime, type AzureRuntime } from '../../shared/runtime/azure';

export function httpHandler(runtime: () => AzureRuntime = getAzureRuntime) {
  return async (request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> => {
    const forwarded = request.headers.get('x-forwarded-for')?.split(',')[0]?.trim();
    const response = await runtime().api({
      method: request.method,
      path: `/${request.params.path ?? ''}`,
      query: request.query,
      headers: Object.fromEntries(request.headers),
      body: new Uint8Array(await request.arrayBuffer()),
      ...(forwarded ? { remoteAddress: forwarded } : {}),
    });
    return { status: response.status, headers: response.headers, body: response.body };
  };
}
