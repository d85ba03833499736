/**
 * The claim-check payload store on Azure Blob Storage (`@azure/storage-blob`): one block blob
 * per payload in one container, named `<encoded key>/<sha256>.json` (content-addressed, see
 * file-payload-store.ts); the reference's URI is the blob's URL. `put` is idempotent; `get`
 * takes only URLs of this container and checks the bytes against the sha-256 in the name.
 */
import type { TokenCredential } from '@azure/core-auth';
import { BlobServiceClient, ContainerClient, RestError } from '@azure/storage-blob';
import {
  ConfigError,
  CoordinatorError,
  NotFoundError,
  StoreUnavailableError,
  ValidationError,
  errorMessage,
} from '../../core/errors';
import type { PayloadRef } from '../../core/model';
import type { PayloadStore } from '../../core/ports';
import {
  expectedSha256,
  payloadObjectName,
  payloadRef,
  sha256Hex,
  verifyPayload,
} from '../local/file-payload-store';

export interface BlobPayloadStoreOptions {
  /** The container (the runtime makes it from `PAYLOAD_BUCKET` and its credential). */
  container: ContainerClient;
  /** Create the container on the first `put` if it is missing (default false: it is deployed). */
  createContainer?: boolean;
}

export class BlobPayloadStore implements PayloadStore {
  readonly name = 'blob';
  private readonly container: ContainerClient;
  private ready: Promise<void> | undefined;

  constructor(private readonly options: BlobPayloadStoreOptions) {
    this.container = options.container;
  }

  async put(key: string, body: Uint8Array): Promise<PayloadRef> {
    const sha256 = sha256Hex(body);
    const blob = this.container.getBlockBlobClient(payloadObjectName(key, sha256));
    try {
      if (this.options.createContainer) {
        this.ready ??= this.container.createIfNotExists().then(() => undefined);
        await this.ready.catch((err: unknown) => {
          this.ready = undefined;
          throw err;
        });
      }
      // Same name, same bytes: uploading again is harmless.
      await blob.uploadData(body, {
        blobHTTPHeaders: { blobContentType: 'application/json' },
        metadata: { sha256 },
      });
    } catch (err) {
      throw blobError(err, `put ${blob.url}`);
    }
    return payloadRef(blob.url, body, sha256);
  }

  async get(uri: string): Promise<Uint8Array> {
    const name = this.blobNameOf(uri);
    const sha256 = expectedSha256(name, uri);
    try {
      const bytes = await this.container.getBlockBlobClient(name).downloadToBuffer();
      return verifyPayload(uri, new Uint8Array(bytes), sha256);
    } catch (err) {
      throw blobError(err, `get ${uri}`);
    }
  }

  /** The blob name inside this container a URL points at; other URLs are refused. */
  private blobNameOf(uri: string): string {
    let url: URL;
    try {
      url = new URL(uri);
    } catch (err) {
      throw new ValidationError(`${uri} is not a blob URL`, 'uri', { cause: err });
    }
    const base = new URL(this.container.url);
    const prefix = `${base.pathname.replace(/\/+$/, '')}/`;
    if (url.origin !== base.origin || !url.pathname.startsWith(prefix) || url.search || url.hash)
      throw new ValidationError(`${uri} is not in the container ${this.container.url}`, 'uri');
    try {
      return decodeURIComponent(url.pathname.slice(prefix.length));
    } catch (err) {
      throw new ValidationError(`${uri} is not a blob URL`, 'uri', { cause: err });
    }
  }
}

/**
 * The container `PAYLOAD_BUCKET` names: a container URL (signed in with `credential`), or a
 * container name in the Function App's own storage account (`AzureWebJobsStorage`: its connection
 * string, or `AzureWebJobsStorage__accountName` with the credential).
 */
export function blobContainerFor(
  bucket: string,
  env: Record<string, string | undefined>,
  credential: () => TokenCredential,
): ContainerClient {
  if (/^https?:\/\//.test(bucket)) return new ContainerClient(bucket, credential());
  const connection = env.AzureWebJobsStorage;
  if (connection) return BlobServiceClient.fromConnectionString(connection).getContainerClient(bucket);
  const account = env.AzureWebJobsStorage__accountName;
  if (account)
    return new BlobServiceClient(`https://${account}.blob.core.windows.net`, credential()).getContainerClient(
      bucket,
    );
  throw new ConfigError(
    `PAYLOAD_BUCKET "${bucket}" is a container name, but the app has no storage account (AzureWebJobsStorage); give the container's URL instead`,
  );
}

function blobError(err: unknown, what: string): Error {
  if (err instanceof CoordinatorError) return err;
  const status = err instanceof RestError ? err.statusCode : (err as { statusCode?: number })?.statusCode;
  const code = (err as { code?: string })?.code ?? '';
  if (status === 404 || code === 'BlobNotFound' || code === 'ContainerNotFound')
    return new NotFoundError(`${what}: no such payload (${code || 'HTTP 404'})`, { cause: err });
  if (status === undefined || status === 408 || status === 429 || status >= 500)
    return new StoreUnavailableError(`Blob Storage unavailable (${what}): ${errorMessage(err)}`, {
      cause: err,
    });
  return err instanceof Error ? err : new Error(String(err));
}
