/**
 * Composition root of the local runtime: the embedded LevelDB store (or memory), the local bus,
 * the rules router or an OpenAI-compatible one, the HTTP API. Built once per process.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as z from 'zod';
import { Coordinator } from '../core/coordinator/coordinator';
import { ConfigError } from '../core/errors';
import { type Config } from '../core/config';
import { AgentStatus } from '../core/model';
import { type Logger, type Router, type StateStore } from '../core/ports';
import { type HttpApi } from '../http/api';
import { LevelStateStore } from '../adapters/local/level-store';
import { LocalBus } from '../adapters/local/local-bus';
import { MemoryStateStore } from '../adapters/local/memory-store';
import { openAiCompatibleClient } from '../adapters/openai/openai-client';
import { coordinatorFor, httpApiFor, runtimeBase, type CoreOverrides } from './compose';
import { routerFor } from './routers';

export interface LocalRuntime {
  config: Config;
  coordinator: Coordinator;
  store: StateStore;
  bus: LocalBus;
  router: Router;
  api: HttpApi;
  logger: Logger;
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
    overrides.store ??
    (config.STORE === 'memory'
      ? new MemoryStateStore()
      : await LevelStateStore.open(path.resolve(config.DATA_DIR, 'state')));
  const bus =
    overrides.bus ??
    (config.STORE === 'level'
      ? new LocalBus(10_000, path.resolve(config.DATA_DIR, 'assignments.jsonl'))
      : new LocalBus());
  const client =
    overrides.llmClient ??
    (config.ROUTER === 'openai'
      ? openAiCompatibleClient(config.OPENAI_BASE_URL, config.OPENAI_MODEL, config.OPENAI_API_KEY)
      : undefined);
  const router = overrides.router ?? routerFor(config, client, clock, logger);
  const coordinator = coordinatorFor({ ...base, store, bus, router });
  const api = httpApiFor(base, coordinator, 'local.http', bus);
  if (config.AGENTS_FILE) await registerAgentsFile(coordinator, config.AGENTS_FILE);
  return {
    config,
    coordinator,
    store,
    bus,
    router,
    api,
    logger,
    close: async () => {
      await store.close?.();
    },
  };
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
  let parsed: z.infer<typeof AgentsFile>;
  try {
    parsed = AgentsFile.parse(JSON.parse(await readFile(file, 'utf8')));
  } catch (err) {
    throw new ConfigError(`AGENTS_FILE ${file}: ${(err as Error).message}`, { cause: err });
  }
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
