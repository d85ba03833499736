#!/usr/bin/env node
/**
 * An example agent that speaks A2A, written with the official SDK (`@a2a-js/sdk`, installed by
 * `npm ci` as a devDependency). It serves its Agent Card at `/.well-known/agent-card.json` and
 * JSON-RPC at `/a2a/jsonrpc`; every task it gets finishes with one JSON artifact (a plan that
 * echoes the task), and it pushes task updates to the URL the client gives.
 *
 *   node examples/a2a-agent.mjs --port 9301 --name "Recipe Agent" --skill meal_planning
 *
 * Options: --port (default 9301), --name, --skill (repeatable; also the skill's tag),
 * --ask (ask for input instead of finishing: shows the coordinator's input-required path).
 * See docs/a2a.md.
 */
import { parseArgs } from 'node:util';
import express from 'express';
import { AgentCard, TaskState } from '@a2a-js/sdk';
import {
  AgentEvent,
  DefaultPushNotificationSender,
  DefaultRequestHandler,
  InMemoryPushNotificationStore,
  InMemoryTaskStore,
} from '@a2a-js/sdk/server';
import { agentCardHandler, jsonRpcHandler, UserBuilder } from '@a2a-js/sdk/server/express';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '9301' },
    host: { type: 'string', default: '127.0.0.1' },
    name: { type: 'string', default: 'Example A2A Agent' },
    skill: { type: 'string', multiple: true, default: ['meal_planning'] },
    ask: { type: 'boolean', default: false },
  },
});
const base = `http://${values.host}:${values.port}`;

// The card as it goes on the wire (A2A v1.0 JSON).
const card = {
  name: values.name,
  description: `An example agent (${values.skill.join(', ')}) for agent-coordinator`,
  version: '1.0.0',
  supportedInterfaces: [{ url: `${base}/a2a/jsonrpc`, protocolBinding: 'JSONRPC', protocolVersion: '1.0' }],
  capabilities: { pushNotifications: true, streaming: false },
  defaultInputModes: ['application/json', 'text/plain'],
  defaultOutputModes: ['application/json'],
  skills: values.skill.map((id) => ({ id, name: id, description: `does ${id}`, tags: [id] })),
};

const text = (value) => ({
  content: { $case: 'text', value },
  metadata: undefined,
  filename: '',
  mediaType: 'text/plain',
});
const data = (value) => ({
  content: { $case: 'data', value },
  metadata: undefined,
  filename: '',
  mediaType: 'application/json',
});

const executor = {
  async execute(ctx, bus) {
    const input = ctx.userMessage.parts.find((p) => p.content?.$case === 'data')?.content.value ?? {};
    const status = (state, message) => ({
      state,
      message: message && {
        messageId: `${ctx.taskId}-status`,
        contextId: ctx.contextId,
        taskId: ctx.taskId,
        role: 2,
        parts: [text(message)],
        metadata: undefined,
        extensions: [],
        referenceTaskIds: [],
      },
      timestamp: new Date().toISOString(),
    });
    const update = (state, message) =>
      bus.publish(
        AgentEvent.statusUpdate({
          taskId: ctx.taskId,
          contextId: ctx.contextId,
          status: status(state, message),
          metadata: undefined,
        }),
      );
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
    console.log(`task ${ctx.taskId} for coordinator task ${ctx.contextId}: ${input.task_type}`);
    update(TaskState.TASK_STATE_WORKING);
    if (values.ask) {
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
              data({
                plan: `a plan for ${input.task_type}`,
                request: input.task_data ?? null,
                by: values.name,
              }),
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
  async cancelTask() {},
};

const pushes = new InMemoryPushNotificationStore();
const handler = new DefaultRequestHandler(
  AgentCard.fromJSON(card),
  new InMemoryTaskStore(),
  executor,
  undefined,
  pushes,
  new DefaultPushNotificationSender(pushes),
);
const app = express();
app.use(
  '/.well-known/agent-card.json',
  agentCardHandler({ agentCardProvider: async () => card, cache: { maxAge: 0 } }),
);
app.use(
  '/a2a/jsonrpc',
  jsonRpcHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication }),
);
app.listen(Number(values.port), values.host, () => {
  console.log(`${values.name}: card at ${base}/.well-known/agent-card.json`);
});
