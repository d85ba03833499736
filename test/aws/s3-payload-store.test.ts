/**
 * The S3 payload store through the real `@aws-sdk/client-s3` against s3rver (an S3-compatible
 * server started here on a free loopback port, path-style addressing).
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { S3PayloadStore } from '../../shared/adapters/aws/s3-payload-store';
import { LocalBus } from '../../shared/adapters/local/local-bus';
import { MemoryStateStore } from '../../shared/adapters/local/memory-store';
import { createAwsRuntime } from '../../shared/runtime/aws';
import { ConfigError, StoreUnavailableError } from '../../shared/core/errors';
import { describePayloadStore } from '../support/payload-store.contract';
import { region } from './local-aws';

// s3rver's built-in account.
const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
const S3rver = require('s3rver') as new (options: object) => S3rverInstance;

let server: S3rverInstance;
let dir: string;
let client: S3Client;
let endpoint: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'ac-s3rver-'));
  server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory: dir,
    configureBuckets: [{ name: 'payloads' }, { name: 'other-bucket' }],
  });
  const { port } = await server.run();
  endpoint = `http://127.0.0.1:${port}`;
  client = new S3Client({ endpoint, region, credentials, forcePathStyle: true });
});
afterAll(async () => {
  client?.destroy();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
describePayloadStore('S3 (s3rver)', async () => {
  const prefix = `run-${++n}/`;
  const store = new S3PayloadStore({ bucket: 'payloads', client, prefix });
  return {
    store,
    corrupt: async (uri, bytes) => {
      await client.send(
        new PutObjectCommand({ Bucket: 'payloads', Key: uri.slice('s3://payloads/'.length), Body: bytes }),
      );
    },
    missingUri: (sha) => `s3://payloads/${prefix}nobody/${sha}.json`,
    foreignUri: () => `s3://other-bucket/${prefix}x/${'0'.repeat(64)}.json`,
  };
});

test('the object carries the content type and the sha-256 as metadata', async () => {
  const store = new S3PayloadStore({ bucket: 'payloads', client });
  const ref = await store.put('meta', new TextEncoder().encode('{"m":1}'));
  const { HeadObjectCommand } = await import('@aws-sdk/client-s3');
  const head = await client.send(new HeadObjectCommand({ Bucket: 'payloads', Key: ref.uri.slice(14) }));
  expect(head.ContentType).toBe('application/json');
  expect(head.Metadata?.sha256).toBe(ref.sha256);
});

test('an unreachable endpoint is retryable; a bad bucket name fails at construction', async () => {
  const dead = new S3Client({
    endpoint: 'http://127.0.0.1:1',
    region,
    credentials,
    forcePathStyle: true,
    maxAttempts: 1,
  });
  try {
    const store = new S3PayloadStore({ bucket: 'payloads', client: dead });
    await expect(store.put('k', new Uint8Array([123, 125]))).rejects.toBeInstanceOf(StoreUnavailableError);
  } finally {
    dead.destroy();
  }
  expect(() => new S3PayloadStore({ bucket: 'Not_A_Bucket', client })).toThrow(ConfigError);
});

describe('the AWS runtime', () => {
  const base = { LOG_LEVEL: 'silent', POWERTOOLS_METRICS_DISABLED: 'true' };
  const overrides = () => ({ store: new MemoryStateStore(), bus: new LocalBus() });

  test('with PAYLOAD_BUCKET it exposes an S3 payload store on that bucket', async () => {
    const runtime = createAwsRuntime({ ...base, PAYLOAD_BUCKET: 'payloads' }, { ...overrides(), s3: client });
    expect(runtime.payloads?.name).toBe('s3');
    const ref = await runtime.payloads!.put('runtime-task', new TextEncoder().encode('{"big":true}'));
    expect(ref.uri).toMatch(/^s3:\/\/payloads\/runtime-task\/[0-9a-f]{64}\.json$/);
    expect(Buffer.from(await runtime.payloads!.get(ref.uri)).toString()).toBe('{"big":true}');
  });

  test('with AWS_ENDPOINT_URL_S3 (a local S3-compatible server) the SDK client it builds uses path-style URLs', async () => {
    const keys = ['AWS_ENDPOINT_URL_S3', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const;
    const saved = keys.map((k) => process.env[k]);
    Object.assign(process.env, {
      // A host name, not an IP: the SDK would otherwise pick path style by itself.
      AWS_ENDPOINT_URL_S3: endpoint.replace('127.0.0.1', 'localhost'),
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    });
    try {
      const runtime = createAwsRuntime(
        { ...base, PAYLOAD_BUCKET: 'payloads', AWS_REGION: region },
        overrides(),
      );
      const ref = await runtime.payloads!.put('env-task', new TextEncoder().encode('{"env":1}'));
      expect(Buffer.from(await runtime.payloads!.get(ref.uri)).toString()).toBe('{"env":1}');
    } finally {
      keys.forEach((k, i) => (saved[i] === undefined ? delete process.env[k] : (process.env[k] = saved[i])));
    }
  });

  test('without PAYLOAD_BUCKET there is none', () => {
    expect(createAwsRuntime(base, overrides()).payloads).toBeUndefined();
  });
});
