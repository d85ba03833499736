/**
 * Issue 12, item 4: an LLM reply is read with a byte cap. A local server streams a reply that
 * never ends (honouring backpressure, so it writes only what the client reads plus socket
 * buffers); every LLM client must stop reading past the cap, drop the connection and fail as
 * `reply_too_large`, and the router must then decide by the rules with that reason.
 */
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { BedrockLlmClient } from '../../shared/adapters/aws/bedrock-client';
import { AzureOpenAiClient } from '../../shared/adapters/azure/azure-openai-client';
import { VertexGeminiClient } from '../../shared/adapters/gcp/vertex-client';
import { LocalBus } from '../../shared/adapters/local/local-bus';
import { MemoryStateStore } from '../../shared/adapters/local/memory-store';
import { DEFAULT_MAX_REPLY_BYTES } from '../../shared/adapters/openai/bounded-body';
import { OpenAiCompatibleClient, openAiCompatibleClient } from '../../shared/adapters/openai/openai-client';
import { loadConfig } from '../../shared/core/config';
import { Coordinator } from '../../shared/core/coordinator/coordinator';
import { RouterError } from '../../shared/core/errors';
import type { AgentView, LlmClient, LlmRequest, RoutingRequest } from '../../shared/core/ports';
import { DECISION_TOOL, SYSTEM_PROMPT } from '../../shared/core/routing/prompt';
import { llmRouter } from '../../shared/runtime/routers';

interface EndlessServer {
  url: string;
  /** Bytes the server managed to hand to the socket, over all requests. */
  written(): number;
  /** Resolves when the client has dropped the connection of every request so far. */
  allDropped(): Promise<void>;
  requests: number;
  close(): Promise<void>;
}

const CHUNK = Buffer.alloc(16 * 1024, 'a');

/** Answers every request with 200 and a JSON body that never ends. */
async function startEndlessServer(): Promise<EndlessServer> {
  let written = 0;
  const drops: Array<Promise<void>> = [];
  const state = { requests: 0 };
  const server = http.createServer((req, res) => {
    state.requests += 1;
    req.resume();
    let open = true;
    drops.push(new Promise<void>((resolve) => res.on('close', () => ((open = false), resolve()))));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"choices":[{"message":{"content":"');
    const pump = () => {
      while (open) {
        written += CHUNK.byteLength;
        if (!res.write(CHUNK)) {
          res.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    written: () => written,
    allDropped: async () => {
      await Promise.all(drops);
    },
    get requests() {
      return state.requests;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A fetch that counts the bytes the client actually pulls from each response body. */
function countingFetch(): { fetch: typeof fetch; bytesRead: () => number } {
  let read = 0;
  const wrapped: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    if (!res.body) return res;
    const counted = res.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          read += chunk.byteLength;
          controller.enqueue(chunk);
        },
      }),
    );
    return new Response(counted, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
  return { fetch: wrapped, bytesRead: () => read };
}

const llmRequest: LlmRequest = {
  system: SYSTEM_PROMPT,
  prompt: 'route this',
  tool: DECISION_TOOL,
  maxOutputTokens: 256,
};

const agent = (agent_id: string): AgentView => ({
  agent_id,
  capabilities: ['nutrition_analysis'],
  status: 'available',
  active_tasks: 0,
  max_concurrent_tasks: 2,
});
// Two free capable agents: the fast path cannot decide, the LLM is asked.
const routing: RoutingRequest = {
  task: {
    task_id: 't-1',
    task_type: 'nutrition_analysis',
    task_data: {},
    priority: 'medium',
    required_capabilities: [],
    requested_by: 'requester',
    failed_agents: [],
  },
  agents: [agent('npa-1'), agent('npa-2')],
};

/** What a client's failure on the endless reply looks like. */
async function failure(client: LlmClient): Promise<RouterError> {
  // A safety net only: without the cap the call would read until this fires.
  const err = await client.complete(llmRequest, AbortSignal.timeout(20_000)).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RouterError);
  return err as RouterError;
}

// Generous: the cap plus socket and stream buffers. An uncapped reader gets far past it (the
// server writes as fast as the client reads, until the coordination timeout).
const SLACK = 4 * 1024 * 1024;

let server: EndlessServer;
beforeEach(async () => {
  server = await startEndlessServer();
});
afterEach(() => server.close());

test('OpenAI-compatible: the reply is cut at the cap, the connection dropped, the failure says reply_too_large', async () => {
  const counting = countingFetch();
  const client = new OpenAiCompatibleClient({
    url: `${server.url}/v1/chat/completions`,
    model: 'm',
    fetch: counting.fetch,
    maxRetries: 0,
  });
  const err = await failure(client);
  expect(err.reason).toBe('invalid_output');
  expect(err.retryable).toBe(false);
  expect(err.message).toContain('reply_too_large');
  expect(counting.bytesRead()).toBeGreaterThan(DEFAULT_MAX_REPLY_BYTES);
  expect(counting.bytesRead()).toBeLessThanOrEqual(DEFAULT_MAX_REPLY_BYTES + CHUNK.byteLength * 4);
  await server.allDropped();
  expect(server.written()).toBeLessThan(DEFAULT_MAX_REPLY_BYTES + SLACK);
});

test('the cap is an option: a smaller one cuts earlier', async () => {
  const counting = countingFetch();
  const client = new OpenAiCompatibleClient({
    url: `${server.url}/v1/chat/completions`,
    fetch: counting.fetch,
    maxReplyBytes: 32 * 1024,
    maxRetries: 0,
  });
  expect((await failure(client)).message).toContain('reply_too_large');
  expect(counting.bytesRead()).toBeLessThanOrEqual(32 * 1024 + CHUNK.byteLength * 4);
});

test('Azure OpenAI: the same cap (it shares the OpenAI wire client)', async () => {
  const counting = countingFetch();
  const client = new AzureOpenAiClient({
    endpoint: server.url,
    deployment: 'gpt-4o-mini',
    apiVersion: '2024-10-21',
    apiKey: 'k',
    fetch: counting.fetch,
    maxRetries: 0,
  });
  expect((await failure(client)).message).toContain('reply_too_large');
  expect(counting.bytesRead()).toBeLessThanOrEqual(DEFAULT_MAX_REPLY_BYTES + CHUNK.byteLength * 4);
});

test('Vertex AI: the same cap', async () => {
  const counting = countingFetch();
  const client = new VertexGeminiClient({
    project: 'demo',
    location: 'europe-west4',
    model: 'gemini-2.0-flash',
    endpoint: server.url,
    fetch: counting.fetch,
    maxRetries: 0,
  });
  const err = await failure(client);
  expect(err.message).toContain('reply_too_large');
  expect(counting.bytesRead()).toBeLessThanOrEqual(DEFAULT_MAX_REPLY_BYTES + CHUNK.byteLength * 4);
});

test('Bedrock (SDK): a middleware bounds the body the SDK would collect whole; the router falls back to the rules', async () => {
  const sdk = new BedrockRuntimeClient({
    endpoint: server.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler(),
  });
  try {
    const client = new BedrockLlmClient({ modelId: 'anthropic.claude-3-5-haiku-20241022-v1:0', client: sdk });
    const err = await failure(client);
    expect(err.reason).toBe('invalid_output');
    expect(err.message).toContain('reply_too_large');
    await server.allDropped();
    expect(server.written()).toBeLessThan(DEFAULT_MAX_REPLY_BYTES + SLACK);

    const router = llmRouter(client, loadConfig({ ROUTER: 'bedrock', COORDINATION_TIMEOUT: '3' }));
    const result = await router.decide(routing);
    expect(result.router).toBe('rules');
    expect(result.fallback_reason).toContain('reply_too_large');
    expect(result.decision.target_agents).toHaveLength(1);
  } finally {
    sdk.destroy();
  }
});

test('Vertex and Azure behind the router: rules decide, the reason is recorded', async () => {
  for (const client of [
    new VertexGeminiClient({ project: 'p', location: 'l', model: 'g', endpoint: server.url, maxRetries: 0 }),
    new AzureOpenAiClient({ endpoint: server.url, deployment: 'd', apiVersion: 'v', apiKey: 'k' }),
  ]) {
    const router = llmRouter(client, loadConfig({ ROUTER: 'openai', COORDINATION_TIMEOUT: '3' }));
    const result = await router.decide(routing);
    expect(result.router).toBe('rules');
    expect(result.fallback_reason).toContain('reply_too_large');
  }
});

test('the coordinator: an endless reply ends in a rules assignment recorded with the fallback reason', async () => {
  const config = loadConfig({ ROUTER: 'openai', COORDINATION_TIMEOUT: '3' });
  const router = llmRouter(openAiCompatibleClient(`${server.url}/v1`, 'm'), config);
  const bus = new LocalBus();
  const store = new MemoryStateStore();
  const coordinator = new Coordinator({ store, bus, router });
  for (const id of ['npa-1', 'npa-2']) {
    const [o] = await coordinator.handle({
      type: 'agent_state_change',
      agent_id: id,
      new_state: 'available',
      capabilities: ['nutrition_analysis'],
    });
    expect(o?.status).toBe('done');
  }
  const [outcome] = await coordinator.handle({
    type: 'coordination_request',
    task_id: 'big-reply-1',
    task_type: 'nutrition_analysis',
  });
  expect(outcome?.status).toBe('done');
  const task = await store.getTask('big-reply-1');
  expect(task?.status).toBe('assigned');
  expect(task?.decision?.router).toBe('rules');
  expect(task?.decision?.fallback_reason).toContain('reply_too_large');
  expect(server.requests).toBeGreaterThan(0);
  await server.allDropped();
  expect(server.written()).toBeLessThan(server.requests * (DEFAULT_MAX_REPLY_BYTES + SLACK));
});
