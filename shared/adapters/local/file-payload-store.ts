/**
 * The claim-check payload store of the local runtime: one file per payload under a directory.
 *
 * Shared by every payload store (S3, Blob Storage, this one): payloads are content-addressed
 * under their key. The object name is `<encoded key>/<sha256>.json`, so `put` is idempotent
 * (the same key and bytes give the same name and reference), a second `put` with other bytes
 * never overwrites the first (it gets a name of its own), and `get(uri)` can check the bytes it
 * read against the sha-256 the URI itself names, without any side record.
 *
 * Keys are encoded into one path segment (`encodeURIComponent`, a leading `.` spelled out), so
 * a key such as `../../etc/passwd` or `a/b` stays inside the directory, bucket or container;
 * keys too long for one file name are replaced by their hash.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CoordinatorError, NotFoundError, StoreUnavailableError, ValidationError } from '../../core/errors';
import type { PayloadRef } from '../../core/model';
import type { PayloadStore } from '../../core/ports';

/** Permanent: the bytes behind a reference are not the ones it was made for. */
export class PayloadIntegrityError extends CoordinatorError {
  override readonly code: string = 'PAYLOAD_CORRUPT';
}

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Longest encoded key kept as it is (a file name is at most 255 bytes on common file systems). */
const MAX_ENCODED_KEY = 180;

/** The key as one safe path segment. */
export function encodeKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0) throw new ValidationError('payload key is empty', 'key');
  // A leading dot is spelled out: no `.`, `..` or hidden name.
  const encoded = encodeURIComponent(key).replace(/^\./, '%2E');
  // `%` never starts an encodeURIComponent output followed by `h-`: this name cannot collide.
  return encoded.length <= MAX_ENCODED_KEY ? encoded : `%h-${createHash('sha256').update(key).digest('hex')}`;
}

/** `<encoded key>/<sha256>.json`: the object name of a payload. */
export function payloadObjectName(key: string, sha256: string): string {
  return `${encodeKey(key)}/${sha256}.json`;
}

const OBJECT_NAME = /^([^/]+)\/([0-9a-f]{64})\.json$/;

/** The sha-256 an object name promises, or a ValidationError when it is not one of ours. */
export function expectedSha256(objectName: string, uri: string): string {
  const match = OBJECT_NAME.exec(objectName);
  if (!match) throw new ValidationError(`${uri} is not a payload reference of this store`, 'uri');
  return match[2]!;
}

/** Throws when `bytes` do not hash to `sha256`. */
export function verifyPayload(uri: string, bytes: Uint8Array, sha256: string): Uint8Array {
  const actual = sha256Hex(bytes);
  if (actual !== sha256) {
    throw new PayloadIntegrityError(
      `payload ${uri} is corrupt: its sha-256 is ${actual}, the reference says ${sha256}`,
    );
  }
  return bytes;
}

export function payloadRef(uri: string, body: Uint8Array, sha256: string): PayloadRef {
  return { uri, size: body.byteLength, sha256, content_type: 'application/json' };
}

export class FilePayloadStore implements PayloadStore {
  readonly name = 'file';
  readonly directory: string;

  /** `directory` is created on the first `put`. */
  constructor(directory: string) {
    this.directory = path.resolve(directory);
  }

  async put(key: string, body: Uint8Array): Promise<PayloadRef> {
    const sha256 = sha256Hex(body);
    const file = path.join(this.directory, payloadObjectName(key, sha256));
    const uri = pathToFileURL(file).href;
    try {
      if (await exists(file)) return payloadRef(uri, body, sha256);
      await mkdir(path.dirname(file), { recursive: true });
      // Written aside, then renamed: a reader never sees half a payload.
      const temp = `${file}.${randomUUID()}.tmp`;
      await writeFile(temp, body, { flag: 'wx' });
      await rename(temp, file).catch(async (err: unknown) => {
        await rm(temp, { force: true });
        throw err;
      });
    } catch (err) {
      throw new StoreUnavailableError(`cannot write payload ${uri}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return payloadRef(uri, body, sha256);
  }

  async get(uri: string): Promise<Uint8Array> {
    const file = this.fileOf(uri);
    const sha256 = expectedSha256(path.relative(this.directory, file).split(path.sep).join('/'), uri);
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw new NotFoundError(`payload ${uri} does not exist`, { cause: err });
      throw new StoreUnavailableError(`cannot read payload ${uri}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return verifyPayload(uri, new Uint8Array(bytes), sha256);
  }

  /** The file a `file://` URI names, refused unless it lies inside the directory. */
  private fileOf(uri: string): string {
    let file: string;
    try {
      file = path.resolve(fileURLToPath(uri));
    } catch (err) {
      throw new ValidationError(`${uri} is not a file:// payload reference`, 'uri', { cause: err });
    }
    const relative = path.relative(this.directory, file);
    if (
      relative === '' ||
      relative === '..' ||
      relative.startsWith(`..${path.sep}`) ||
      path.isAbsolute(relative)
    ) {
      throw new ValidationError(`${uri} is outside the payload directory ${this.directory}`, 'uri');
    }
    return file;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
