/**
 * The deployable folder (dist/gcp: bundle + package.json) loads under the real
 * `functions-framework` binary, the way Cloud Functions runs it, for every entry point; its
 * module init loads functions-framework and none of the Google SDKs (they load with the runtime).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { FUNCTIONS } from '../../gcp/index';
import { freePort } from './support/emulators';

const root = path.resolve(__dirname, '../..');
const TOKEN = 'bundle-token-0123456789';

async function serve(target: string): Promise<{ url: string; stop(): Promise<void>; output(): string }> {
  const port = await freePort();
  let output = '';
  const child: ChildProcess = spawn(
    path.join(root, 'node_modules/.bin/functions-framework'),
    [`--target=${target}`, `--port=${port}`, '--source=dist/gcp'],
    {
      cwd: root,
      // No metadata-server probe: tests stay on loopback.
      env: {
        PATH: process.env.PATH,
        AUTH_TOKEN: TOKEN,
        GCP_PROJECT: 'demo',
        LOG_LEVEL: 'silent',
        METADATA_SERVER_DETECTION: 'none',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  };
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`functions-framework exited: ${output}`);
    try {
      await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
      return { url, stop, output: () => output };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await stop();
  throw new Error(`functions-framework did not listen: ${output}`);
}

beforeAll(() => {
  execFileSync(process.execPath, ['scripts/build.mjs', 'gcp'], { cwd: root, stdio: 'pipe' });
});

test('dist/gcp/package.json pins the runtime dependencies the bundle leaves external', () => {
  const pkg = JSON.parse(readFileSync(path.join(root, 'dist/gcp/package.json'), 'utf8')) as {
    main: string;
    dependencies: Record<string, string>;
  };
  const rootPkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  expect(pkg.main).toBe('index.js');
  for (const dep of [
    '@google-cloud/functions-framework',
    '@google-cloud/firestore',
    '@google-cloud/pubsub',
    'google-auth-library',
  ]) {
    expect(pkg.dependencies[dep]).toBe(rootPkg.dependencies[dep]);
  }
});

/** Packages of node_modules in a process's require.cache. */
const PACKAGES_OF_CACHE = `Object.keys(require.cache).map((f) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(f)?.[1]).filter(Boolean)`;

test('module init loads functions-framework and none of the Google SDKs; the first invocation loads Firestore and Pub/Sub, and the function is the one registered with functions-framework', () => {
  // A fresh process, as a cold start: the bundle, then its HTTP function invoked through
  // functions-framework's own registry (so the same module instance the bundle registered with).
  const script = `
    const packages = () => [...new Set(${PACKAGES_OF_CACHE})].sort();
    require(process.argv[1]);
    const atInit = packages();
    const { getFunction } = require('@google-cloud/functions-framework/testing');
    const res = { status(s) { this.code = s; return this; }, set() { return this; }, send(body) { this.body = String(body); done(this); } };
    let done;
    new Promise((r) => (done = r)).then((r) => {
      process.stdout.write(JSON.stringify({ atInit, afterInvocation: packages(), status: r.code, body: r.body }));
      process.exit(0);
    });
    getFunction(${JSON.stringify(FUNCTIONS.http)})({ method: 'GET', url: '/health', originalUrl: '/health', headers: {} }, res);
  `;
  const out = execFileSync(process.execPath, ['-e', script, path.join(root, 'dist/gcp/index.js')], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      GCP_PROJECT: 'demo',
      LOG_LEVEL: 'silent',
      METADATA_SERVER_DETECTION: 'none',
    },
    encoding: 'utf8',
  });
  const { atInit, afterInvocation, status, body } = JSON.parse(out) as {
    atInit: string[];
    afterInvocation: string[];
    status: number;
    body: string;
  };
  const SDKS = [
    '@google-cloud/firestore',
    '@google-cloud/pubsub',
    'google-auth-library',
    'google-gax',
    '@grpc/grpc-js',
  ];
  expect(atInit).toEqual(['@google-cloud/functions-framework']);
  expect(status).toBe(200);
  expect(JSON.parse(body)).toEqual({ status: 'ok' });
  expect(afterInvocation).toEqual(
    expect.arrayContaining(['@google-cloud/firestore', '@google-cloud/pubsub']),
  );
  // google-auth-library comes with the SDKs that use it, not from the runtime (ROUTER=vertex).
  expect(SDKS.filter((s) => !afterInvocation.includes(s))).toEqual([]);
});

test('the HTTP function serves from the bundle and requires the token', async () => {
  const fn = await serve(FUNCTIONS.http);
  try {
    expect((await fetch(`${fn.url}/health`)).status).toBe(200);
    expect((await fetch(`${fn.url}/agents`)).status).toBe(401);
  } finally {
    await fn.stop();
  }
});

test('the sweep function serves from the bundle and requires the token', async () => {
  const fn = await serve(FUNCTIONS.sweep);
  try {
    expect((await fetch(fn.url, { method: 'POST' })).status).toBe(401);
  } finally {
    await fn.stop();
  }
});

test('the Pub/Sub function loads from the bundle as a CloudEvent function and runs the handler', async () => {
  const fn = await serve(FUNCTIONS.pubsub);
  try {
    expect(fn.output()).toContain('Signature type: cloudevent');
    // An unreadable message is to be published as rejected; offline (no credentials, no
    // network) that publish fails, so the message is not acknowledged (5xx): never lost.
    const res = await fetch(fn.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(500);
    expect(fn.output()).toContain('message-rejected');
  } finally {
    await fn.stop();
  }
});
