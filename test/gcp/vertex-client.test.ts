/**
 * The Vertex AI Gemini client and the router around it, through real HTTP against a local
 * server speaking the `generateContent` wire format (request checked, replies realistic).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { VertexGeminiClient } from '../../shared/adapters/gcp/vertex-client';
import { loadConfig } from '../../shared/core/config';
import { RouterError } from '../../shared/core/errors';
import type { AgentView, RoutingRequest } from '../../shared/core/ports';
import { DECISION_TOOL } from '../../shared/core/routing/prompt';
import { llmRouter } from '../../shared/runtime/routers';

const PATH =
  '/v1/projects/demo-proj/locations/europe-west4/publishers/google/models/gemini-2.0-flash:generateContent';

interface Seen {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown>;
}
type Reply = (
  seen: Seen,
  n: number,
) => { status?: number; headers?: Record<string, string>; body: unknown; delayMs?: number };

let server: http.Server;
let base: string;
let seen: Seen[] = [];
let reply: Reply;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const s: Seen = {
        path: req.url ?? '',
        headers: req.headers,
        body: JSON.parse(raw || '{}') as Record<string, unknown>,
      };
      seen.push(s);
      const r = reply(s, seen.length);
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(r.status ?? 200, { 'content-type': 'application/json', ...r.headers });
        res.end(typeof r.body === 'string' ? r.body : JSON.stringify(r.body));
      };
      if (r.delayMs) setTimeout(send, r.delayMs).unref();
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  seen = [];
});

const client = (maxRetries = 2) =>
  new VertexGeminiClient({
    project: 'demo-proj',
    location: 'europe-west4',
    model: 'gemini-2.0-flash',
    endpoint: base,
    accessToken: async () => 'ya29.test-token',
    maxRetries,
  });

const functionCall = (
  args: Record<string, unknown>,
  usage = { promptTokenCount: 812, candidatesTokenCount: 64, totalTokenCount: 876 },
) => ({
  candidates: [
    {
      content: { role: 'model', parts: [{ functionCall: { name: 'route_task', args } }] },
      finishReason: 'STOP',
      avgLogprobs: -0.01,
    },
  ],
  usageMetadata: usage,
  modelVersion: 'gemini-2.0-flash-001',
});
const errorBody = (code: number, status: string) => ({
  error: { code, message: `${status} from the fake`, status },
});

const agent = (agent_id: string, capabilities: string[], active = 0): AgentView => ({
  agent_id,
  capabilities,
  status: 'available',
  active_tasks: active,
  max_concurrent_tasks: 3,
});
const routing: RoutingRequest = {
  task: {
    task_id: 'vx-1',
    task_type: 'nutrition_analysis',
    task_data: { meal: 'soup' },
    priority: 'high',
    required_capabilities: [],
    requested_by: 'req',
    failed_agents: [],
  },
  agents: [
    agent('npa-1', ['nutrition_analysis'], 2),
    agent('npa-2', ['nutrition_analysis']),
    agent('coach', ['workout_planning']),
  ],
};
const router = (timeoutSeconds = '2') =>
  llmRouter(
    client(),
    loadConfig({
      ROUTER: 'vertex',
      FAST_PATH: 'false',
      COORDINATION_TIMEOUT: timeoutSeconds,
      LLM_CIRCUIT_FAILURES: '100',
    }),
  );
const request = { system: 'SYSTEM', prompt: 'PROMPT', tool: DECISION_TOOL, maxOutputTokens: 512 };

/** Every key used anywhere in a JSON value. */
function keysOf(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const v of value) keysOf(v, out);
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      out.add(k);
      keysOf(v, out);
    }
  }
  return out;
}

test('sends a forced function call in Vertex schema and maps the call, map fields and usage back', async () => {
  reply = () => ({
    body: functionCall({
      action: 'assign_task',
      target_agents: ['npa-2'],
      task_distribution: [{ key: 'npa-2', value: 'analyse the soup' }],
      reasoning: 'idle',
    }),
  });
  const out = await client().complete(request, AbortSignal.timeout(5000));

  const s = seen[0]!;
  expect(s.path).toBe(PATH);
  expect(s.headers.authorization).toBe('Bearer ya29.test-token');
  expect(s.body.systemInstruction).toEqual({ parts: [{ text: 'SYSTEM' }] });
  expect(s.body.contents).toEqual([{ role: 'user', parts: [{ text: 'PROMPT' }] }]);
  expect(s.body.toolConfig).toEqual({
    functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['route_task'] },
  });
  expect(s.body.generationConfig).toMatchObject({ maxOutputTokens: 512, temperature: 0 });
  const declaration = (
    s.body.tools as Array<{
      functionDeclarations: Array<{ name: string; parameters: Record<string, unknown> }>;
    }>
  )[0]!.functionDeclarations[0]!;
  expect(declaration.name).toBe('route_task');
  const params = declaration.parameters as {
    type: string;
    properties: Record<string, { type: string; items?: { type: string } }>;
    required: string[];
  };
  expect(params.type).toBe('OBJECT');
  expect(params.required).toEqual(['action']);
  expect(params.properties.action).toMatchObject({
    type: 'STRING',
    enum: ['assign_task', 'queue_task', 'delegate_coordination', 'reject_task'],
  });
  expect(params.properties.task_distribution).toMatchObject({ type: 'ARRAY', items: { type: 'OBJECT' } });
  // Keywords outside Vertex's OpenAPI subset never reach it.
  for (const banned of [
    'additionalProperties',
    'propertyNames',
    'exclusiveMinimum',
    'default',
    '$schema',
    'const',
  ])
    expect(keysOf(params).has(banned)).toBe(false);

  expect(out.toolInput).toEqual({
    action: 'assign_task',
    target_agents: ['npa-2'],
    task_distribution: { 'npa-2': 'analyse the soup' },
    reasoning: 'idle',
  });
  expect(out.usage).toEqual({ input_tokens: 812, output_tokens: 64 });
  expect(out.stopReason).toBe('STOP');
  expect(out.model).toBe('gemini-2.0-flash-001');
});

test('the router takes a valid Gemini decision, with model and usage recorded', async () => {
  reply = () => ({
    body: functionCall({ action: 'assign_task', target_agents: ['npa-2'], reasoning: 'npa-2 is idle' }),
  });
  const result = await router().decide(routing);
  expect(result).toMatchObject({
    router: 'llm',
    path: 'llm',
    model: 'gemini-2.0-flash-001',
    usage: { input_tokens: 812, output_tokens: 64 },
  });
  expect(result.decision).toMatchObject({ action: 'assign_task', target_agents: ['npa-2'] });
});

test('429 is retried after retry-after, within the timeout', async () => {
  reply = (_s, n) =>
    n === 1
      ? { status: 429, headers: { 'retry-after': '0' }, body: errorBody(429, 'RESOURCE_EXHAUSTED') }
      : { body: functionCall({ action: 'queue_task', reasoning: 'later' }) };
  const out = await client().complete(request, AbortSignal.timeout(5000));
  expect(seen).toHaveLength(2);
  expect(out.toolInput).toMatchObject({ action: 'queue_task' });
});

test('a 500 that persists: bounded retries, then the rules router decides with the reason', async () => {
  reply = () => ({ status: 500, body: errorBody(500, 'INTERNAL') });
  const err = await client(1)
    .complete(request, AbortSignal.timeout(5000))
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RouterError);
  expect((err as RouterError).reason).toBe('server_error');
  expect(seen).toHaveLength(2);

  const result = await router().decide(routing);
  expect(result.router).toBe('rules');
  expect(result.fallback_reason).toMatch(/^server_error/);
  expect(result.decision.target_agents).toEqual(['npa-2']);
});

test('a 400 is not retried', async () => {
  reply = () => ({ status: 400, body: errorBody(400, 'INVALID_ARGUMENT') });
  const err = await client()
    .complete(request, AbortSignal.timeout(5000))
    .catch((e: unknown) => e);
  expect((err as RouterError).reason).toBe('client_error');
  expect(seen).toHaveLength(1);
});

test('text instead of a function call: the rules router decides (invalid_output)', async () => {
  reply = () => ({
    body: {
      candidates: [
        {
          content: { role: 'model', parts: [{ text: 'I think npa-1 should do it.' }] },
          finishReason: 'STOP',
        },
      ],
      usageMetadata: { promptTokenCount: 800, candidatesTokenCount: 9 },
    },
  });
  const result = await router().decide(routing);
  expect(result.router).toBe('rules');
  expect(result.fallback_reason).toMatch(/^invalid_output/);
});

test('invalid arguments (unknown action, unregistered target) never execute as given', async () => {
  reply = () => ({ body: functionCall({ action: 'launch_missiles', target_agents: ['npa-2'] }) });
  const bad = await router().decide(routing);
  expect(bad.router).toBe('rules');
  expect(bad.fallback_reason).toMatch(/^invalid_output/);

  reply = () => ({
    body: functionCall({
      action: 'assign_task',
      target_agents: ['intruder'],
      reasoning: 'task data said so',
    }),
  });
  const injected = await router().decide(routing);
  expect(injected.router).toBe('rules');
  expect(injected.decision.target_agents).not.toContain('intruder');
});

test('a slow reply times out and the rules router decides', async () => {
  reply = () => ({ body: functionCall({ action: 'assign_task', target_agents: ['npa-1'] }), delayMs: 5000 });
  const result = await router('0.3').decide(routing);
  expect(result.router).toBe('rules');
  expect(result.fallback_reason).toMatch(/^timeout/);
});

test('no candidates (blocked prompt) is an invalid output', async () => {
  reply = () => ({
    body: { promptFeedback: { blockReason: 'SAFETY' }, usageMetadata: { promptTokenCount: 10 } },
  });
  const err = await client()
    .complete(request, AbortSignal.timeout(5000))
    .catch((e: unknown) => e);
  expect((err as RouterError).reason).toBe('invalid_output');
});

test('a batch of requests is one call; map fields inside the decisions array are restored', async () => {
  reply = () => ({
    body: {
      ...functionCall({}),
      candidates: [
        {
          content: {
            role: 'model',
            parts: [
              {
                functionCall: {
                  name: 'route_tasks',
                  args: {
                    decisions: [
                      {
                        task_id: 'vx-1',
                        action: 'assign_task',
                        target_agents: ['npa-2'],
                        task_distribution: [{ key: 'npa-2', value: 'part one' }],
                      },
                      { task_id: 'vx-2', action: 'assign_task', target_agents: ['npa-1'] },
                    ],
                  },
                },
              },
            ],
          },
          finishReason: 'STOP',
        },
      ],
    },
  });
  const second: RoutingRequest = { ...routing, task: { ...routing.task, task_id: 'vx-2' } };
  const results = await router().decideBatch([routing, second]);
  expect(seen).toHaveLength(1);
  const declaration = (
    seen[0]!.body.tools as Array<{
      functionDeclarations: Array<{
        name: string;
        parameters: {
          properties: { decisions: { items: { properties: Record<string, { type: string }> } } };
        };
      }>;
    }>
  )[0]!.functionDeclarations[0]!;
  expect(declaration.name).toBe('route_tasks');
  expect(declaration.parameters.properties.decisions.items.properties.task_distribution?.type).toBe('ARRAY');
  expect(results.map((r) => [r.router, r.path, r.decision.target_agents])).toEqual([
    ['llm', 'llm_batch', ['npa-2']],
    ['llm', 'llm_batch', ['npa-1']],
  ]);
  expect(results[0]!.decision.task_distribution).toEqual({ 'npa-2': 'part one' });
});
