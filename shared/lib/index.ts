/**
 * `require('agent-coordinator')`: the coordination core (ports, events, routers, the
 * coordinator) and the local runtime's factories for embedding it in a Node process. No cloud
 * SDK is loaded from here: the cloud runtimes are the `agent-coordinator/aws`, `/azure` and
 * `/gcp` entries, and OpenTelemetry is `agent-coordinator/otel`.
 */
export * from '../core/index';
export {
  createLocalRuntime,
  openLevelStore,
  registerAgentsFile,
  type LocalRuntime,
  type LocalRuntimeOverrides,
} from '../runtime/local';
export { startLocalApp, type LocalApp } from '../runtime/local-main';
export { startLocalServer, type RawHandler, type RunningServer } from '../runtime/local-server';
export {
  coordinatorFor,
  httpApiFor,
  runtimeBase,
  type CoreOverrides,
  type CoreParts,
  type RuntimeBase,
} from '../runtime/compose';
export { llmRouter, routerFor } from '../runtime/routers';
export {
  createHttpApi,
  type ApiRequest,
  type ApiResponse,
  type AssignmentFeed,
  type HttpApi,
  type HttpApiOptions,
} from '../http/api';
export { LevelStateStore, type LevelStoreOptions } from '../adapters/local/level-store';
export { MemoryStateStore } from '../adapters/local/memory-store';
export { LocalBus, type PublishedEvent } from '../adapters/local/local-bus';
export {
  openAiCompatibleClient,
  OpenAiCompatibleClient,
  type OpenAiCompatibleOptions,
} from '../adapters/openai/openai-client';
