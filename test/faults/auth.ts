/**
 * Unauthenticated requests against every HTTP entry point with AUTH_TOKEN configured: the local
 * server over real HTTP, the Azure HTTP trigger (its handler with real `HttpRequest`s) and the
 * GCP HTTP function (its request mapping and the runtime's API). Every one must be refused;
 * an authenticated control request must pass, so a broken setup cannot pass as "all refused".
 */
import { HttpRequest, InvocationContext } from '@azure/functions';
import type { Request } from '@google-cloud/functions-framework';
import { httpHandler as azureHttp } from '../../azure/functions/http';
import { toApiRequest } from '../../gcp/http';
import { LocalBus } from '../../shared/adapters/local/local-bus';
import { MemoryStateStore } from '../../shared/adapters/local/memory-store';
import { nullLogger } from '../../shared/core/logger';
import { createAzureRuntime } from '../../shared/runtime/azure';
import { createGcpRuntime } from '../../shared/runtime/gcp';
import { createLocalRuntime } from '../../shared/runtime/local';
import { startLocalServer } from '../../shared/runtime/local-server';

export interface AuthFigures {
  entryPoint: string;
  unauthenticated: number;
  rejected: number;
  authenticatedOk: boolean;
}

const TOKEN = 'fault-suite-secret-0123456789';

/** Credentials that must all be refused. */
const BAD: Array<Record<string, string>> = [
  {},
  { authorization: 'Bearer wrong-secret-0123456789' },
  { authorization: 'Bearer ' },
  { authorization: `Bearer ${TOKEN}x` },
  { authorization: `Bearer ${TOKEN.slice(0, -1)}` },
  { authorization: `bearer${TOKEN}` },
  { authorization: `Basic ${Buffer.from(`user:${TOKEN}`).toString('base64')}` },
  { 'x-api-key': 'nope' },
  { 'x-api-key': '' },
  { cookie: `token=${TOKEN}` },
];
const ROUTES: Array<{ method: string; path: string; body?: string }> = [
  { method: 'POST', path: '/events', body: JSON.stringify({ type: 'agent_health_check' }) },
  { method: 'POST', path: '/events', body: JSON.stringify({ type: 'coordination_request', task_type: 'x' }) },
  { method: 'GET', path: '/agents' },
  { method: 'GET', path: '/tasks' },
  { method: 'GET', path: '/tasks/any' },
  { method: 'GET', path: '/assignments' },
];

type Send = (route: (typeof ROUTES)[number], headers: Record<string, string>) => Promise<number>;

async function measure(entryPoint: string, send: Send, rounds: number): Promise<AuthFigures> {
  let unauthenticated = 0;
  let rejected = 0;
  for (let r = 0; r < rounds; r++) {
    for (const route of ROUTES) {
      for (const headers of BAD) {
        unauthenticated += 1;
        if ((await send(route, headers)) === 401) rejected += 1;
      }
    }
  }
  const control = await send(ROUTES[2]!, { authorization: `Bearer ${TOKEN}` });
  return { entryPoint, unauthenticated, rejected, authenticatedOk: control === 200 };
}

export async function authFigures(rounds = 1): Promise<AuthFigures[]> {
  const env = {
    AUTH_TOKEN: TOKEN,
    LOG_LEVEL: 'silent',
    STORE: 'memory',
    PORT: '0',
    RATE_LIMIT_PER_MINUTE: '0',
  };
  const out: AuthFigures[] = [];

  const local = await createLocalRuntime(env, { logger: nullLogger });
  const server = await startLocalServer(local);
  try {
    out.push(
      await measure(
        'local server (HTTP)',
        async (route, headers) =>
          (
            await fetch(`${server.url}${route.path}`, {
              method: route.method,
              headers,
              ...(route.body ? { body: route.body } : {}),
            })
          ).status,
        rounds,
      ),
    );
  } finally {
    await server.close();
    await local.close();
  }

  const sender = { sendMessages: async () => undefined, close: async () => undefined };
  const azure = createAzureRuntime(env, {
    store: new MemoryStateStore(),
    bus: new LocalBus(),
    rejectedSender: sender,
    logger: nullLogger,
  });
  const azureHandler = azureHttp(() => azure);
  out.push(
    await measure(
      'Azure HTTP trigger',
      async (route, headers) => {
        const path = route.path.slice(1);
        const res = await azureHandler(
          new HttpRequest({
            method: route.method,
            url: `https://coordinator.azurewebsites.net/api/${path}`,
            params: { path },
            headers,
            ...(route.body ? { body: { string: route.body } } : {}),
          }),
          new InvocationContext({ functionName: 'http', invocationId: 'auth' }),
        );
        return res.status ?? 200;
      },
      rounds,
    ),
  );

  const gcp = createGcpRuntime(env, {
    store: new MemoryStateStore(),
    bus: new LocalBus(),
    logger: nullLogger,
  });
  out.push(
    await measure(
      'GCP HTTP function',
      async (route, headers) => {
        const req = {
          method: route.method,
          originalUrl: route.path,
          url: route.path,
          headers,
          rawBody: route.body ? Buffer.from(route.body) : undefined,
          ip: '127.0.0.1',
        };
        return (await gcp.api(toApiRequest(req as unknown as Request))).status;
      },
      rounds,
    ),
  );
  return out;
}
