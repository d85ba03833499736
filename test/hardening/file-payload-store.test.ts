/** The local directory payload store (claim check for the local runtime) against a temp dir. */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FilePayloadStore } from '../../shared/adapters/local/file-payload-store';
import { ValidationError } from '../../shared/core/errors';
import { createLocalRuntime } from '../../shared/runtime/local';
import { describePayloadStore } from '../support/payload-store.contract';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ac-payloads-'));
  dirs.push(dir);
  return dir;
}

describePayloadStore('local directory', async () => {
  const dir = await tempDir();
  const store = new FilePayloadStore(path.join(dir, 'payloads'));
  return {
    store,
    corrupt: (uri, bytes) => writeFile(fileURLToPath(uri), bytes),
    missingUri: (sha) => pathToFileURL(path.join(dir, 'payloads', 'nobody', `${sha}.json`)).href,
    foreignUri: () => pathToFileURL(path.join(dir, 'elsewhere', 'x', `${'0'.repeat(64)}.json`)).href,
  };
});

test('hostile keys never leave the directory: every file is one level of key below it', async () => {
  const dir = await tempDir();
  const root = path.join(dir, 'payloads');
  const store = new FilePayloadStore(root);
  for (const key of ['../../escape', '../sibling', '/abs/path', 'a/../../b', '..', '.'])
    await store.put(key, new TextEncoder().encode('{}'));
  expect(await readdir(dir)).toEqual(['payloads']);
  for (const entry of await readdir(root)) expect(await readdir(path.join(root, entry))).toHaveLength(1);
  // A reference pointing outside, even through .., is refused before anything is read.
  const outside = `${pathToFileURL(root).href}/../../etc/passwd`;
  await expect(store.get(outside)).rejects.toBeInstanceOf(ValidationError);
});

test('the local runtime: PAYLOAD_BUCKET is a directory, created on the first put; none without it', async () => {
  const dir = path.join(await tempDir(), 'claim-check');
  const runtime = await createLocalRuntime({ STORE: 'memory', LOG_LEVEL: 'silent', PAYLOAD_BUCKET: dir });
  try {
    expect(runtime.payloads?.name).toBe('file');
    const ref = await runtime.payloads!.put('t-1', new TextEncoder().encode('{"big":true}'));
    expect(ref.uri.startsWith(pathToFileURL(dir).href + '/')).toBe(true);
    expect(Buffer.from(await runtime.payloads!.get(ref.uri)).toString()).toBe('{"big":true}');
  } finally {
    await runtime.close();
  }
  const without = await createLocalRuntime({ STORE: 'memory', LOG_LEVEL: 'silent' });
  expect(without.payloads).toBeUndefined();
  await without.close();
});
