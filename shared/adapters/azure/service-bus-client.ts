/**
 * The Service Bus client the bus's and the rejections' senders come from: from a connection
 * string, or from the namespace with an Entra ID credential (a managed identity keeps keys out of
 * app settings). A module of its own, required when the runtime makes the client, so that the
 * Function App's bundle keeps @azure/service-bus and its AMQP stack in a chunk
 * (scripts/lambda-chunks.cjs) and its module init never loads them.
 */
import type { TokenCredential } from '@azure/core-auth';
import { ServiceBusClient } from '@azure/service-bus';

export type ServiceBusAccess =
  { connectionString: string } | { namespace: string; credential: () => TokenCredential };

export function serviceBusClient(access: ServiceBusAccess): ServiceBusClient {
  return 'connectionString' in access
    ? new ServiceBusClient(access.connectionString)
    : new ServiceBusClient(access.namespace, access.credential());
}
