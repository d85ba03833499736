/**
 * The contract every claim-check `PayloadStore` meets, written once and run against each
 * adapter on a real local server (S3 on s3rver, Blob Storage on azurite, a temp directory).
 */
import { createHash } from 'node:crypto';
import { NotFoundError, ValidationError, isRetryable } from '../../shared/core/errors';
import { PayloadRef } from '../../shared/core/model';
import type { PayloadStore } from '../../shared/core/ports';
import { PayloadIntegrityError } from '../../shared/adapters/local/file-payload-store';

export interface PayloadStoreFixture {
  store: PayloadStore;
  /** Overwrites the stored bytes behind `uri` (as a faulty disk or a bad hand edit would). */
  corrupt(uri: string, bytes: Uint8Array): Promise<void>;
  /** A reference URI in this store's form for an object that was never written. */
  missingUri(sha256: string): string;
  /** A URI of the same kind outside this store (another bucket, container or directory). */
  foreignUri(): string;
}

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (err: unknown) => err,
  );
}

export function describePayloadStore(name: string, make: () => Promise<PayloadStoreFixture>): void {
  describe(`PayloadStore contract: ${name}`, () => {
    let f: PayloadStoreFixture;
    beforeEach(async () => {
      f = await make();
    });

    test('put returns a valid reference (uri, size, hex sha-256 of the bytes); get returns the same bytes', async () => {
      const body = json({ meal_log: 'x'.repeat(300_000), n: 1 });
      const ref = await f.store.put('task-1', body);
      expect(PayloadRef.parse(ref)).toEqual(ref);
      expect(ref).toMatchObject({
        size: body.byteLength,
        sha256: sha(body),
        content_type: 'application/json',
      });
      expect(Buffer.from(await f.store.get(ref.uri)).equals(Buffer.from(body))).toBe(true);
    });

    test('put is idempotent: the same key and bytes give the same reference', async () => {
      const body = json({ a: 1 });
      const first = await f.store.put('task-2', body);
      const second = await f.store.put('task-2', body);
      expect(second).toEqual(first);
      expect(Buffer.from(await f.store.get(first.uri)).toString()).toBe('{"a":1}');
    });

    test('other bytes under the same key never overwrite the first payload', async () => {
      const a = await f.store.put('task-3', json({ v: 'a' }));
      const b = await f.store.put('task-3', json({ v: 'b' }));
      expect(b.uri).not.toBe(a.uri);
      expect(Buffer.from(await f.store.get(a.uri)).toString()).toBe('{"v":"a"}');
      expect(Buffer.from(await f.store.get(b.uri)).toString()).toBe('{"v":"b"}');
    });

    test('keys with /, .., dots, unicode or 300 characters are stored inside the store and round-trip', async () => {
      const keys = [
        '../../etc/passwd',
        'a/b/c',
        '..',
        '.',
        '.hidden',
        'ünï cödé',
        '%2e%2e%2f',
        'k'.repeat(300),
      ];
      const refs = [];
      for (const [i, key] of keys.entries()) {
        const ref = await f.store.put(key, json({ i }));
        expect(ref.uri).not.toMatch(/\/\.\.?\//);
        refs.push(ref);
      }
      expect(new Set(refs.map((r) => r.uri)).size).toBe(keys.length);
      for (const [i, ref] of refs.entries())
        expect(JSON.parse(Buffer.from(await f.store.get(ref.uri)).toString())).toEqual({ i });
    });

    test('an empty key is refused', async () => {
      expect(await rejection(f.store.put('', json({})))).toBeInstanceOf(ValidationError);
    });

    test('a reference that was never written: NotFoundError', async () => {
      const err = await rejection(f.store.get(f.missingUri(sha(json({ never: true })))));
      expect(err).toBeInstanceOf(NotFoundError);
    });

    test('a URI outside the store, or not a payload reference, is refused (no reading elsewhere)', async () => {
      for (const uri of [f.foreignUri(), 'not a uri', 'http://example.invalid/x']) {
        const err = await rejection(f.store.get(uri));
        expect(err).toBeInstanceOf(ValidationError);
        expect(isRetryable(err)).toBe(false);
      }
    });

    test('bytes that no longer match the reference: a permanent PayloadIntegrityError', async () => {
      const ref = await f.store.put('task-4', json({ ok: true }));
      await f.corrupt(ref.uri, json({ ok: false }));
      const err = await rejection(f.store.get(ref.uri));
      expect(err).toBeInstanceOf(PayloadIntegrityError);
      expect(isRetryable(err)).toBe(false);
      expect((err as Error).message).toContain(ref.sha256);
    });

    test('concurrent puts of the same payload all succeed with one reference', async () => {
      const body = json({ same: 'payload' });
      const refs = await Promise.all(Array.from({ length: 8 }, () => f.store.put('task-5', body)));
      expect(new Set(refs.map((r) => r.uri)).size).toBe(1);
      expect(Buffer.from(await f.store.get(refs[0]!.uri)).toString()).toBe('{"same":"payload"}');
    });
  });
}
