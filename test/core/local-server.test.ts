/** The local runtime's HTTP API through a real server on loopback. */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { AgentRecord, TaskRecord } from '../../shared/core/model';
import { runCoreScenario, type PublishedAssignment, type ScenarioDriver } from '../support/scenario';
import { createLocalRuntime, type LocalRuntime } from '../../shared/runtime/local';
import { startLocalServer, type RunningServer } from '../../shared/runtime/local-server';
import { nullLogger } from '../../shared/core/logger';

async function boot(env: Record<string, string> = {}) {
  const runtime = await createLocalRuntime(
    { STORE: 'memory', PORT: '0', LOG_LEVEL: 'silent', ...env },
    { logger: nullLogger },
  );
  const server = await startLocalServer(runtime);
  return { runtime, server };
}

let runtime: LocalRuntime;
let server: RunningServer;
beforeAll(async () => {
  ({ runtime, server } = await boot({ MAX_MESSAGE_BYTES: '4096' }));
});
afterAll(async () => {
  await server.close();
  await runtime.close();
});

const post = (body: unknown, headers: Record<string, string> = {}, base = server.url) =>
  fetch(`${base}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
const get = async (path: string) => {
  const res = await fetch(`${server.url}${path}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

test('POST /events takes any inbound shape and answers what a direct invocation returns', async () => {
  let res = await post({
    type: 'agent_state_change',
    agent_id: 'npa',
    new_state: 'available',
    capabilities: ['nutrition_analysis'],
  });
  expect(res.status).toBe(200);
  res = await post({
    source: 'agent-coordinator.agents',
    'detail-type': 'Coordination Request',
    detail: { task_id: 'h1', task_type: 'nutrition_analysis' },
  });
  expect(await res.json()).toMatchObject({
    task_id: 'h1',
    status: 'assigned',
    assigned_agents: ['npa'],
    router: 'rules',
  });
  res = await post({
    Records: [
      {
        messageId: 'r1',
        body: JSON.stringify({
          type: 'coordination_request',
          task_id: 'h2',
          task_type: 'nutrition_analysis',
        }),
      },
      { messageId: 'r2', body: 'nope' },
    ],
  });
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({ batchItemFailures: [{ itemIdentifier: 'r2' }] });
});

test('GET /agents, /tasks (status filter), /tasks/:id with its history, /assignments, /health', async () => {
  expect((await get('/health')).body).toEqual({ status: 'ok' });
  const agents = (await get('/agents')).body.agents as Array<{ agent_id: string; stale: boolean }>;
  expect(agents.map((a) => a.agent_id)).toContain('npa');
  const assigned = (await get('/tasks?status=assigned')).body.tasks as Array<{ task_id: string }>;
  expect(assigned.map((t) => t.task_id)).toEqual(expect.arrayContaining(['h1', 'h2']));
  expect(((await get('/tasks')).body.tasks as unknown[]).length).toBeGreaterThanOrEqual(2);
  const one = await get('/tasks/h1');
  expect(one.body).toMatchObject({ task_id: 'h1', history: [{ action: 'assign_task', router: 'rules' }] });
  const published = (await get('/assignments?agent=npa&task_id=h1')).body.assignments as Array<{
    task_id: string;
    target_agent: string;
  }>;
  expect(published).toHaveLength(1);
  expect(published[0]).toMatchObject({ task_id: 'h1', target_agent: 'npa', type: 'Task Assignment' });
});

test('clear errors: 400 with a reason, 404 for unknown ids and routes, 413 past the size limit, 405', async () => {
  let res = await post('{"type": "coordination_request",');
  expect(res.status).toBe(400);
  expect(((await res.json()) as { reason: string }).reason).toMatch(/body is not valid JSON/);
  res = await post({ type: 'coordination_request', task_type: 'x', priority: 'whenever' });
  expect(res.status).toBe(400);
  expect(await res.json()).toMatchObject({
    error: 'invalid_message',
    reason: expect.stringMatching(/priority/),
  });
  res = await post('');
  expect(res.status).toBe(400);
  expect((await get('/tasks/does-not-exist')).status).toBe(404);
  expect((await get('/nowhere')).status).toBe(404);
  expect((await get('/tasks?status=sleeping')).status).toBe(400);
  res = await post({ type: 'coordination_request', task_type: 'x', task_data: 'x'.repeat(10_000) });
  expect(res.status).toBe(413);
  expect((await fetch(`${server.url}/agents`, { method: 'DELETE' })).status).toBe(405);
  res = await post({ type: 'task_completion', task_id: 'ghost', agent_id: 'a' });
  expect(res.status).toBe(404);
});

test('with AUTH_TOKEN every route but /health needs the token; a wrong one is refused', async () => {
  const token = 'a-very-long-shared-secret-1234';
  const secured = await boot({ AUTH_TOKEN: token });
  try {
    const base = secured.server.url;
    expect((await fetch(`${base}/agents`)).status).toBe(401);
    expect((await post({ type: 'agent_health_check' }, {}, base)).status).toBe(401);
    expect(
      (await post({ type: 'agent_health_check' }, { authorization: 'Bearer wrong-token-wrong-token' }, base))
        .status,
    ).toBe(401);
    expect(
      (await post({ type: 'agent_health_check' }, { authorization: `Bearer ${token}` }, base)).status,
    ).toBe(200);
    expect((await fetch(`${base}/agents`, { headers: { 'x-api-key': token } })).status).toBe(200);
    expect((await fetch(`${base}/health`)).status).toBe(200);
  } finally {
    await secured.server.close();
  }
});

test('per-caller rate limit answers 429 with Retry-After', async () => {
  const limited = await boot({ RATE_LIMIT_PER_MINUTE: '3' });
  try {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${limited.server.url}/agents`);
      statuses.push(res.status);
      if (res.status === 429) retryAfter = res.headers.get('retry-after');
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(Number(retryAfter)).toBeGreaterThan(0);
  } finally {
    await limited.server.close();
  }
});

test('refuses to listen beyond loopback without AUTH_TOKEN', async () => {
  const rt = await createLocalRuntime(
    { STORE: 'memory', PORT: '0', HOST: '0.0.0.0', LOG_LEVEL: 'silent' },
    { logger: nullLogger },
  );
  await expect(startLocalServer(rt)).rejects.toThrow(/set AUTH_TOKEN/);
});

test('the core scenario through POST /events on the embedded store, across a restart of the server', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ac-http-scn-'));
  const env = { STORE: 'level', DATA_DIR: dir, PORT: '0', LOG_LEVEL: 'silent' };
  let rt = await createLocalRuntime(env, { logger: nullLogger });
  let srv = await startLocalServer(rt);
  const getJson = async (p: string) => {
    const res = await fetch(`${srv.url}${p}`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const driver: ScenarioDriver = {
    async send(message, options) {
      const res = await fetch(`${srv.url}/events`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(options?.id ? { 'x-request-id': options.id } : {}),
        },
        body: JSON.stringify(message),
      });
      if (res.status !== 200) throw new Error(`POST /events answered ${res.status}: ${await res.text()}`);
    },
    async published() {
      return (await getJson('/assignments')).body.assignments as PublishedAssignment[];
    },
    async task(id) {
      const r = await getJson(`/tasks/${encodeURIComponent(id)}`);
      return r.status === 200 ? (r.body as unknown as TaskRecord) : undefined;
    },
    async agent(id) {
      return ((await getJson('/agents')).body.agents as AgentRecord[]).find((a) => a.agent_id === id);
    },
    async restart() {
      restarts += 1;
      await srv.close();
      await rt.close();
      rt = await createLocalRuntime(env, { logger: nullLogger });
      srv = await startLocalServer(rt);
    },
  };
  let restarts = 0;
  try {
    await runCoreScenario(driver, 'http');
    expect(restarts).toBe(1);
    // What was published before the restart is still readable, so a redelivery now is still
    // recognised as a duplicate by the bus.
    const published = (await driver.published()).filter((e) => e.type === 'Task Assignment');
    expect(published.map((e) => e.task_id)).toEqual(
      expect.arrayContaining(['http-t1', 'http-t4', 'http-t5']),
    );
    expect(new Set(published.map((e) => e.id)).size).toBe(published.length);
  } finally {
    await srv.close();
    await rt.close();
    await rm(dir, { recursive: true, force: true });
  }
});
