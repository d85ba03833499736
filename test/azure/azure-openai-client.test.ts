/**
 * The Azure OpenAI router through real HTTP against a local server speaking the chat-completions
 * wire format: the Azure URL and `api-key` header, a forced tool call, 429 with `retry-after`
 * (honoured only within the coordination timeout), 5xx, non-JSON, text instead of a tool call,
 * and a reply slower than the timeout. Every failure ends in a rules decision with its reason.
 */
import { AzureOpenAiClient, azureOpenAiUrl } from '../../shared/adapters/azure/azure-openai-client';
import { loadConfig } from '../../shared/core/config';
import type { RoutingRequest } from '../../shared/core/ports';
import { decideByRules } from '../../shared/core/routing/rules-router';
import { llmRouter } from '../../shared/runtime/routers';
import { startChatServer, textReply, toolCallReply, type ChatServer } from '../support/openai-server';

let server: ChatServer;
beforeAll(async () => {
  server = await startChatServer();
});
afterAll(() => server.close());
beforeEach(() => server.requests.splice(0));

const request: RoutingRequest = {
  task: {
    task_id: 't-1',
    task_type: 'nutrition_analysis',
    task_data: { meal: 'oats' },
    priority: 'medium',
    required_capabilities: [],
    failed_agents: [],
  },
  agents: [
    {
      agent_id: 'npa',
      capabilities: ['nutrition_analysis'],
      status: 'available',
      active_tasks: 0,
      max_concurrent_tasks: 2,
    },
    {
      agent_id: 'npa-2',
      capabilities: ['nutrition_analysis'],
      status: 'available',
      active_tasks: 1,
      max_concurrent_tasks: 2,
    },
  ],
};
const decision = {
  action: 'assign_task',
  target_agents: ['npa-2'],
  task_distribution: { 'npa-2': 'analyse' },
  reasoning: 'npa-2 knows oats',
};

function router(timeoutSeconds = 5) {
  const config = loadConfig({
    ROUTER: 'azure-openai',
    FAST_PATH: 'false',
    COORDINATION_TIMEOUT: String(timeoutSeconds),
    LLM_CIRCUIT_FAILURES: '100',
  });
  const client = new AzureOpenAiClient({
    endpoint: server.url.replace(/\/v1$/, ''),
    deployment: 'coord-gpt4o',
    apiVersion: '2024-10-21',
    apiKey: 'azure-key-123',
  });
  return llmRouter(client, config);
}

test('builds the Azure URL from endpoint, deployment and API version', () => {
  expect(azureOpenAiUrl('https://acme.openai.azure.com/', 'gpt 4o', '2024-10-21')).toBe(
    'https://acme.openai.azure.com/openai/deployments/gpt%204o/chat/completions?api-version=2024-10-21',
  );
});

test('asks the deployment for a forced tool call with the api-key header, and takes its decision', async () => {
  server.script(toolCallReply(decision));
  const result = await router().decide(request);
  expect(result).toMatchObject({
    router: 'llm',
    model: expect.any(String),
    decision: { action: 'assign_task', target_agents: ['npa-2'] },
  });
  const [sent] = server.requests;
  expect(sent!.path).toBe('/openai/deployments/coord-gpt4o/chat/completions?api-version=2024-10-21');
  expect(sent!.headers['api-key']).toBe('azure-key-123');
  expect(sent!.headers.authorization).toBeUndefined();
  expect(sent!.body.model).toBeUndefined();
  expect(sent!.body.tool_choice).toEqual({ type: 'function', function: { name: expect.any(String) } });
  expect((sent!.body.tools as unknown[]).length).toBe(1);
});

test('a 429 with retry-after within the timeout is waited out and retried', async () => {
  server.script(
    {
      status: 429,
      headers: { 'retry-after': '0' },
      body: { error: { code: '429', message: 'Rate limit is exceeded.' } },
    },
    toolCallReply(decision),
  );
  const result = await router().decide(request);
  expect(result.router).toBe('llm');
  expect(server.requests).toHaveLength(2);
});

test('a 429 whose retry-after exceeds the coordination timeout falls back to the rules', async () => {
  server.script(
    {
      status: 429,
      headers: { 'retry-after': '120' },
      body: { error: { code: '429', message: 'Rate limit is exceeded.' } },
    },
    toolCallReply(decision),
  );
  const result = await router(0.3).decide(request);
  expect(result.router).toBe('rules');
  // Out of time while waiting: the reason is what the server said; no second request was made.
  expect(result.fallback_reason).toMatch(/^throttled/);
  expect(server.requests).toHaveLength(1);
});

test('a persistent 500 is retried, then the rules decide', async () => {
  server.script({ status: 500, body: { error: { message: 'internal' } } });
  const result = await router().decide(request);
  expect(result.router).toBe('rules');
  expect(result.fallback_reason).toMatch(/^server_error/);
  expect(server.requests).toHaveLength(3);
  // The rules' own pick for this request (two equally free agents: the task id decides).
  expect(result.decision.target_agents).toEqual(decideByRules(request).decision.target_agents);
});

test('a reply that is not JSON falls back with invalid_output', async () => {
  server.script({ status: 200, body: '<html>gateway</html>' });
  const result = await router().decide(request);
  expect(result).toMatchObject({ router: 'rules' });
  expect(result.fallback_reason).toMatch(/^invalid_output.*not JSON/);
});

test('text instead of a tool call falls back with invalid_output', async () => {
  server.script(textReply('I think npa should do it.'));
  const result = await router().decide(request);
  expect(result.router).toBe('rules');
  expect(result.fallback_reason).toMatch(/^invalid_output.*did not call/);
});

test('a reply slower than the coordination timeout falls back with timeout', async () => {
  server.script({ ...toolCallReply(decision), delayMs: 5000 });
  const result = await router(0.3).decide(request);
  expect(result.router).toBe('rules');
  expect(result.fallback_reason).toMatch(/^timeout/);
});

test('an endpoint that is not a URL is a configuration error', () => {
  expect(
    () => new AzureOpenAiClient({ endpoint: 'acme', deployment: 'd', apiVersion: 'v', apiKey: 'k' }),
  ).toThrow(/AZURE_OPENAI_ENDPOINT/);
});
