/**
 * The Function App's deployable folder (dist/azure): its module init compiles and runs none of
 * the Azure SDK clients (each is a chunk beside index.js, scripts/lambda-chunks.cjs, loaded when
 * the runtime makes that client), and through those chunks the app works end to end: a large
 * coordination request's task data goes to Blob Storage (azurite), its task to Cosmos DB (the
 * local Cosmos-protocol server), both through the real SDKs in the chunks.
 */
import { execFile, execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { startAzurite, type Azurite } from './support/azurite';
import { CosmosTestServer } from './support/cosmos-server';

const root = path.resolve(__dirname, '../..');
const dist = path.join(root, 'dist/azure');
const { AZURE_CHUNKS, CHUNK_DIR } = require('../../scripts/lambda-chunks.cjs') as {
  AZURE_CHUNKS: Array<{ name: string }>;
  CHUNK_DIR: string;
};
/** What V8 compiles of the app at every cold start: at most 600 KB (the Lambda handlers' budget). */
const APP_FILE_BUDGET = 600_000;
/** The packages that only the chunks may hold. */
const SDK_PACKAGES = [
  '@azure/storage-blob',
  '@azure/storage-common',
  'apache-arrow',
  '@azure/identity',
  '@azure/msal-common',
  '@azure/cosmos',
  '@azure/service-bus',
  '@azure/core-amqp',
  'rhea',
];

beforeAll(() => {
  execFileSync(process.execPath, ['scripts/build.mjs', 'azure'], { cwd: root, stdio: 'pipe' });
});

/**
 * The npm packages a file of dist/azure was built from, by its source map (a package's own
 * prebuilt bundle names its sources `webpack://<package>/...`).
 */
function packagesOf(file: string): string[] {
  const map = JSON.parse(readFileSync(`${file}.map`, 'utf8')) as { sources: string[] };
  const names = map.sources.map((s) => /(?:node_modules\/|webpack:\/\/)((?:@[^/]+\/)?[^/]+)/.exec(s)?.[1]);
  return [...new Set(names.filter((n): n is string => Boolean(n)))];
}

test('index.js holds none of the SDK clients and keeps to the cold-start budget; each client is a chunk beside it', () => {
  expect(AZURE_CHUNKS.map((c) => c.name).sort()).toEqual(['blob', 'cosmos', 'identity', 'service-bus']);
  expect(readdirSync(path.join(dist, CHUNK_DIR)).sort()).toEqual(
    AZURE_CHUNKS.flatMap((c) => [`${c.name}.js`, `${c.name}.js.map`]).sort(),
  );
  const app = path.join(dist, 'index.js');
  expect(readFileSync(app).length).toBeLessThanOrEqual(APP_FILE_BUDGET);
  expect(packagesOf(app)).toContain('@azure/functions');
  expect(packagesOf(app).filter((p) => SDK_PACKAGES.includes(p))).toEqual([]);
  const chunk = (name: string) => packagesOf(path.join(dist, CHUNK_DIR, `${name}.js`));
  expect(chunk('blob')).toEqual(expect.arrayContaining(['@azure/storage-blob', 'apache-arrow']));
  expect(chunk('identity')).toEqual(expect.arrayContaining(['@azure/identity', '@azure/msal-common']));
  expect(chunk('cosmos')).toContain('@azure/cosmos');
  expect(chunk('service-bus')).toEqual(expect.arrayContaining(['@azure/service-bus', 'rhea']));
  // The app loads its chunks by a path relative to its own file.
  const code = readFileSync(app, 'utf8');
  for (const c of AZURE_CHUNKS) expect(code).toContain(`require("./${CHUNK_DIR}/${c.name}.js")`);
});

/**
 * A fresh Node process, as the Functions worker starts one: the host's `@azure/functions-core`
 * stood in for (it records each registered handler), dist/azure/index.js required, then, with
 * `requests`, each sent to the `api` function in turn. It answers with the functions registered,
 * the chunks loaded at module init and after the requests, and the responses.
 */
const CHILD = `
  const Module = require('node:module');
  const path = require('node:path');
  const [app, requests] = [process.argv[1], JSON.parse(process.argv[2])];
  const handlers = {};
  const core = new Module('@azure/functions-core');
  core.exports = {
    setProgrammingModel: () => undefined,
    registerFunction: (metadata, handler) => ((handlers[metadata.name] = handler), { dispose: () => undefined }),
  };
  core.loaded = true;
  require.cache['@azure/functions-core'] = core;
  const resolve = Module._resolveFilename;
  Module._resolveFilename = function (request, ...rest) {
    return request === '@azure/functions-core' ? request : resolve.call(this, request, ...rest);
  };
  const chunkDir = path.join(path.dirname(app), ${JSON.stringify(CHUNK_DIR)}) + path.sep;
  const chunks = () =>
    Object.keys(require.cache).filter((k) => k.startsWith(chunkDir)).map((k) => path.basename(k, '.js')).sort();
  require(app);
  const atInit = chunks();
  (async () => {
    const responses = [];
    for (const r of requests) {
      const body = Buffer.from(r.body === undefined ? '' : JSON.stringify(r.body));
      const res = await handlers.api(
        {
          method: r.method,
          headers: new Headers({ authorization: 'Bearer ' + process.env.AUTH_TOKEN, 'content-type': 'application/json' }),
          params: { path: r.path },
          query: new URLSearchParams(),
          arrayBuffer: async () => body.buffer.slice(body.byteOffset, body.byteOffset + body.length),
        },
        {},
      );
      responses.push({ status: res.status, body: JSON.parse(String(res.body)) });
    }
    process.stdout.write(JSON.stringify({ registered: Object.keys(handlers).sort(), atInit, afterRequests: chunks(), responses }));
    process.exit(0);
  })().catch((err) => {
    process.stderr.write(String(err && err.stack || err));
    process.exit(1);
  });
`;

interface ChildResult {
  registered: string[];
  atInit: string[];
  afterRequests: string[];
  responses: Array<{ status: number; body: Record<string, unknown> }>;
}

async function startApp(
  env: Record<string, string>,
  requests: Array<{ method: string; path: string; body?: unknown }> = [],
): Promise<ChildResult> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['-e', CHILD, path.join(dist, 'index.js'), JSON.stringify(requests)],
    { cwd: root, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env } },
  );
  return JSON.parse(stdout) as ChildResult;
}

test('module init with a harmless environment registers every function and loads no chunk', async () => {
  const result = await startApp({ NODE_ENV: 'production', LOG_LEVEL: 'error' });
  expect(result.registered).toEqual(['agent-events', 'api', 'inbound-queue', 'sweep']);
  expect(result.atInit).toEqual([]);
});

test('without keys, the runtime signs in with the managed identity: the identity chunk loads with the Cosmos DB and Service Bus ones', async () => {
  const result = await startApp(
    {
      LOG_LEVEL: 'silent',
      AUTH_TOKEN: 'bundle-token-0123456789',
      // Never dialled: /health answers without the store.
      COSMOS_ENDPOINT: 'https://127.0.0.1:1',
      SERVICE_BUS_NAMESPACE: 'coordinator.servicebus.windows.net',
    },
    [{ method: 'GET', path: 'health' }],
  );
  expect(result.atInit).toEqual([]);
  expect(result.responses).toEqual([{ status: 200, body: { status: 'ok' } }]);
  expect(result.afterRequests).toEqual(['cosmos', 'identity', 'service-bus']);
});

describe('the claim check through the chunks', () => {
  const cosmos = new CosmosTestServer();
  let azurite: Azurite;
  beforeAll(async () => {
    await cosmos.start();
    azurite = await startAzurite();
    await azurite.service.getContainerClient('payloads').create();
  });
  afterAll(async () => {
    await cosmos.stop();
    await azurite?.stop();
  });

  test('a large request: its task data in the blob container, its task in Cosmos DB, through the blob, cosmos and service-bus chunks (keys, so no identity chunk)', async () => {
    const taskData = { document: 'x'.repeat(4096) };
    const result = await startApp(
      {
        LOG_LEVEL: 'silent',
        AUTH_TOKEN: 'bundle-token-0123456789',
        COSMOS_ENDPOINT: cosmos.endpoint,
        COSMOS_KEY: cosmos.key,
        // Never dialled: no agent can take the task, so nothing is published.
        SERVICE_BUS_CONNECTION: 'Endpoint=sb://127.0.0.1/;SharedAccessKeyName=test;SharedAccessKey=test',
        PAYLOAD_BUCKET: 'payloads',
        CLAIM_CHECK_BYTES: '1024',
        AzureWebJobsStorage: azurite.connectionString,
      },
      [
        {
          method: 'POST',
          path: 'events',
          body: {
            type: 'coordination_request',
            task_id: 'big-1',
            task_type: 'summarize',
            task_data: taskData,
          },
        },
        { method: 'GET', path: 'tasks/big-1' },
      ],
    );
    expect(result.atInit).toEqual([]);
    expect(result.responses.map((r) => r.status)).toEqual([200, 200]);
    expect(result.afterRequests).toEqual(['blob', 'cosmos', 'service-bus']);
    const blobs: string[] = [];
    for await (const b of azurite.service.getContainerClient('payloads').listBlobsFlat()) blobs.push(b.name);
    expect(blobs).toHaveLength(1);
    expect(blobs[0]).toMatch(/^tasks%2F.*\/[0-9a-f]{64}\.json$/);
    const stored = await azurite.service
      .getContainerClient('payloads')
      .getBlockBlobClient(blobs[0]!)
      .downloadToBuffer();
    expect(JSON.parse(stored.toString('utf8'))).toEqual(taskData);
    expect(cosmos.requests.some((r) => r.method === 'POST' || r.method === 'PUT')).toBe(true);
    // The task in Cosmos DB carries the reference to the blob, not the data.
    expect(result.responses[1]!.body).toMatchObject({ task_id: 'big-1', status: 'queued' });
    expect(result.responses[1]!.body.task_data_ref).toMatchObject({
      uri: azurite.service.getContainerClient('payloads').getBlockBlobClient(blobs[0]!).url,
    });
  });
});
