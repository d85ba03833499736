/**
 * The claim-check payload store on S3 (`@aws-sdk/client-s3`): one object per payload, named
 * `<prefix><encoded key>/<sha256>.json` (content-addressed, see file-payload-store.ts), the
 * reference's URI `s3://<bucket>/<object key>`. `put` is idempotent; `get` checks the bytes
 * against the sha-256 in the name. The endpoint follows the SDK's own settings
 * (`AWS_ENDPOINT_URL_S3`), so a local S3-compatible server needs no code here.
 */
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
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

export interface S3PayloadStoreOptions {
  bucket: string;
  /** An SDK client (tests point one at a local server). Default: a client for `region`. */
  client?: Pick<S3Client, 'send'>;
  region?: string;
  /** Prepended to every object key, e.g. `payloads/` (default none). */
  prefix?: string;
  /** Path-style URLs (`endpoint/bucket/key`), which S3-compatible local servers need (default false). */
  forcePathStyle?: boolean;
}

export class S3PayloadStore implements PayloadStore {
  readonly name = 's3';
  readonly bucket: string;
  private readonly client: Pick<S3Client, 'send'>;
  private readonly prefix: string;

  constructor(options: S3PayloadStoreOptions) {
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(options.bucket))
      throw new ConfigError(`PAYLOAD_BUCKET "${options.bucket}" is not an S3 bucket name`);
    this.bucket = options.bucket;
    this.prefix = options.prefix ?? '';
    this.client =
      options.client ??
      new S3Client({
        ...(options.region ? { region: options.region } : {}),
        ...(options.forcePathStyle ? { forcePathStyle: true } : {}),
      });
  }

  async put(key: string, body: Uint8Array): Promise<PayloadRef> {
    const sha256 = sha256Hex(body);
    const objectKey = `${this.prefix}${payloadObjectName(key, sha256)}`;
    const uri = `s3://${this.bucket}/${objectKey}`;
    try {
      // Same name, same bytes: writing it again is harmless, so no read is needed first.
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: objectKey,
          Body: body,
          ContentType: 'application/json',
          ContentLength: body.byteLength,
          Metadata: { sha256 },
        }),
      );
    } catch (err) {
      throw s3Error(err, `put ${uri}`);
    }
    return payloadRef(uri, body, sha256);
  }

  async get(uri: string): Promise<Uint8Array> {
    const objectKey = this.objectKeyOf(uri);
    const sha256 = expectedSha256(objectKey.slice(this.prefix.length), uri);
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: objectKey }));
      if (!out.Body) throw new NotFoundError(`payload ${uri} has no body`);
      return verifyPayload(uri, await out.Body.transformToByteArray(), sha256);
    } catch (err) {
      throw s3Error(err, `get ${uri}`);
    }
  }

  private objectKeyOf(uri: string): string {
    const head = `s3://${this.bucket}/`;
    if (!uri.startsWith(head) || !uri.slice(head.length).startsWith(this.prefix))
      throw new ValidationError(`${uri} is not in s3://${this.bucket}/${this.prefix}`, 'uri');
    return uri.slice(head.length);
  }
}

/** Missing objects are NotFound; throttling, 5xx and lost connections are retryable; the rest stands. */
function s3Error(err: unknown, what: string): Error {
  if (err instanceof CoordinatorError) return err;
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  const name = e?.name ?? 'Error';
  const status = e?.$metadata?.httpStatusCode ?? 0;
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404)
    return new NotFoundError(`${what}: no such payload`, { cause: err });
  if (status === 0 || status === 429 || status === 503 || status >= 500 || name === 'SlowDown')
    return new StoreUnavailableError(`S3 unavailable (${what}): ${name}: ${errorMessage(err)}`, {
      cause: err,
    });
  return err instanceof Error ? err : new Error(String(err));
}
