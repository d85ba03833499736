/**
 * The Cosmos DB container the store works on: a client for the account endpoint, signed in with
 * the account key or, without one, with an Entra ID credential (data-plane RBAC). A module of its
 * own, required when the runtime makes the client, so that the Function App's bundle keeps
 * @azure/cosmos in a chunk (scripts/lambda-chunks.cjs) and its module init never loads it.
 */
import type { TokenCredential } from '@azure/core-auth';
import { CosmosClient, type Container, type CosmosClientOptions } from '@azure/cosmos';

export interface CosmosContainerOptions {
  endpoint: string;
  /** The account key; without one, `credential` signs in. */
  key?: string;
  credential: () => TokenCredential;
  database: string;
  container: string;
  /** Extra client options (an HTTPS agent, a proxy, connection policy). */
  clientOptions?: Partial<CosmosClientOptions>;
}

/** The container, and the client's disposal for the runtime's `close()`. */
export function cosmosContainer(options: CosmosContainerOptions): { container: Container; dispose(): void } {
  const client = new CosmosClient({
    endpoint: options.endpoint,
    ...(options.key ? { key: options.key } : { aadCredentials: options.credential() }),
    // The SDK waits out 429s itself; keep that inside a Service Bus lock and an HTTP timeout.
    connectionPolicy: {
      retryOptions: {
        maxRetryAttemptCount: 5,
        fixedRetryIntervalInMilliseconds: 0,
        maxWaitTimeInSeconds: 10,
      },
    },
    ...options.clientOptions,
  });
  return {
    container: client.database(options.database).container(options.container),
    dispose: () => client.dispose(),
  };
}
