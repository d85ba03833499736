/**
 * HTTP trigger: every route of the HTTP API (`POST /api/events` with any inbound shape,
 * `GET /api/agents`, `/api/tasks`, `/api/tasks/{id}`, `/api/health`). The host checks the
 * function key (authLevel `function`); with AUTH_TOKEN set, the API also wants the shared secret.
 * The caller's address is what the App Service front end wrote (`client-ip`), never the
 * client-written start of X-Forwarded-For.
 */
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { azureClientAddress } from '../../shared/http/client-address';
import { getAzureRuntime, type AzureRuntime } from '../../shared/runtime/azure';

export function httpHandler(runtime: () => AzureRuntime = getAzureRuntime) {
  return async (request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> => {
    const headers = Object.fromEntries(request.headers);
    const address = azureClientAddress(headers);
    const response = await runtime().api({
      method: request.method,
      path: `/${request.params.path ?? ''}`,
      query: request.query,
      headers,
      body: new Uint8Array(await request.arrayBuffer()),
      ...(address ? { remoteAddress: address } : {}),
    });
    return { status: response.status, headers: response.headers, body: response.body };
  };
}
