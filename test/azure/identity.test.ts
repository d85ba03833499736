/**
 * Without keys the Azure runtime authenticates as its managed identity: Cosmos DB with an
 * Entra ID token (data-plane RBAC), Service Bus with the namespace and the same credential.
 */
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import https from 'node:https';
import { LocalBus } from '../../shared/adapters/local/local-bus';
import { MemoryStateStore } from '../../shared/adapters/local/memory-store';
import { ServiceBusEventBus } from '../../shared/adapters/azure/service-bus-bus';
import { nullLogger } from '../../shared/core/logger';
import { createAzureRuntime } from '../../shared/runtime/azure';
import { CosmosTestServer } from './support/cosmos-server';
import { selfSignedCert } from './support/tls';

const TOKEN = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.managed-identity.token';

class FakeIdentity implements TokenCredential {
  scopes: string[] = [];
  async getToken(scopes: string | string[]): Promise<AccessToken> {
    this.scopes.push(...(Array.isArray(scopes) ? scopes : [scopes]));
    return { token: TOKEN, expiresOnTimestamp: Date.now() + 3_600_000 };
  }
}

const sender = { sendMessages: async () => undefined, close: async () => undefined };

// The SDK sends bearer tokens only over TLS: the server speaks HTTPS with a throwaway
// certificate, which the client trusts through its HTTPS agent (no verification turned off).
let cosmos: CosmosTestServer;
let agent: https.Agent;
beforeAll(async () => {
  const tls = selfSignedCert();
  cosmos = await new CosmosTestServer({ aadToken: TOKEN, tls }).start();
  agent = new https.Agent({ ca: tls.cert });
});
afterAll(() => cosmos.stop());

test('no COSMOS_KEY: the store talks to Cosmos DB with the identity token, and the key is not needed', async () => {
  const identity = new FakeIdentity();
  const rt = createAzureRuntime(
    { COSMOS_ENDPOINT: cosmos.endpoint, LOG_LEVEL: 'silent' },
    {
      credential: identity,
      cosmosClientOptions: { agent },
      bus: new LocalBus(),
      rejectedSender: sender,
      logger: nullLogger,
    },
  );
  try {
    const [o] = await rt.coordinator.handle({
      type: 'agent_state_change',
      agent_id: 'mi-agent',
      new_state: 'available',
      capabilities: ['x'],
    });
    expect(o).toMatchObject({ status: 'done' });
    expect((await rt.store.getAgent('mi-agent'))?.capabilities).toEqual(['x']);
    expect(
      identity.scopes.some(
        (s) => s.includes('cosmos') || s.includes('documents.azure.com') || s.endsWith('/.default'),
      ),
    ).toBe(true);
  } finally {
    await rt.close();
  }
});

test('a wrong identity token is refused by Cosmos DB: the delivery is retried, not acknowledged', async () => {
  const wrong: TokenCredential = {
    getToken: async () => ({ token: 'not-the-token', expiresOnTimestamp: Date.now() + 3_600_000 }),
  };
  const rt = createAzureRuntime(
    { COSMOS_ENDPOINT: cosmos.endpoint, LOG_LEVEL: 'silent' },
    {
      credential: wrong,
      cosmosClientOptions: { agent },
      bus: new LocalBus(),
      rejectedSender: sender,
      logger: nullLogger,
    },
  );
  try {
    const [o] = await rt.coordinator.handle({ type: 'agent_health_check' });
    expect(o?.status).toBe('retry');
  } finally {
    await rt.close();
  }
});

test('Service Bus: SERVICE_BUS_NAMESPACE connects with the identity; neither setting is a clear configuration error', async () => {
  const identity = new FakeIdentity();
  const rt = createAzureRuntime(
    { SERVICE_BUS_NAMESPACE: 'acoord-sb.servicebus.windows.net', LOG_LEVEL: 'silent' },
    { credential: identity, store: new MemoryStateStore(), logger: nullLogger },
  );
  expect(rt.bus).toBeInstanceOf(ServiceBusEventBus);
  await rt.close();
  expect(() =>
    createAzureRuntime({ LOG_LEVEL: 'silent' }, { store: new MemoryStateStore(), logger: nullLogger }),
  ).toThrow(/SERVICE_BUS_NAMESPACE \(managed identity\) or SERVICE_BUS_CONNECTION/);
});
