/**
 * Composition root of the Azure Function App: Cosmos DB store, Service Bus topic bus, the
 * rules router or Azure OpenAI behind the core's guard rails, the HTTP API. Built once per cold
 * start (`getAzureRuntime`, on the first invocation) and shared by every function of the app;
 * every client is injectable.
 *
 * Each Azure SDK comes with the adapter module that makes its client, required when the runtime
 * makes that client and only when the configuration uses it (none that an override replaces;
 * @azure/identity only without a key or connection string): the Function App's bundle holds
 * those modules in chunks beside index.js (scripts/build.mjs), so its module init compiles and
 * runs none of the SDKs.
 */
import type { TokenCredential } from '@azure/core-auth';
import type { ContainerClient } from '@azure/storage-blob';
import type { Container, CosmosClientOptions } from '@azure/cosmos';
import type { ServiceBusClient } from '@azure/service-bus';
import { Coordinator } from '../core/coordinator/coordinator';
import { ConfigError } from '../core/errors';
import { type Config } from '../core/config';
import {
  type EventBus,
  type LlmClient,
  type Logger,
  type PayloadStore,
  type Router,
  type StateStore,
} from '../core/ports';
import { type HttpApi } from '../http/api';
import { AzureOpenAiClient } from '../adapters/azure/azure-openai-client';
import { CosmosStateStore } from '../adapters/azure/cosmos-store';
import {
  ServiceBusEventBus,
  ServiceBusRejections,
  type BatchSender,
  type MessageSender,
  type Rejections,
} from '../adapters/azure/service-bus-bus';
import { openAiCompatibleClient } from '../adapters/openai/openai-client';
import {
  coordinatorFor,
  httpApiFor,
  instrumentedLlmClient,
  runtimeBase,
  type CoreOverrides,
} from './compose';
import { azurePayloadStore } from './payloads';
import { routerFor } from './routers';

export interface AzureRuntime {
  config: Config;
  coordinator: Coordinator;
  store: StateStore;
  bus: EventBus;
  router: Router;
  rejections: Rejections;
  api: HttpApi;
  logger: Logger;
  /** The claim-check store (Blob Storage, `PAYLOAD_BUCKET`); built on first use. None without one. */
  payloads?: PayloadStore;
  close(): Promise<void>;
}

export interface AzureRuntimeOverrides extends CoreOverrides {
  /** A Cosmos container to build the store on (instead of COSMOS_ENDPOINT/COSMOS_KEY). */
  container?: Container;
  /** The identity for Cosmos DB and Service Bus when no key is configured (default: DefaultAzureCredential). */
  credential?: TokenCredential;
  /** Extra Cosmos client options (an HTTPS agent, a proxy, connection policy). */
  cosmosClientOptions?: Partial<CosmosClientOptions>;
  /** Sender on the assignments topic (instead of SERVICE_BUS_CONNECTION). */
  sender?: BatchSender;
  /** Sender on the rejected-messages queue. */
  rejectedSender?: MessageSender;
  /** The Blob container for claim-checked payloads (instead of PAYLOAD_BUCKET). */
  payloadContainer?: ContainerClient;
}

export function createAzureRuntime(
  env: Record<string, string | undefined> = process.env,
  overrides: AzureRuntimeOverrides = {},
): AzureRuntime {
  const base = runtimeBase(env, overrides, 'azure', ['rules', 'azure-openai', 'openai']);
  const { config, clock, logger } = base;
  const closers: Array<() => Promise<void>> = [];
  let identity: TokenCredential | undefined = overrides.credential;
  const credential = () =>
    (identity ??= (
      require('../adapters/azure/default-credential') as typeof import('../adapters/azure/default-credential')
    ).defaultCredential());

  const store =
    overrides.store ??
    new CosmosStateStore(
      overrides.container ?? cosmosContainer(config, closers, credential, overrides.cosmosClientOptions),
      { clock },
    );
  let serviceBus: ServiceBusClient | undefined;
  const serviceBusClient = () => {
    if (!serviceBus) {
      // A managed identity (SERVICE_BUS_NAMESPACE) keeps keys out of app settings; a
      // connection string still works for local development.
      const connectionString = config.SERVICE_BUS_CONNECTION;
      const namespace = config.SERVICE_BUS_NAMESPACE;
      if (!connectionString && !namespace) {
        throw new ConfigError(
          'SERVICE_BUS_NAMESPACE (managed identity) or SERVICE_BUS_CONNECTION (connection string) is required',
        );
      }
      const { serviceBusClient: make } =
        require('../adapters/azure/service-bus-client') as typeof import('../adapters/azure/service-bus-client');
      const client = make(connectionString ? { connectionString } : { namespace: namespace!, credential });
      serviceBus = client;
      closers.push(() => client.close());
    }
    return serviceBus;
  };
  const bus =
    overrides.bus ??
    new ServiceBusEventBus(overrides.sender ?? serviceBusClient().createSender(config.SERVICE_BUS_TOPIC));
  const rejectedQueue = config.SERVICE_BUS_REJECTED_QUEUE;
  const rejections = new ServiceBusRejections(
    overrides.rejectedSender ?? serviceBusClient().createSender(rejectedQueue),
    rejectedQueue,
  );

  const client = instrumentedLlmClient(overrides.llmClient ?? llmClientFor(config), base.telemetry);
  const router = overrides.router ?? routerFor(config, client, clock, logger);
  const payloads = azurePayloadStore(config, env, credential, overrides.payloadContainer);
  const coordinator = coordinatorFor({ ...base, store, bus, router, ...(payloads ? { payloads } : {}) });
  const api = httpApiFor(base, coordinator, 'azure.http');
  return {
    config,
    coordinator,
    store,
    bus,
    router,
    rejections,
    api,
    logger,
    ...(payloads ? { payloads } : {}),
    close: async () => {
      for (const close of closers.reverse()) await close();
    },
  };
}

function cosmosContainer(
  config: Config,
  closers: Array<() => Promise<void>>,
  credential: () => TokenCredential,
  extra: Partial<CosmosClientOptions> = {},
): Container {
  if (!config.COSMOS_ENDPOINT) {
    throw new ConfigError('COSMOS_ENDPOINT is required (the Cosmos DB account endpoint)');
  }
  const { cosmosContainer: make } =
    require('../adapters/azure/cosmos-client') as typeof import('../adapters/azure/cosmos-client');
  const { container, dispose } = make({
    endpoint: config.COSMOS_ENDPOINT,
    // Without COSMOS_KEY, Entra ID with the managed identity (data-plane RBAC, no account key).
    ...(config.COSMOS_KEY ? { key: config.COSMOS_KEY } : {}),
    credential,
    database: config.COSMOS_DATABASE,
    container: config.COSMOS_CONTAINER,
    clientOptions: extra,
  });
  closers.push(async () => dispose());
  return container;
}

function llmClientFor(config: Config): LlmClient | undefined {
  switch (config.ROUTER) {
    case 'rules':
      return undefined;
    case 'azure-openai':
      if (!config.AZURE_OPENAI_ENDPOINT || !config.AZURE_OPENAI_API_KEY) {
        throw new ConfigError('ROUTER=azure-openai needs AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY');
      }
      return new AzureOpenAiClient({
        endpoint: config.AZURE_OPENAI_ENDPOINT,
        deployment: config.AZURE_OPENAI_DEPLOYMENT,
        apiVersion: config.AZURE_OPENAI_API_VERSION,
        apiKey: config.AZURE_OPENAI_API_KEY,
      });
    case 'openai':
      return openAiCompatibleClient(config.OPENAI_BASE_URL, config.OPENAI_MODEL, config.OPENAI_API_KEY);
    default:
      throw new ConfigError(
        `ROUTER=${config.ROUTER} is not available on Azure; use rules, azure-openai or openai`,
      );
  }
}

let cached: AzureRuntime | undefined;

/** The runtime of this Function App instance, built on first use (once per cold start). */
export function getAzureRuntime(): AzureRuntime {
  cached ??= createAzureRuntime();
  return cached;
}

/** For tests: forget the cached runtime. */
export function resetAzureRuntime(): void {
  cached = undefined;
}
