/**
 * Azurite's blob service for a test file: started on a free loopback port, in memory, with the
 * well-known development account, and stopped after.
 */
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../gcp/support/emulators';

// Azurite's documented development account (public, not a secret).
export const ACCOUNT = 'devstoreaccount1';
export const ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface Azurite {
  port: number;
  /** A client of the development account's blob service. */
  service: BlobServiceClient;
  /** The account's connection string (what `AzureWebJobsStorage` holds). */
  connectionString: string;
  stop(): Promise<void>;
}

export async function startAzurite(): Promise<Azurite> {
  const port = await freePort();
  const bin = path.resolve(__dirname, '../../../node_modules/.bin/azurite-blob');
  const azurite = spawn(
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
  const stop = async () => {
    if (azurite.exitCode !== null) return;
    const exited = new Promise((resolve) => azurite.once('exit', resolve));
    // In memory: nothing to flush, and SIGTERM waits for the SDK's keep-alive sockets.
    azurite.kill('SIGKILL');
    await exited;
  };
  const endpoint = `http://127.0.0.1:${port}/${ACCOUNT}`;
  const service = new BlobServiceClient(endpoint, new StorageSharedKeyCredential(ACCOUNT, ACCOUNT_KEY));
  // Ready when it answers; a bounded number of tries.
  for (let i = 0; ; i++) {
    try {
      await service.getProperties();
      break;
    } catch (err) {
      if (i >= 300 || azurite.exitCode !== null) {
        await stop();
        throw err;
      }
      await sleep(50);
    }
  }
  const connectionString = `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${ACCOUNT_KEY};BlobEndpoint=${endpoint};`;
  return { port, service, connectionString, stop };
}
