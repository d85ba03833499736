/**
 * The Blob Storage payload store through the real `@azure/storage-blob` against azurite (its
 * blob service started here on a free loopback port, in memory, with the well-known
 * development account).
 */
import { BlobServiceClient, StorageSharedKeyCredential, type ContainerClient } from '@azure/storage-blob';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BlobPayloadStore } from '../../shared/adapters/azure/blob-payload-store';
import { StoreUnavailableError } from '../../shared/core/errors';
import { freePort } from '../gcp/support/emulators';
import { describePayloadStore } from '../support/payload-store.contract';

// Azurite's documented development account (public, not a secret).
const ACCOUNT = 'devstoreaccount1';
const ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

let azurite: ChildProcess;
let service: BlobServiceClient;
beforeAll(async () => {
  const port = await freePort();
  const bin = path.resolve(__dirname, '../../node_modules/.bin/azurite-blob');
  azurite = spawn(
    bin,
    [
      '--inMemoryPersistence',
      '--silent',
      '--skipApiVersionCheck',
      '--blobHost',
      '127.0.0.1',
      '--blobPort',
      `${port}`,
    ],
    { stdio: 'ignore' },
  );
  service = new BlobServiceClient(
    `http://127.0.0.1:${port}/${ACCOUNT}`,
    new StorageSharedKeyCredential(ACCOUNT, ACCOUNT_KEY),
  );
  // Ready when it answers; a bounded number of tries.
  for (let i = 0; ; i++) {
    try {
      await service.getProperties();
      break;
    } catch (err) {
      if (i >= 300 || azurite.exitCode !== null) throw err;
      await sleep(50);
    }
  }
  await service.getContainerClient('other').create();
});
afterAll(async () => {
  if (azurite && azurite.exitCode === null) {
    const exited = new Promise((resolve) => azurite.once('exit', resolve));
    // In memory: nothing to flush, and SIGTERM waits for the SDK's keep-alive sockets.
    azurite.kill('SIGKILL');
    await exited;
  }
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
