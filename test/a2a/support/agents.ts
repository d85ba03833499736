/**
 * Real A2A agents for the tests, written with the official SDK (`@a2a-js/sdk`): an express 5 app
 * with `agentCardHandler` at `/.well-known/agent-card.json` and `jsonRpcHandler` (or the
 * HTTP+JSON `restHandler`) behind a `DefaultRequestHandler`, on a free loopback port. Each agent
 * behaves one way: it completes with an artifact, fails, asks for input, answers slowly; or it
 * serves an oversized or a malformed card.
 */
// The SDK's CommonJS build requires `jose` (ESM only), used only to sign and verify cards, which
// these agents do not do. Jest cannot load ESM through require(), so it gets an empty stand-in.
jest.mock('../../../node_modules/@a2a-js/sdk/node_modules/jose/dist/webapi/index.js', () => ({}));

// The SDK's push sender logs every push with console.info / console.error, also when a push is
// still in flight as a test ends; jest then reports "Cannot log after tests are done" and exits
// with 1 although every test passed. Those lines say nothing a test checks, so they are dropped.
for (const level of ['info', 'error'] as const) {
  const original = console[level].bind(console);
  console[level] = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && /push notification/i.test(args[0])) return;
    original(...args);
  };
}

import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { AgentCard, TaskState, type Message } from '@a2a-js/sdk';
import {
  AgentEvent,
  DefaultPushNotificationSender,
  DefaultRequestHandler,
  InMemoryPushNotificationStore,
  InMemoryTaskStore,
  type AgentExecutor,
  type ExecutionEventBus,
  type RequestContext,
} from '@a2a-js/sdk/server';
import { agentCardHandler, jsonRpcHandler, restHandler, UserBuilder } from '@a2a-js/sdk/server/express';

// The SDK logs every push it sends; the tests read what matters from the records.
jest.spyOn(console, 'info').mockImplementation(() => undefined);

export type Behaviour = 'complete' | 'fail' | 'input' | 'slow';

export interface TestAgentOptions {
  behaviour?: Behaviour;
  skills?: Array<{ id: string; tags?: string[] }>;
  push?: boolean;
  binding?: 'JSONRPC' | 'HTTP+JSON';
  /** Requires `Authorization: Bearer <token>` on the A2A interface. */
  bearer?: string;
  /** Serves this instead of the card (a malformed card). */
  cardOverride?: unknown;
  /** Pads the card's description to this many bytes (an oversized card). */
  cardPadding?: number;
  name?: string;
  /** Serves a v0.3 card and speaks v0.3 JSON-RPC (`message/send`), through the SDK's compat layer. */
  v03?: boolean;
  /** Holds the first A2A request (its body read) until `release()`: an agent that answers slowly. */
  holdFirstRequest?: boolean;
}

export interface ReceivedMessage {
  messageId: string;
  contextId: string;
  taskId: string;
  data: unknown;
  authorization?: string;
}

export interface TestAgent {
  url: string;
  cardUrl: string;
  /** Every message the agent's executor received, in order. */
  received: ReceivedMessage[];
  /** For the `slow` agent: lets a held request go on. */
  release(): void;
  /** Serves a different card from now on (a changed card). */
  setSkills(skills: Array<{ id: string; tags?: string[] }>): void;
  close(): Promise<void>;
}

function dataOf(message: Message): unknown {
  const part = message.parts.find((p) => p.content?.$case === 'data');
  return part?.content?.$case === 'data' ? part.content.value : undefined;
}

export async function startTestAgent(options: TestAgentOptions = {}): Promise<TestAgent> {
  const behaviour = options.behaviour ?? 'complete';
  const received: ReceivedMessage[] = [];
  let releaseSlow: () => void = () => undefined;
  const slowGate = new Promise<void>((resolve) => (releaseSlow = resolve));
  const app = express();
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const binding = options.binding ?? 'JSONRPC';
  const interfaceUrl = binding === 'JSONRPC' ? `${base}/a2a/jsonrpc` : `${base}/a2a/rest`;
  let skills = options.skills ?? [{ id: 'nutrition_analysis', tags: ['meal_planning'] }];

  const cardJson = () => ({
    name: options.name ?? `test agent (${behaviour})`,
    description: 'x'.repeat(options.cardPadding ?? 1),
    version: '1.0.0',
    supportedInterfaces: [
      { url: interfaceUrl, protocolBinding: binding, protocolVersion: options.v03 ? '0.3' : '1.0' },
    ],
    capabilities: { pushNotifications: options.push ?? true, streaming: false },
    ...(options.bearer
      ? {
          securitySchemes: { bearer: { httpAuthSecurityScheme: { scheme: 'Bearer' } } },
          securityRequirements: [{ schemes: { bearer: { list: [] } } }],
        }
      : {}),
    defaultInputModes: ['application/json'],
    defaultOutputModes: ['application/json'],
    skills: skills.map((s) => ({ id: s.id, name: s.id, description: s.id, tags: s.tags ?? [] })),
  });

  /** The same card as a v0.3 agent serves it. */
  const v03Card = () => ({
    name: options.name ?? `test agent (${behaviour}, v0.3)`,
    description: 'x',
    version: '1.0.0',
    protocolVersion: '0.3.0',
    url: interfaceUrl,
    preferredTransport: 'JSONRPC',
    capabilities: { pushNotifications: options.push ?? true },
    defaultInputModes: ['application/json'],
    defaultOutputModes: ['application/json'],
    skills: skills.map((s) => ({ id: s.id, name: s.id, description: s.id, tags: s.tags ?? [] })),
  });

  const lastAuthorization: { value?: string } = {};
  const executor: AgentExecutor = {
    async execute(ctx: RequestContext, bus: ExecutionEventBus) {
      const data = dataOf(ctx.userMessage);
      received.push({
        messageId: ctx.userMessage.messageId,
        contextId: ctx.contextId,
        taskId: ctx.taskId,
        data,
        ...(lastAuthorization.value ? { authorization: lastAuthorization.value } : {}),
      });
      const status = (state: TaskState, text?: string) => ({
        state,
        message: text
          ? {
              messageId: `${ctx.taskId}-status`,
              contextId: ctx.contextId,
              taskId: ctx.taskId,
              role: 2,
              parts: [
                {
                  content: { $case: 'text' as const, value: text },
                  metadata: undefined,
                  filename: '',
                  mediaType: 'text/plain',
                },
              ],
              metadata: undefined,
              extensions: [],
              referenceTaskIds: [],
            }
          : undefined,
        timestamp: new Date().toISOString(),
      });
      bus.publish(
        AgentEvent.task({
          id: ctx.taskId,
          contextId: ctx.contextId,
          status: status(TaskState.TASK_STATE_SUBMITTED),
          artifacts: [],
          history: [ctx.userMessage],
          metadata: undefined,
        }),
      );
      if (behaviour === 'slow') await slowGate;
      const update = (state: TaskState, text?: string) =>
        bus.publish(
          AgentEvent.statusUpdate({
            taskId: ctx.taskId,
            contextId: ctx.contextId,
            status: status(state, text),
            metadata: undefined,
          }),
        );
      update(TaskState.TASK_STATE_WORKING);
      if (behaviour === 'fail') {
        update(TaskState.TASK_STATE_FAILED, 'the nutrition database is unreachable');
      } else if (behaviour === 'input') {
        update(TaskState.TASK_STATE_INPUT_REQUIRED, 'Which day should the plan start on?');
      } else {
        bus.publish(
          AgentEvent.artifactUpdate({
            taskId: ctx.taskId,
            contextId: ctx.contextId,
            artifact: {
              artifactId: 'plan',
              name: 'plan',
              description: '',
              parts: [
                {
                  content: { $case: 'data', value: { plan: '7-day high-protein plan', for: data } },
                  metadata: undefined,
                  filename: '',
                  mediaType: 'application/json',
                },
              ],
              metadata: undefined,
              extensions: [],
            },
            append: false,
            lastChunk: true,
            metadata: undefined,
          }),
        );
        update(TaskState.TASK_STATE_COMPLETED);
      }
      bus.finished();
    },
    async cancelTask() {
      return undefined;
    },
  };

  const pushStore = new InMemoryPushNotificationStore();
  const handler = new DefaultRequestHandler(
    AgentCard.fromJSON(cardJson()),
    new InMemoryTaskStore(),
    executor,
    undefined,
    pushStore,
    new DefaultPushNotificationSender(pushStore),
  );
  app.use(
    '/.well-known/agent-card.json',
    agentCardHandler({
      agentCardProvider: async () =>
        (options.cardOverride ?? (options.v03 ? v03Card() : cardJson())) as unknown as ReturnType<
          typeof AgentCard.fromJSON
        >,
      cache: { maxAge: 0 },
    }),
  );
  let held = false;
  const guard: express.RequestHandler = async (req, res, next) => {
    if (options.holdFirstRequest && !held) {
      held = true;
      await slowGate;
    }
    lastAuthorization.value = req.headers.authorization;
    if (options.bearer && req.headers.authorization !== `Bearer ${options.bearer}`) {
      res.status(401).json({ error: 'unauthorized' });
      return;
    }
    next();
  };
  if (binding === 'JSONRPC') {
    app.use(
      '/a2a/jsonrpc',
      // The body is read first, so a request held by the guard is complete when it goes on.
      express.json({ type: ['application/json', 'application/a2a+json'] }),
      guard,
      jsonRpcHandler({
        requestHandler: handler,
        userBuilder: UserBuilder.noAuthentication,
        ...(options.v03 ? { legacyCompat: { enabled: true } } : {}),
      }),
    );
  } else {
    app.use(
      '/a2a/rest',
      guard,
      restHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication }),
    );
  }

  return {
    url: base,
    cardUrl: `${base}/.well-known/agent-card.json`,
    received,
    release: () => releaseSlow(),
    setSkills: (next) => {
      skills = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        releaseSlow();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
