/**
 * The Blob Storage payload store through the real `@azure/storage-blob` against azurite (its
 * blob service started here on a free loopback port, in memory, with the well-known
 * development account).
 */
import { BlobServiceClient, StorageSharedKeyCredential, type ContainerClient } from '@azure/storage-blob';
import { BlobPayloadStore } from '../../shared/adapters/azure/blob-payload-store';
import { LocalBus } from '../../shared/adapters/local/local-bus';
import { MemoryStateStore } from '../../shared/adapters/local/memory-store';
import { createAzureRuntime } from '../../shared/runtime/azure';
import { StoreUnavailableError } from '../../shared/core/errors';
import { describePayloadStore } from '../support/payload-store.contract';
import { ACCOUNT, ACCOUNT_KEY, startAzurite, type Azurite } from './support/azurite';

let azurite: Azurite;
let service: BlobServiceClient;
let port: number;
beforeAll(async () => {
  azurite = await startAzurite();
  ({ service, port } = azurite);
  await service.getContainerClient('other').create();
});
afterAll(async () => {
  await azurite?.stop();
});

let n = 0;
describePayloadStore('Blob Storage (azurite)', async () => {
  const container: ContainerClient = service.getContainerClient(`payloads-${++n}`);
  const store = new BlobPayloadStore({ container, createContainer: true });
  return {
    store,
    corrupt: async (uri, bytes) => {
      const name = decodeURIComponent(
        new URL(uri).pathname.slice(`/${ACCOUNT}/${container.containerName}/`.length),
      );
      await container.getBlockBlobClient(name).uploadData(bytes);
    },
    missingUri: (sha) => `${container.url}/nobody/${sha}.json`,
    foreignUri: () => `${service.getContainerClient('other').url}/x/${'0'.repeat(64)}.json`,
  };
});

test('the blob carries the content type and the sha-256 as metadata', async () => {
  const container = service.getContainerClient('meta');
  const store = new BlobPayloadStore({ container, createContainer: true });
  const ref = await store.put('a/b', new TextEncoder().encode('{"m":1}'));
  expect(ref.uri.startsWith(`${container.url}/`)).toBe(true);
  const names: string[] = [];
  for await (const blob of container.listBlobsFlat({ includeMetadata: true })) {
    names.push(blob.name);
    expect(blob.properties.contentType).toBe('application/json');
    expect(blob.metadata?.sha256).toBe(ref.sha256);
  }
  expect(names).toEqual([`a%2Fb/${ref.sha256}.json`]);
});

test('an unreachable account is retryable', async () => {
  const dead = new BlobServiceClient(
    `http://127.0.0.1:1/${ACCOUNT}`,
    new StorageSharedKeyCredential(ACCOUNT, ACCOUNT_KEY),
    { retryOptions: { maxTries: 1 } },
  );
  const store = new BlobPayloadStore({ container: dead.getContainerClient('x') });
  await expect(store.put('k', new Uint8Array([123, 125]))).rejects.toBeInstanceOf(StoreUnavailableError);
});

describe('the Azure runtime', () => {
  const overrides = () => ({
    store: new MemoryStateStore(),
    bus: new LocalBus(),
    rejectedSender: { sendMessages: async () => undefined, close: async () => undefined },
  });
  const roundTrip = async (payloads: import('../../shared/core/ports').PayloadStore | undefined) => {
    expect(payloads?.name).toBe('blob');
    const ref = await payloads!.put('runtime-task', new TextEncoder().encode('{"big":true}'));
    expect(Buffer.from(await payloads!.get(ref.uri)).toString()).toBe('{"big":true}');
    return ref;
  };

  test('PAYLOAD_BUCKET as a container name, in the app storage account (AzureWebJobsStorage)', async () => {
    await service.getContainerClient('app-payloads').createIfNotExists();
    const runtime = createAzureRuntime(
      { LOG_LEVEL: 'silent', PAYLOAD_BUCKET: 'app-payloads', AzureWebJobsStorage: azurite.connectionString },
      overrides(),
    );
    const ref = await roundTrip(runtime.payloads);
    expect(ref.uri.startsWith(`http://127.0.0.1:${port}/${ACCOUNT}/app-payloads/`)).toBe(true);
    await runtime.close();
  });

  test('an injected container; and none without PAYLOAD_BUCKET', async () => {
    const container = service.getContainerClient('injected');
    await container.createIfNotExists();
    const runtime = createAzureRuntime(
      { LOG_LEVEL: 'silent' },
      { ...overrides(), payloadContainer: container },
    );
    await roundTrip(runtime.payloads);
    expect(createAzureRuntime({ LOG_LEVEL: 'silent' }, overrides()).payloads).toBeUndefined();
  });

  test('a container name without a storage account fails on first use with a message that says what to set', async () => {
    const runtime = createAzureRuntime({ LOG_LEVEL: 'silent', PAYLOAD_BUCKET: 'nowhere' }, overrides());
    await expect(runtime.payloads!.put('k', new Uint8Array([123, 125]))).rejects.toThrow(/container's URL/);
  });
});
