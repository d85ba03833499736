/**
 * Composition root of the GCP runtime (Cloud Functions 2nd gen): Firestore store, Pub/Sub
 * assignments topic, the rules router or Gemini on Vertex AI behind the LLM guard rails, the
 * HTTP API. Built once per cold start (`gcpRuntime()`, on the first invocation); every client
 * is injectable.
 *
 * The Google SDKs are loaded here, when the runtime is built, and only those the configuration
 * uses (none that an override replaces; google-auth-library only for ROUTER=vertex): the bundle
 * leaves them external, and loading them from node_modules at module init would cost a cold
 * start ~250 ms of `require` before functions-framework even listens.
 */
import type { Firestore } from '@google-cloud/firestore';
import { Coordinator, type Outcome } from '../core/coordinator/coordinator';
import { type Config } from '../core/config';
import { ConfigError } from '../core/errors';
import type { OutboundEvent } from '../core/model';
import { type EventBus, type LlmClient, type Logger, type Router, type StateStore } from '../core/ports';
import { type HttpApi } from '../http/api';
import { PubSubBus, type PublishTarget } from '../adapters/gcp/pubsub-bus';
import { VertexGeminiClient } from '../adapters/gcp/vertex-client';
import {
  coordinatorFor,
  httpApiFor,
  instrumentedLlmClient,
  runtimeBase,
  type CoreOverrides,
} from './compose';
import { routerFor } from './routers';

export interface GcpRuntime {
  config: Config;
  coordinator: Coordinator;
  store: StateStore;
  bus: EventBus;
  router: Router;
  api: HttpApi;
  logger: Logger;
  /** Publishes a dead-lettered delivery as `Task Rejected` so it is acknowledged, not redelivered forever. */
  reject(outcome: Extract<Outcome, { status: 'dead_letter' }>, input: unknown): Promise<void>;
  close(): Promise<void>;
}

export interface GcpRuntimeOverrides extends CoreOverrides {
  firestore?: Firestore;
  /** Prepended to the Firestore collection names (a namespace per environment or test). */
  collectionPrefix?: string;
  topic?: PublishTarget;
}

export function createGcpRuntime(
  env: Record<string, string | undefined> = process.env,
  overrides: GcpRuntimeOverrides = {},
): GcpRuntime {
  const base = runtimeBase(env, overrides, 'gcp', ['rules', 'vertex']);
  const { config, clock, logger } = base;
  const store = overrides.store ?? firestoreStore(config, overrides);
  const bus = overrides.bus ?? new PubSubBus(overrides.topic ?? assignmentsTopic(config));
  const client = instrumentedLlmClient(
    overrides.llmClient ?? (config.ROUTER === 'vertex' ? vertexClient(config) : undefined),
    base.telemetry,
  );
  const router = overrides.router ?? routerFor(config, client, clock, logger);
  const coordinator = coordinatorFor({ ...base, store, bus, router });
  const api = httpApiFor(base, coordinator, 'gcp.http');
  return {
    config,
    coordinator,
    store,
    bus,
    router,
    api,
    logger,
    reject: async (outcome, input) => {
      logger.warn('message rejected and acknowledged', {
        delivery_id: outcome.id,
        code: outcome.code,
        reason: outcome.reason,
      });
      await bus.publish([rejectionEvent(outcome, input, new Date(clock.now()).toISOString())]);
    },
    close: async () => {
      await store.close?.();
    },
  };
}

/** The Firestore store (the adapter brings @google-cloud/firestore, loaded here). */
function firestoreStore(config: Config, overrides: GcpRuntimeOverrides): StateStore {
  const { FirestoreStateStore } =
    require('../adapters/gcp/firestore-store') as typeof import('../adapters/gcp/firestore-store');
  const projectId = config.GCP_PROJECT;
  const firestore =
    overrides.firestore ??
    new (require('@google-cloud/firestore') as typeof import('@google-cloud/firestore')).Firestore(
      projectId ? { projectId } : {},
    );
  return new FirestoreStateStore({
    firestore,
    agentsCollection: config.FIRESTORE_AGENTS_COLLECTION,
    tasksCollection: config.FIRESTORE_TASKS_COLLECTION,
    ...(overrides.collectionPrefix ? { collectionPrefix: overrides.collectionPrefix } : {}),
  });
}

/** The assignments topic (@google-cloud/pubsub, loaded here). */
function assignmentsTopic(config: Config): PublishTarget {
  const { PubSub } = require('@google-cloud/pubsub') as typeof import('@google-cloud/pubsub');
  const projectId = config.GCP_PROJECT;
  return new PubSub(projectId ? { projectId } : {}).topic(config.PUBSUB_ASSIGNMENTS_TOPIC);
}

function vertexClient(config: Config): LlmClient {
  if (!config.GCP_PROJECT) throw new ConfigError('ROUTER=vertex needs GCP_PROJECT');
  const { GoogleAuth } = require('google-auth-library') as typeof import('google-auth-library');
  const auth = new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/cloud-platform'] });
  return new VertexGeminiClient({
    project: config.GCP_PROJECT,
    location: config.VERTEX_LOCATION,
    model: config.VERTEX_MODEL,
    ...(config.VERTEX_ENDPOINT ? { endpoint: config.VERTEX_ENDPOINT } : {}),
    accessToken: async () => (await auth.getAccessToken()) ?? '',
  });
}

/**
 * The `Task Rejected` event for a message the coordinator can never accept (bad JSON, unknown
 * type, invalid fields, unknown task). It goes to the requester when the message names one.
 * Its id derives from the delivery id, so a redelivered copy publishes the same event id.
 */
export function rejectionEvent(
  outcome: Extract<Outcome, { status: 'dead_letter' }>,
  input: unknown,
  time: string,
): OutboundEvent {
  const message = innerMessage(input);
  const taskId = typeof message?.task_id === 'string' ? message.task_id : outcome.id;
  const requester = typeof message?.agent_id === 'string' ? message.agent_id : undefined;
  return {
    id: `${outcome.id}:message-rejected`,
    type: 'Task Rejected',
    task_id: taskId,
    time,
    ...(requester ? { target_agent: requester } : {}),
    detail: {
      task_id: taskId,
      status: 'rejected',
      code: outcome.code,
      reason: outcome.reason,
      message_id: outcome.id,
      requested_by: requester,
    },
  };
}

/** The contract message inside a Pub/Sub CloudEvent or push body, when it is readable JSON. */
function innerMessage(input: unknown): Record<string, unknown> | undefined {
  const asObject = (v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  const root = asObject(input);
  const message = asObject(asObject(root?.data)?.message) ?? asObject(root?.message);
  try {
    if (typeof message?.data === 'string')
      return asObject(JSON.parse(Buffer.from(message.data, 'base64').toString('utf8')));
  } catch {
    return undefined;
  }
  return root;
}

let cached: Promise<GcpRuntime> | undefined;

/** The runtime of this instance, built on first use (cold start) and reused after. */
export function gcpRuntime(): Promise<GcpRuntime> {
  cached ??= Promise.resolve().then(() => createGcpRuntime());
  cached.catch(() => (cached = undefined));
  return cached;
}

/** Uses `runtime` for this instance instead of building one from the environment (tests). */
export function useGcpRuntime(runtime: GcpRuntime | undefined): void {
  cached = runtime ? Promise.resolve(runtime) : undefined;
}
