/**
 * Composition root of the local runtime: the embedded LevelDB store (or memory), the local bus,
 * the rules router or an OpenAI-compatible one, the HTTP API. Built once per process.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as z from 'zod';
import { Coordinator } from '../core/coordinator/coordinator';
import { ConfigError, errorMessage, StoreUnavailableError } from '../core/errors';
import { type Config } from '../core/config';
import { AgentStatus } from '../core/model';
import { type Logger, type PayloadStore, type Router, type StateStore } from '../core/ports';
import { type HttpApi } from '../http/api';
import { LevelStateStore } from '../adapters/local/level-store';
import { LocalBus } from '../adapters/local/local-bus';
import { MemoryStateStore } from '../adapters/local/memory-store';
import { openAiCompatibleClient } from '../adapters/openai/openai-client';
import type { A2aParts } from '../adapters/a2a/gateway';
import {
  coordinatorWithA2a,
  httpApiFor,
  instrumentedLlmClient,
  runtimeBase,
  shutdownTelemetry,
  type CoreOverrides,
} from './compose';
import { localPayloadStore } from './payloads';
import { routerFor } from './routers';

export interface LocalRuntime {
  config: Config;
  coordinator: Coordinator;
  store: StateStore;
  bus: LocalBus;
  router: Router;
  api: HttpApi;
  logger: Logger;
  /** The claim-check store (a directory, `PAYLOAD_BUCKET`); built on first use. None without one. */
  payloads?: PayloadStore;
  /** Agents that speak A2A: the server sets the notification URL they push to. */
  a2a: A2aParts;
  close(): Promise<void>;
}

export interface LocalRuntimeOverrides extends Omit<CoreOverrides, 'bus'> {
  /** The local bus is also what `GET /assignments` and the dashboard read. */
  bus?: LocalBus;
}

export async function createLocalRuntime(
  env: Record<string, string | undefined> = process.env,
  overrides: LocalRuntimeOverrides = {},
): Promise<LocalRuntime> {
  const base = runtimeBase(env, overrides, 'local', ['rules', 'openai']);
  const { config, clock, logger } = base;
  const store: StateStore =
    overrides.store ?? (config.STORE === 'memory' ? new MemoryStateStore() : await openLevelStore(config));
  const bus =
    overrides.bus ??
    (config.STORE === 'level'
      ? new LocalBus(10_000, path.resolve(config.DATA_DIR, 'assignments.jsonl'))
      : new LocalBus());
  const client = instrumentedLlmClient(
    overrides.llmClient ??
      (config.ROUTER === 'openai'
        ? openAiCompatibleClient(config.OPENAI_BASE_URL, config.OPENAI_MODEL, config.OPENAI_API_KEY)
        : undefined),
    base.telemetry,
  );
  const router = overrides.router ?? routerFor(config, client, clock, logger);
  // The local bus fans out to A2A agents too: their assignments are also sent to them.
  const payloads = localPayloadStore(config);
  const { coordinator, a2a } = coordinatorWithA2a({
    ...base,
    store,
    bus,
    router,
    ...(payloads ? { payloads } : {}),
  });
  const api = httpApiFor(base, coordinator, 'local.http', bus);
  if (config.AGENTS_FILE) await registerAgentsFile(coordinator, config.AGENTS_FILE);
  return {
    ...(payloads ? { payloads } : {}),
    config,
    coordinator,
    store,
    bus,
    router,
    api,
    logger,
    a2a,
    close: async () => {
      await store.close?.();
      await bus.close();
      await shutdownTelemetry(base.telemetry);
    },
  };
}

/** The embedded store under DATA_DIR; a directory another process holds gets a message that says so. */
export async function openLevelStore(config: Pick<Config, 'DATA_DIR'>): Promise<LevelStateStore> {
  try {
    return await LevelStateStore.open(path.resolve(config.DATA_DIR, 'state'));
  } catch (err) {
    if (!causedBy(err, 'LEVEL_LOCKED')) throw err;
    throw new StoreUnavailableError(
      `DATA_DIR ${config.DATA_DIR} is in use by another coordinator: stop it, or set DATA_DIR to another folder`,
      { cause: err },
    );
  }
}

function causedBy(err: unknown, code: string): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e)
    if (e.code === code) return true;
  return false;
}

const AgentsFile = z.object({
  agents: z.array(
    z.object({
      agent_id: z.string(),
      capabilities: z.array(z.string()),
      status: AgentStatus.default('available'),
      max_concurrent_tasks: z.number().int().positive().optional(),
    }),
  ),
});

/** Pre-registers agents from a JSON file (`{"agents": [...]}`) as Agent State Change events. */
export async function registerAgentsFile(coordinator: Coordinator, file: string): Promise<number> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : errorMessage(err);
    throw new ConfigError(`AGENTS_FILE ${file}: cannot read it: ${reason}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`AGENTS_FILE ${file}: not valid JSON: ${errorMessage(err)}`, { cause: err });
  }
  const result = AgentsFile.safeParse(json);
  if (!result.success) {
    throw new ConfigError(`AGENTS_FILE ${file}: ${describeIssue(json, result.error.issues[0])}`, {
      cause: result.error,
    });
  }
  const parsed = result.data;
  for (const a of parsed.agents) {
    await coordinator.handle(
      {
        type: 'agent_state_change',
        agent_id: a.agent_id,
        new_state: a.status,
        capabilities: a.capabilities,
        ...(a.max_concurrent_tasks ? { max_concurrent_tasks: a.max_concurrent_tasks } : {}),
      },
      { source: 'agents-file', id: `agents-file:${a.agent_id}:${Date.now()}` },
    );
  }
  return parsed.agents.length;
}

/** One line for the first problem: which agent (index and id) and which field, in words. */
function describeIssue(json: unknown, issue: z.core.$ZodIssue | undefined): string {
  if (!issue) return 'invalid';
  const [top, index, ...field] = issue.path;
  if (top !== 'agents') return `${issue.message} (expected {"agents": [...]})`;
  if (typeof index !== 'number') return `"agents": ${issue.message}`;
  const entry = (json as { agents: unknown[] }).agents[index];
  const id = (entry as { agent_id?: unknown } | null)?.agent_id;
  const who = `agent #${index}${typeof id === 'string' ? ` ("${id}")` : ''}`;
  return field.length ? `${who}, field "${field.join('.')}": ${issue.message}` : `${who}: ${issue.message}`;
}
