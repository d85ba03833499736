/**
 * A2A agents end to end through the local runtime: real SDK agents on loopback register by
 * card, get their tasks as A2A messages, and report back by push notification (or by the
 * sweep's polling); a mixed fleet routes as before.
 */
import { Readable } from 'node:stream';
import { agents as agentsCommand } from '../../cli/commands/agents';
import { tasks as tasksCommand } from '../../cli/commands/tasks';
import type { Logger } from '../../shared/core/ports';
import type { AgentRecord, TaskRecord } from '../../shared/core/model';
import { createLocalRuntime, type LocalRuntime } from '../../shared/runtime/local';
import { startLocalServer, type RunningServer } from '../../shared/runtime/local-server';
import { startTestAgent, type TestAgent, type TestAgentOptions } from './support/agents';
import { eventually } from './support/wait';

const lines: string[] = [];
const capture: Logger = {
  debug: (m, f) => void lines.push(JSON.stringify({ m, ...f })),
  info: (m, f) => void lines.push(JSON.stringify({ m, ...f })),
  warn: (m, f) => void lines.push(JSON.stringify({ m, ...f })),
  error: (m, f) => void lines.push(JSON.stringify({ m, ...f })),
  child: () => capture,
};

interface Booted {
  runtime: LocalRuntime;
  server: RunningServer;
}
const open: Booted[] = [];
const agents: TestAgent[] = [];
afterEach(async () => {
  for (const { server, runtime } of open.splice(0)) {
    await server.close();
    await runtime.close();
  }
  await Promise.all(agents.splice(0).map((a) => a.close()));
});

async function boot(env: Record<string, string> = {}): Promise<Booted> {
  const runtime = await createLocalRuntime(
    { STORE: 'memory', PORT: '0', LOG_LEVEL: 'debug', ...env },
    { logger: capture },
  );
  const server = await startLocalServer(runtime);
  const booted = { runtime, server };
  open.push(booted);
  return booted;
}

async function agent(options: TestAgentOptions): Promise<TestAgent> {
  const a = await startTestAgent(options);
  agents.push(a);
  return a;
}

async function post(b: Booted, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${b.server.url}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function get<T>(b: Booted, path: string): Promise<T> {
  return (await (await fetch(`${b.server.url}${path}`)).json()) as T;
}

const register = (b: Booted, agentId: string, a: TestAgent, extra: Record<string, unknown> = {}) =>
  post(b, {
    type: 'agent_state_change',
    agent_id: agentId,
    new_state: 'available',
    agent_card_url: a.cardUrl,
    ...extra,
  });

const taskOf = (b: Booted, id: string) => get<TaskRecord>(b, `/tasks/${id}`);

test('register by card, route, dispatch over A2A, push notification, completed with the artifact', async () => {
  const b = await boot();
  const npa = await agent({
    behaviour: 'complete',
    skills: [{ id: 'nutrition_analysis', tags: ['meal_planning'] }],
  });
  const reg = await register(b, 'npa', npa, { capabilities: ['diet'] });
  expect(reg.status).toBe(200);
  const { agents: registry } = await get<{ agents: AgentRecord[] }>(b, '/agents');
  expect(registry[0]).toMatchObject({
    agent_id: 'npa',
    capabilities: ['diet', 'nutrition_analysis', 'meal_planning'],
    a2a: {
      card_url: npa.cardUrl,
      interface_url: `${npa.url}/a2a/jsonrpc`,
      protocol_binding: 'JSONRPC',
      protocol_version: '1.0',
      push_notifications: true,
    },
  });

  const routed = await post(b, {
    type: 'coordination_request',
    task_id: 'meal-plan-42',
    agent_id: 'app',
    task_type: 'nutrition_analysis',
    task_data: { request: '7-day high-protein plan' },
  });
  expect(routed.body).toMatchObject({ status: 'assigned', assigned_agents: ['npa'] });
  const done = await eventually(
    () => taskOf(b, 'meal-plan-42'),
    (t) => t.status === 'completed',
  );
  expect(npa.received).toHaveLength(1);
  const sent = npa.received[0]!;
  expect(sent.contextId).toBe('meal-plan-42');
  expect(sent.messageId).toBe('meal-plan-42:1:npa');
  expect(sent.data).toMatchObject({
    task_id: 'meal-plan-42',
    task_type: 'nutrition_analysis',
    task_data: { request: '7-day high-protein plan' },
  });
  expect(done.a2a_tasks?.[0]).toMatchObject({ agent_id: 'npa', a2a_task_id: sent.taskId, push: true });
  expect(done.result).toMatchObject({
    a2a_task_id: sent.taskId,
    artifacts: [{ name: 'plan', parts: [{ data: { plan: '7-day high-protein plan' } }] }],
  });
  // The local bus saw the assignment too (GET /assignments, the dashboard).
  const { assignments } = await get<{ assignments: Array<{ target_agent: string }> }>(
    b,
    '/assignments?task_id=meal-plan-42',
  );
  expect(assignments.map((a) => a.target_agent)).toEqual(['npa']);
});

test('a redelivered assignment creates no second A2A task', async () => {
  const b = await boot();
  const slow = await agent({ behaviour: 'slow' });
  await register(b, 'slow-1', slow);
  await post(b, { type: 'coordination_request', task_id: 'redo-1', task_type: 'nutrition_analysis' });
  const assigned = await eventually(
    () => taskOf(b, 'redo-1'),
    (t) => Boolean(t.a2a_tasks?.[0]?.a2a_task_id),
  );
  // As after a crash between publishing and clearing: the assignment is back in the outbox.
  const published = b.runtime.bus.list({ task_id: 'redo-1', type: 'Task Assignment' });
  const stored = (await b.runtime.store.getTask('redo-1'))!;
  await b.runtime.store.putTask(
    { ...stored, outbox: [published[0]!], version: stored.version + 1 },
    stored.version,
  );
  const swept = await post(b, { type: 'sweep' });
  expect(swept.body).toMatchObject({ republished: 1 });
  expect((await b.runtime.store.getTask('redo-1'))!.outbox).toEqual([]);
  expect(slow.received).toHaveLength(1);
  slow.release();
  const done = await eventually(
    () => taskOf(b, 'redo-1'),
    (t) => t.status === 'completed',
  );
  expect(done.a2a_tasks?.[0]?.a2a_task_id).toBe(assigned.a2a_tasks?.[0]?.a2a_task_id);
  expect(slow.received).toHaveLength(1);
});

test('a failed A2A task is an error: the task is reassigned to another capable agent', async () => {
  const b = await boot();
  const failing = await agent({ behaviour: 'fail', skills: [{ id: 'analytics' }] });
  await register(b, 'a-fail', failing);
  await post(b, { type: 'coordination_request', task_id: 'rep-1', task_type: 'analytics' });
  const queued = await eventually(
    () => taskOf(b, 'rep-1'),
    (t) => t.failed_agents.includes('a-fail'),
  );
  expect(queued.error).toMatch(/A2A task .* failed: the nutrition database is unreachable/);
  // An event-driven agent joins: the task goes to it (a mixed fleet, routing unchanged).
  await post(b, {
    type: 'agent_state_change',
    agent_id: 'ev-1',
    new_state: 'available',
    capabilities: ['analytics'],
  });
  const reassigned = await taskOf(b, 'rep-1');
  expect(reassigned).toMatchObject({ status: 'assigned', assigned_agents: ['ev-1'], attempts: 2 });
  expect(b.runtime.bus.list({ task_id: 'rep-1', target_agent: 'ev-1' })).toHaveLength(1);
});

test('input-required: the task waits with the agent message and the requester is told', async () => {
  const b = await boot();
  const asking = await agent({ behaviour: 'input' });
  await register(b, 'asker', asking);
  await post(b, {
    type: 'coordination_request',
    task_id: 'ask-1',
    agent_id: 'app',
    task_type: 'nutrition_analysis',
  });
  const waiting = await eventually(
    () => taskOf(b, 'ask-1'),
    (t) => t.waiting !== undefined,
  );
  expect(waiting.status).toBe('assigned');
  expect(waiting.deadline_at).toBeUndefined();
  expect(waiting.waiting).toMatchObject({
    agent_id: 'asker',
    message: 'Which day should the plan start on?',
  });
  const told = b.runtime.bus.list({ task_id: 'ask-1', type: 'Task Input Required' });
  expect(told).toHaveLength(1);
  expect(told[0]).toMatchObject({
    target_agent: 'app',
    detail: {
      agent_id: 'asker',
      message: 'Which day should the plan start on?',
      a2a_task_id: asking.received[0]!.taskId,
    },
  });
});

test('without push, the sweep polls; HTTP+JSON binding; bearer secret from A2A_SECRETS, never logged', async () => {
  const secret = 'sekret-bearer-token-0123456789';
  const b = await boot({ A2A_SECRETS: JSON.stringify({ 'rest-1': secret }) });
  const rest = await agent({ behaviour: 'complete', push: false, binding: 'HTTP+JSON', bearer: secret });
  await register(b, 'rest-1', rest);
  const before = lines.length;
  await post(b, { type: 'coordination_request', task_id: 'poll-1', task_type: 'nutrition_analysis' });
  const sent = await eventually(
    () => taskOf(b, 'poll-1'),
    (t) => Boolean(t.a2a_tasks?.[0]?.a2a_task_id),
  );
  expect(sent.a2a_tasks?.[0]).toMatchObject({ push: false });
  expect(sent.a2a_tasks?.[0]?.push_token).toBeUndefined();
  expect(rest.received[0]!.authorization).toBe(`Bearer ${secret}`);
  // The agent finishes on its own; nothing pushes: the sweep asks (GetTask) and closes the task.
  const swept = await eventually(
    async () => (await post(b, { type: 'sweep' })).body,
    () => true,
  );
  expect(swept).toMatchObject({ a2a: { polled: 1 } });
  const done = await eventually(
    () => taskOf(b, 'poll-1'),
    (t) => t.status === 'completed',
  );
  expect(done.result).toMatchObject({ artifacts: [{ name: 'plan' }] });
  expect(lines.slice(before).join('\n')).not.toContain(secret);
});

test('the agent going down: its assignment cannot be sent, and the task goes to another agent', async () => {
  const b = await boot();
  const down = await agent({ behaviour: 'complete' });
  await register(b, 'gone-1', down);
  await down.close();
  await post(b, { type: 'coordination_request', task_id: 'down-1', task_type: 'nutrition_analysis' });
  // Each delivery (the request, then the sweeps) tries once; the third failure gives up on it.
  const failed = await eventually(
    async () => {
      await post(b, { type: 'sweep' });
      return taskOf(b, 'down-1');
    },
    (t) => t.failed_agents.includes('gone-1'),
  );
  expect(failed.status).toBe('queued');
  expect(failed.error).toMatch(/A2A dispatch to gone-1 failed 3 times/);
  const other = await agent({ behaviour: 'complete' });
  await register(b, 'other-1', other);
  const done = await eventually(
    () => taskOf(b, 'down-1'),
    (t) => t.status === 'completed',
  );
  expect(done.completed_agents).toEqual(['other-1']);
});

test('notifications: a wrong token is refused; an unknown task is not found', async () => {
  const b = await boot();
  const post = (headers: Record<string, string>, body: unknown) =>
    fetch(`${b.server.url}/a2a/notifications`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  const slow = await agent({ behaviour: 'slow' });
  await register(b, 'slow-2', slow);
  await fetch(`${b.server.url}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'coordination_request', task_id: 'tok-1', task_type: 'nutrition_analysis' }),
  });
  const task = await eventually(
    () => taskOf(b, 'tok-1'),
    (t) => Boolean(t.a2a_tasks?.[0]?.a2a_task_id),
  );
  const forged = {
    statusUpdate: {
      taskId: task.a2a_tasks![0]!.a2a_task_id,
      contextId: 'tok-1',
      status: { state: 'TASK_STATE_COMPLETED' },
    },
  };
  expect((await post({ 'x-a2a-notification-token': 'wrong' }, forged)).status).toBe(401);
  expect(
    (await post({}, { ...forged, statusUpdate: { ...forged.statusUpdate, contextId: 'nope' } })).status,
  ).toBe(404);
  expect((await post({}, { hello: 'world' })).status).toBe(400);
  expect((await taskOf(b, 'tok-1')).status).toBe('assigned');
  slow.release();
  await eventually(
    () => taskOf(b, 'tok-1'),
    (t) => t.status === 'completed',
  );
});

test('a malformed card is refused with the field named; a changed card refreshes the record', async () => {
  const b = await boot({ A2A_CARD_REFRESH: '0' });
  const bad = await agent({ cardOverride: { name: 'broken', supportedInterfaces: [{ url: 42 }] } });
  const refused = await register(b, 'bad-1', bad);
  expect(refused.status).toBe(400);
  expect(JSON.stringify(refused.body)).toContain('supportedInterfaces[0].url');
  const big = await agent({ cardPadding: 100 * 1024 });
  expect((await register(b, 'big-1', big)).status).toBe(400);

  const changing = await agent({ skills: [{ id: 'workout_planning' }] });
  await register(b, 'coach', changing, { capabilities: ['coordination'] });
  changing.setSkills([{ id: 'workout_planning' }, { id: 'recovery', tags: ['sleep'] }]);
  await post(b, {
    type: 'agent_state_change',
    agent_id: 'coach',
    new_state: 'available',
    agent_card_url: changing.cardUrl,
  });
  const coach = await get<AgentRecord>(b, '/agents').then((r) =>
    (r as unknown as { agents: AgentRecord[] }).agents.find((a) => a.agent_id === 'coach')!,
  );
  expect(coach.capabilities).toEqual(['coordination', 'workout_planning', 'recovery', 'sleep']);
  expect(coach.a2a?.skills).toEqual(['workout_planning', 'recovery']);
});

test('the CLI: agents add <card-url> registers by card; agents and tasks show the protocol and the A2A task', async () => {
  const run = async (command: typeof agentsCommand, argv: string[]) => {
    let out = '';
    const io = {
      stdout: { write: (c: string) => void (out += c) },
      stderr: { write: () => undefined },
      stdin: Readable.from([]),
      env: {},
      signal: new AbortController().signal,
    };
    const code = await command.run(argv, io);
    return { code, out };
  };
  const b = await boot();
  const a = await agent({ name: 'Nutrition Agent', behaviour: 'complete' });
  const added = await run(agentsCommand, ['add', a.cardUrl, '--url', b.server.url, '--capability', 'diet']);
  expect(added.code).toBe(0);
  expect(added.out).toContain('registered nutrition-agent (a2a JSONRPC');
  const listed = await run(agentsCommand, ['--url', b.server.url]);
  expect(listed.out).toMatch(
    /nutrition-agent\s+available\s+0\/3\s+.*diet,nutrition_analysis,meal_planning\s+a2a JSONRPC/,
  );
  await post(b, { type: 'coordination_request', task_id: 'cli-a2a-1', task_type: 'diet' });
  await eventually(
    () => taskOf(b, 'cli-a2a-1'),
    (t) => t.status === 'completed',
  );
  const shown = await run(tasksCommand, ['--url', b.server.url]);
  expect(shown.out).toContain(`nutrition-agent:${a.received[0]!.taskId}`);
});

test('an agent that answers too slowly: the send times out, and the redelivery finds the task it made', async () => {
  const b = await boot({ A2A_TIMEOUT: '0.3' });
  const slow = await agent({ behaviour: 'complete', holdFirstRequest: true });
  await register(b, 'slowpoke', slow);
  const first = await post(b, {
    type: 'coordination_request',
    task_id: 'late-1',
    task_type: 'nutrition_analysis',
  });
  expect(first.status).toBe(503);
  expect(JSON.stringify(first.body)).toContain('no answer within 300 ms');
  // The agent goes on with the request it held: it makes the A2A task nobody heard of.
  slow.release();
  await eventually(
    async () => slow.received.length,
    (n) => n === 1,
  );
  await post(b, { type: 'sweep' });
  const done = await eventually(
    () => taskOf(b, 'late-1'),
    (t) => t.status === 'completed',
  );
  expect(slow.received).toHaveLength(1);
  expect(done.a2a_tasks?.[0]?.a2a_task_id).toBe(slow.received[0]!.taskId);
});

test('an A2A agent that stops answering goes stale through its card, offline, and its task is reassigned', async () => {
  let now = Date.parse('2026-12-01T10:00:00.000Z');
  const runtime = await createLocalRuntime(
    { STORE: 'memory', PORT: '0', LOG_LEVEL: 'silent', AGENT_HEARTBEAT_TTL: '60' },
    { logger: capture, clock: { now: () => now } },
  );
  const server = await startLocalServer(runtime);
  const b = { runtime, server };
  open.push(b);
  const holding = await agent({ behaviour: 'slow' });
  await register(b, 'holder', holding);
  await post(b, { type: 'coordination_request', task_id: 'held-1', task_type: 'nutrition_analysis' });
  await eventually(
    () => taskOf(b, 'held-1'),
    (t) => Boolean(t.a2a_tasks?.[0]?.a2a_task_id),
  );
  // Half-way to stale, the sweep reads the card: it answers, that is the heartbeat.
  now += 31_000;
  expect((await post(b, { type: 'sweep' })).body).toMatchObject({ offline: [], a2a: { cards_refreshed: 1 } });
  await holding.close();
  now += 31_000;
  expect((await post(b, { type: 'sweep' })).body).toMatchObject({ offline: [], a2a: { cards_refreshed: 0 } });
  now += 31_000;
  const swept = (await post(b, { type: 'sweep' })).body;
  expect(swept).toMatchObject({ offline: ['holder'], requeued: ['held-1'] });
  const next = await agent({ behaviour: 'complete' });
  await register(b, 'next-1', next);
  const done = await eventually(
    () => taskOf(b, 'held-1'),
    (t) => t.status === 'completed',
  );
  expect(done.completed_agents).toEqual(['next-1']);
});

test('a v0.3 agent (the SDK compat layer): its card is read, message/send and tasks/get are spoken', async () => {
  const b = await boot();
  const old = await agent({ behaviour: 'complete', v03: true, push: false });
  await register(b, 'old-1', old);
  const { agents: registry } = await get<{ agents: AgentRecord[] }>(b, '/agents');
  expect(registry[0]?.a2a).toMatchObject({ protocol_version: '0.3', protocol_binding: 'JSONRPC' });
  await post(b, {
    type: 'coordination_request',
    task_id: 'v03-1',
    task_type: 'nutrition_analysis',
    task_data: { a: 1 },
  });
  await eventually(
    () => taskOf(b, 'v03-1'),
    (t) => Boolean(t.a2a_tasks?.[0]?.a2a_task_id),
  );
  expect(old.received[0]).toMatchObject({
    contextId: 'v03-1',
    data: { task_id: 'v03-1', task_data: { a: 1 } },
  });
  const done = await eventually(
    async () => {
      await post(b, { type: 'sweep' });
      return taskOf(b, 'v03-1');
    },
    (t) => t.status === 'completed',
  );
  expect(done.result).toMatchObject({ artifacts: [{ name: 'plan' }] });
});

test('with AUTH_TOKEN the API wants the token, but agents push with their per-task token', async () => {
  const token = 'a-long-enough-api-token-0123';
  const b = await boot({ AUTH_TOKEN: token });
  const npa = await agent({ behaviour: 'complete' });
  const events = (body: unknown) =>
    fetch(`${b.server.url}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
  expect((await post(b, { type: 'sweep' })).status).toBe(401);
  await events({
    type: 'agent_state_change',
    agent_id: 'npa',
    new_state: 'available',
    agent_card_url: npa.cardUrl,
  });
  await events({ type: 'coordination_request', task_id: 'auth-1', task_type: 'nutrition_analysis' });
  const done = await eventually(
    () => b.runtime.coordinator.findTask('auth-1'),
    (t) => t?.status === 'completed',
  );
  expect(done?.completed_agents).toEqual(['npa']);
});
