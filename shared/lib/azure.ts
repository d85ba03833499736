/** `agent-coordinator/azure`: the Azure runtime (Cosmos DB, Service Bus, Azure OpenAI) for embedding. */
export {
  createAzureRuntime,
  getAzureRuntime,
  resetAzureRuntime,
  type AzureRuntime,
  type AzureRuntimeOverrides,
} from '../runtime/azure';
export { CosmosStateStore, type CosmosStateStoreOptions } from '../adapters/azure/cosmos-store';
export { ServiceBusEventBus, ServiceBusRejections } from '../adapters/azure/service-bus-bus';
export { AzureOpenAiClient, type AzureOpenAiOptions } from '../adapters/azure/azure-openai-client';
