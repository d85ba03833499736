/**
 * The claim-check payload store of each runtime, built from `PAYLOAD_BUCKET` (none: no claim
 * check). The store is built on its first use and its SDK module loaded only then, so a cold
 * start that never meets a large payload pays nothing for it.
 *
 *   AWS    PAYLOAD_BUCKET = an S3 bucket name (endpoint: the SDK's `AWS_ENDPOINT_URL_S3`; with
 *          one set, path-style URLs, as S3-compatible local servers need)
 *   Azure  PAYLOAD_BUCKET = a container URL (`https://<account>.blob.core.windows.net/<name>`,
 *          signed in as the app's managed identity), or a container name in the Function App's
 *          own storage account (`AzureWebJobsStorage`: its connection string, or
 *          `AzureWebJobsStorage__accountName` with the managed identity)
 *   local  PAYLOAD_BUCKET = a directory (relative to the working directory)
 */
import type { TokenCredential } from '@azure/core-auth';
import type { S3Client } from '@aws-sdk/client-s3';
import type { ContainerClient } from '@azure/storage-blob';
import path from 'node:path';
import type { Config } from '../core/config';
import type { PayloadStore } from '../core/ports';

/** A store that is built when it is first used. */
export function lazyPayloadStore(name: string, build: () => PayloadStore): PayloadStore {
  let store: PayloadStore | undefined;
  const real = () => (store ??= build());
  return {
    name,
    put: async (key, body) => real().put(key, body),
    get: async (uri) => real().get(uri),
  };
}

export function awsPayloadStore(
  config: Pick<Config, 'PAYLOAD_BUCKET' | 'AWS_REGION'>,
  client?: Pick<S3Client, 'send'>,
): PayloadStore | undefined {
  const bucket = config.PAYLOAD_BUCKET;
  if (!bucket) return undefined;
  return lazyPayloadStore('s3', () => {
    const { S3PayloadStore } =
      require('../adapters/aws/s3-payload-store') as typeof import('../adapters/aws/s3-payload-store');
    // The SDK reads its endpoint from the process environment; so does this.
    const customEndpoint = Boolean(process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL);
    return new S3PayloadStore({
      bucket,
      region: config.AWS_REGION,
      ...(client ? { client } : { forcePathStyle: customEndpoint }),
    });
  });
}

export function azurePayloadStore(
  config: Pick<Config, 'PAYLOAD_BUCKET'>,
  env: Record<string, string | undefined>,
  credential: () => TokenCredential,
  container?: ContainerClient,
): PayloadStore | undefined {
  const bucket = config.PAYLOAD_BUCKET;
  if (!bucket && !container) return undefined;
  return lazyPayloadStore('blob', () => {
    // The adapter brings @azure/storage-blob (in the Function App's bundle, its own chunk).
    const { BlobPayloadStore, blobContainerFor } =
      require('../adapters/azure/blob-payload-store') as typeof import('../adapters/azure/blob-payload-store');
    return new BlobPayloadStore({ container: container ?? blobContainerFor(bucket!, env, credential) });
  });
}

export function localPayloadStore(config: Pick<Config, 'PAYLOAD_BUCKET'>): PayloadStore | undefined {
  const dir = config.PAYLOAD_BUCKET;
  if (!dir) return undefined;
  return lazyPayloadStore('file', () => {
    const { FilePayloadStore } =
      require('../adapters/local/file-payload-store') as typeof import('../adapters/local/file-payload-store');
    return new FilePayloadStore(path.resolve(dir));
  });
}
