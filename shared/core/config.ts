/**
 * Configuration from environment variables, parsed and validated in one place. Every
 * runtime (local, AWS, Azure, GCP) reads its settings from here; see README "Configuration".
 * Invalid settings fail the cold start with a `ConfigError` naming the variable.
 */
import * as z from 'zod';
import { ConfigError } from './errors';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const num = (min: number, max: number) => z.coerce.number().min(min).max(max);
const list = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);

export const ConfigSchema = z.object({
  // --- core behaviour
  ROUTER: z.enum(['rules', 'openai', 'bedrock', 'azure-openai', 'vertex']).default('rules'),
  COORDINATION_TIMEOUT: num(0.1, 300).default(10),
  AGENT_HEARTBEAT_TTL: int(1, 86_400 * 30).default(300),
  MAX_TASK_ATTEMPTS: int(1, 100).default(3),
  DEFAULT_TASK_DURATION: num(0.01, 7 * 24 * 60).default(30),
  DEFAULT_MAX_CONCURRENT_TASKS: int(1, 1000).default(3),
  RECORD_TTL_DAYS: int(1, 3650).default(30),
  MAX_MESSAGE_BYTES: int(1024, 10 * 1024 * 1024).default(256 * 1024),
  AGENTS_SOURCE: z.string().min(1).default('agent-coordinator.agents'),
  COORDINATION_SOURCE: z.string().min(1).default('agent-coordinator.coordination'),
  FAST_PATH: bool.default(true),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  SENSITIVE_FIELDS: list.default(['password', 'token', 'secret', 'api_key', 'authorization', 'ssn']),
  // --- LLM guard rails
  LLM_CIRCUIT_FAILURES: int(1, 1000).default(5),
  LLM_CIRCUIT_COOLDOWN: num(0.1, 3600).default(30),
  LLM_BUDGET_CALLS_PER_MINUTE: int(0, 1_000_000).default(0),
  LLM_BUDGET_TOKENS_PER_MINUTE: int(0, 100_000_000).default(0),
  LLM_MAX_OUTPUT_TOKENS: int(64, 32_000).default(1024),
  LLM_BATCH_SIZE: int(1, 50).default(10),
  /** A router may lower or keep a request's priority; raising it needs this (a prompt could ask for it). */
  ROUTER_MAY_RAISE_PRIORITY: bool.default(false),
  /** Minutes a task may wait for its dependencies before it fails. */
  DEPENDENCY_TIMEOUT: num(1, 30 * 24 * 60).default(24 * 60),
  /** Commits of a queued task's assignment that may fail for good before the task is failed. */
  MAX_COMMIT_FAILURES: int(1, 100).default(3),
  IN_BATCH_CONCURRENCY: int(1, 100).default(10),
  /** Seconds a coordinator instance may route on its snapshot of the registry (0: read it per batch). */
  REGISTRY_SNAPSHOT_TTL: num(0, 60).default(0),
  // --- claim check: task data above the threshold is kept in a payload bucket, not on the bus
  /** S3 bucket (AWS), Blob container (Azure) or directory (local) for large task data; none: no claim check. */
  PAYLOAD_BUCKET: z.string().min(1).optional(),
  /** Bytes of task data (as JSON) above which it is claim-checked when PAYLOAD_BUCKET is set. */
  CLAIM_CHECK_BYTES: int(1024, 100 * 1024 * 1024).default(192 * 1024),
  // --- OpenAI-compatible router (Ollama, vLLM, OpenAI, ...)
  OPENAI_BASE_URL: z.url().default('http://127.0.0.1:11434/v1'),
  OPENAI_MODEL: z.string().default('llama3.1'),
  OPENAI_API_KEY: z.string().optional(),
  // --- A2A agents (registered from an Agent Card, see docs/a2a.md)
  /** Plain `http://` card and interface URLs beyond loopback (HTTPS or loopback only otherwise). */
  A2A_ALLOW_INSECURE_URLS: bool.default(false),
  /** Which skill fields become capabilities: `ids`, `tags`, or both. */
  A2A_SKILL_MAPPING: list.pipe(z.array(z.enum(['ids', 'tags'])).min(1)).default(['ids', 'tags']),
  /** JSON object from agent id to the secret its card's security scheme asks for. Never logged. */
  A2A_SECRETS: z.string().optional(),
  /** Where A2A agents push task updates (this coordinator's `/a2a/notifications`); none: polling only. */
  A2A_NOTIFICATION_URL: z.url().optional(),
  /** Seconds an Agent Card fetch or an A2A call may take. */
  A2A_TIMEOUT: num(0.1, 120).default(10),
  A2A_CARD_MAX_BYTES: int(1024, 10 * 1024 * 1024).default(64 * 1024),
  /** Seconds a fetched card is trusted before a heartbeat fetches it again. */
  A2A_CARD_REFRESH: int(0, 86_400 * 7).default(300),
  // --- local runtime
  PORT: int(0, 65535).default(8787),
  HOST: z.string().default('127.0.0.1'),
  DATA_DIR: z.string().default('./.coordinator-data'),
  STORE: z.enum(['level', 'memory']).default('level'),
  AGENTS_FILE: z.string().optional(),
  AUTH_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  RATE_LIMIT_PER_MINUTE: int(0, 1_000_000).default(6000),
  /** Seconds between the local runtime's own sweeps (the cloud runtimes use a schedule); 0 = none. */
  SWEEP_INTERVAL: int(0, 86_400).default(60),
  // --- AWS
  AWS_REGION: z.string().default('us-east-1'),
  BEDROCK_MODEL_ID: z.string().default('anthropic.claude-3-5-haiku-20241022-v1:0'),
  TABLE_NAME: z.string().default('agent-coordinator'),
  EVENT_BUS_NAME: z.string().default('agent-coordinator'),
  /** When set, assignments also go to the agent's own queue: `{agent_id}` is replaced. */
  AGENT_QUEUE_URL_TEMPLATE: z.string().optional(),
  // --- Azure
  AZURE_OPENAI_ENDPOINT: z.string().optional(),
  AZURE_OPENAI_DEPLOYMENT: z.string().default('gpt-4o-mini'),
  AZURE_OPENAI_API_VERSION: z.string().default('2024-10-21'),
  AZURE_OPENAI_API_KEY: z.string().optional(),
  COSMOS_ENDPOINT: z.string().optional(),
  COSMOS_KEY: z.string().optional(),
  COSMOS_DATABASE: z.string().default('agent-coordinator'),
  COSMOS_CONTAINER: z.string().default('state'),
  SERVICE_BUS_CONNECTION: z.string().optional(),
  /** Fully qualified namespace (`x.servicebus.windows.net`): connect with the managed identity. */
  SERVICE_BUS_NAMESPACE: z.string().optional(),
  SERVICE_BUS_TOPIC: z.string().default('agent-coordination'),
  /** Where permanently bad inbound messages go, with their reason (see docs/azure.md). */
  SERVICE_BUS_REJECTED_QUEUE: z.string().default('coordinator-rejected'),
  // --- GCP
  GCP_PROJECT: z.string().optional(),
  VERTEX_LOCATION: z.string().default('us-central1'),
  VERTEX_MODEL: z.string().default('gemini-2.0-flash'),
  VERTEX_ENDPOINT: z.string().optional(),
  FIRESTORE_AGENTS_COLLECTION: z.string().default('agents'),
  FIRESTORE_TASKS_COLLECTION: z.string().default('tasks'),
  PUBSUB_ASSIGNMENTS_TOPIC: z.string().default('agent-assignments'),
});

export type Config = z.infer<typeof ConfigSchema>;

/** Parses the environment (or any record of strings). Empty strings count as unset. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const cleaned: Record<string, string> = {};
  for (const key of Object.keys(ConfigSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value.trim() !== '') cleaned[key] = value.trim();
  }
  const parsed = ConfigSchema.safeParse(cleaned);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${problems}`);
  }
  return parsed.data;
}

/** Settings the coordinator core itself uses, in the units it works in. */
export interface CoreSettings {
  heartbeatTtlMs: number;
  maxAttempts: number;
  defaultTaskDurationMs: number;
  defaultMaxConcurrentTasks: number;
  recordTtlSeconds: number;
  agentsSource: string;
  coordinationSource: string;
  fastPath: boolean;
  llmBatchSize: number;
  maxMessageBytes: number;
  routerMayRaisePriority: boolean;
  dependencyTimeoutMs: number;
  maxCommitFailures: number;
  claimCheckBytes: number;
  registrySnapshotMs: number;
  /** Tasks of one delivered batch that go through the store side by side (1: one after another). */
  inBatchConcurrency: number;
}

export function coreSettings(config: Config): CoreSettings {
  return {
    heartbeatTtlMs: config.AGENT_HEARTBEAT_TTL * 1000,
    maxAttempts: config.MAX_TASK_ATTEMPTS,
    defaultTaskDurationMs: config.DEFAULT_TASK_DURATION * 60_000,
    defaultMaxConcurrentTasks: config.DEFAULT_MAX_CONCURRENT_TASKS,
    recordTtlSeconds: config.RECORD_TTL_DAYS * 86_400,
    agentsSource: config.AGENTS_SOURCE,
    coordinationSource: config.COORDINATION_SOURCE,
    fastPath: config.FAST_PATH,
    llmBatchSize: config.LLM_BATCH_SIZE,
    maxMessageBytes: config.MAX_MESSAGE_BYTES,
    routerMayRaisePriority: config.ROUTER_MAY_RAISE_PRIORITY,
    dependencyTimeoutMs: config.DEPENDENCY_TIMEOUT * 60_000,
    maxCommitFailures: config.MAX_COMMIT_FAILURES,
    claimCheckBytes: config.CLAIM_CHECK_BYTES,
    registrySnapshotMs: config.REGISTRY_SNAPSHOT_TTL * 1000,
    inBatchConcurrency: config.IN_BATCH_CONCURRENCY,
  };
}

export const DEFAULT_CORE_SETTINGS: CoreSettings = coreSettings(loadConfig({}));
