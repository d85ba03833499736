/**
 * The serverless app: plain `serverless package` (serverless-esbuild bundles inside it, no prior
 * build, no credentials) produces one artifact per function and a least-privilege template; then
 * the functions run under `serverless offline` and are invoked with the real Lambda client.
 */
import { LambdaClient, InvokeCommand } from '@aws-sdk/client-lambda';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  existsSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  documentClient,
  DynamoStateStore,
  dynamoTableDefinition,
} from '../../shared/adapters/aws/dynamo-store';
import { credentials, region, startDynalite, startEventBridge } from './local-aws';
import { sqsEvent, sqsRecord } from './lambda-events';
import { startConverseServer, toolUseReply } from './bedrock-server';
import { readZip, unzipTo } from './zip';

jest.setTimeout(120_000);
const root = path.resolve(__dirname, '../..');
/** One Lambda function per handler in functions/ (serverless.yml declares each). */
const FUNCTIONS = readdirSync(path.join(root, 'functions'))
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'))
  .map((f) => f.replace(/\.ts$/, ''));
const workFolder = `.esbuild/serverless-test-${process.pid}`;
/** Where `serverless package --package` writes the artifacts and templates. */
const out = mkdtempSync(path.join(os.tmpdir(), 'sls-package-'));

/** The environment without AWS credentials or settings: packaging must not need them. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && k !== 'SERVERLESS_PLUGIN_SET'),
  );
  return {
    ...env,
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    // Its own esbuild work folder: another serverless run in this tree empties the default one.
    SERVERLESS_ESBUILD_WORK_FOLDER: workFolder,
    ...extra,
  };
}

interface TemplateResource {
  Type: string;
  Condition?: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- CloudFormation properties are free-form JSON
  Properties: Record<string, any>;
}
type Template = { Resources: Record<string, TemplateResource> };
let template: Template;
let packageOutput = '';

beforeAll(async () => {
  // What CI runs: plain `serverless package` on a tree with no dist/ bundles needed.
  const { stdout, stderr } = await promisify(execFile)(
    process.execPath,
    ['node_modules/serverless/bin/serverless.js', 'package', '--package', out],
    { cwd: root, env: cleanEnv(), maxBuffer: 10e6 },
  );
  packageOutput = stdout + stderr;
  template = JSON.parse(readFileSync(path.join(out, 'cloudformation-template-update-stack.json'), 'utf8'));
});

afterAll(() => {
  rmSync(out, { recursive: true, force: true });
  rmSync(path.join(root, workFolder), { recursive: true, force: true });
});

const resources = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);

test('serverless package bundles each function with esbuild and packages one artifact per function', () => {
  expect(packageOutput).toMatch(/Service packaged/);
  for (const fn of FUNCTIONS) {
    const zip = path.join(out, `${fn}.zip`);
    expect(existsSync(zip)).toBe(true);
    const bytes = readFileSync(zip);
    expect(bytes.includes(Buffer.from(`functions/${fn}.js`))).toBe(true);
    expect(bytes.includes(Buffer.from(`functions/${fn}.js.map`))).toBe(true);
    // Only its own bundle (file names are stored uncompressed): no other function, no node_modules.
    for (const other of FUNCTIONS.filter((f) => f !== fn))
      expect(bytes.includes(Buffer.from(`functions/${other}.js`))).toBe(false);
    expect(bytes.includes(Buffer.from('node_modules/'))).toBe(false);
  }
  const lambdas = resources('AWS::Lambda::Function');
  expect(lambdas).toHaveLength(FUNCTIONS.length);
  for (const [, fn] of lambdas) {
    expect(fn.Properties.Runtime).toBe('nodejs22.x');
    expect(fn.Properties.Handler).toMatch(/^functions\/\w+\.handler$/);
  }
});

/** The optional modules' files beside each handler (scripts/lambda-chunks.cjs). */
const { AWS_CHUNKS, CHUNK_DIR } = require('../../scripts/lambda-chunks.cjs') as {
  AWS_CHUNKS: Array<{ name: string }>;
  CHUNK_DIR: string;
};
/** What V8 compiles of a handler at every cold start: at most 600 KB. */
const HANDLER_FILE_BUDGET = 600_000;

test('each artifact holds its handler and, beside it, the chunks of its optional modules; the handler file keeps to the cold-start budget', () => {
  expect(AWS_CHUNKS.map((c) => c.name)).toEqual(
    expect.arrayContaining(['s3', 'bedrock', 'sqs', 'tracer', 'credentials']),
  );
  for (const fn of FUNCTIONS) {
    const entries = readZip(path.join(out, `${fn}.zip`));
    const names = entries.map((e) => e.name);
    for (const c of AWS_CHUNKS) {
      expect(names).toContain(`functions/${CHUNK_DIR}/${c.name}.js`);
      expect(names).toContain(`functions/${CHUNK_DIR}/${c.name}.js.map`);
    }
    const handlerFile = entries.find((e) => e.name === `functions/${fn}.js`)!;
    expect(handlerFile.size).toBeLessThanOrEqual(HANDLER_FILE_BUDGET);
    // The handler loads its chunks by a path relative to its own file, only on first use.
    const code = handlerFile.data().toString();
    for (const c of AWS_CHUNKS) expect(code).toContain(`require("./${CHUNK_DIR}/${c.name}.js")`);
  }
});

describe('a handler unpacked from its artifact', () => {
  const S3rver = require('s3rver') as new (options: object) => {
    run(): Promise<{ port: number }>;
    close(): Promise<void>;
  };
  // s3rver checks signatures with its own account; the other local servers take any.
  const keys = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };
  let dir: string;
  let handler: string;
  let dynalite: Awaited<ReturnType<typeof startDynalite>>;
  let eb: Awaited<ReturnType<typeof startEventBridge>>;
  let s3: InstanceType<typeof S3rver>;
  let s3Endpoint: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sls-artifact-'));
    unzipTo(path.join(out, 'direct.zip'), path.join(dir, 'task'));
    handler = path.join(dir, 'task', 'functions', 'direct.js');
    dynalite = await startDynalite();
    eb = await startEventBridge();
    s3 = new S3rver({
      port: 0,
      address: '127.0.0.1',
      silent: true,
      directory: path.join(dir, 's3'),
      configureBuckets: [{ name: 'payloads' }],
    });
    s3Endpoint = `http://127.0.0.1:${(await s3.run()).port}`;
  });
  afterAll(async () => {
    await s3?.close();
    await eb?.stop();
    await dynalite?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Invokes the handler with each message in a fresh Node process whose working directory is
   * the unpacked artifact (nothing of the repository resolves from there); returns the results
   * and the chunks that process loaded.
   */
  async function invokeUnpacked(
    env: Record<string, string>,
    messages: unknown[],
  ): Promise<{ results: unknown[]; chunks: string[] }> {
    const script = `
      const path = require('node:path');
      const [file, messages] = process.argv.slice(1);
      const chunkDir = path.join(path.dirname(file), ${JSON.stringify(CHUNK_DIR)}) + path.sep;
      (async () => {
        const { handler } = require(file);
        const results = [];
        for (const m of JSON.parse(messages)) results.push(await handler(m));
        const chunks = Object.keys(require.cache).filter((k) => k.startsWith(chunkDir)).map((k) => path.basename(k, '.js')).sort();
        process.stdout.write('\\nRESULT ' + JSON.stringify({ results, chunks }));
      })().catch((err) => { process.stderr.write(String((err && err.stack) || err)); process.exit(1); });`;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['-e', script, handler, JSON.stringify(messages)],
      {
        cwd: path.dirname(handler),
        env: {
          PATH: process.env.PATH ?? '',
          AWS_REGION: region,
          AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
          AWS_ENDPOINT_URL_EVENTBRIDGE: eb.endpoint,
          LOG_LEVEL: 'silent',
          POWERTOOLS_METRICS_DISABLED: 'true',
          ...env,
        },
        maxBuffer: 10e6,
      },
    );
    return JSON.parse(stdout.slice(stdout.lastIndexOf('\nRESULT ') + 8));
  }
  const register = {
    type: 'agent_state_change',
    agent_id: 'npa',
    new_state: 'available',
    capabilities: ['nutrition_analysis'],
  };

  test('with PAYLOAD_BUCKET and ROUTER=bedrock it loads the S3 and Bedrock chunks: large task data goes to the bucket, Bedrock routes the task', async () => {
    const table = await dynalite.createTable();
    const bedrock = await startConverseServer(
      () =>
        toolUseReply('route_task', {
          action: 'assign_task',
          target_agents: ['npa'],
          task_distribution: { npa: 'analyse the meal log' },
          priority: 'high',
          estimated_duration: 10,
          dependencies: [],
          reasoning: 'npa has the capability',
        }),
      { http2: true },
    );
    try {
      const { results, chunks } = await invokeUnpacked(
        {
          ...keys,
          TABLE_NAME: table,
          EVENT_BUS_NAME: 'bus',
          ROUTER: 'bedrock',
          FAST_PATH: 'false',
          AWS_ENDPOINT_URL_BEDROCK_RUNTIME: bedrock.endpoint,
          PAYLOAD_BUCKET: 'payloads',
          CLAIM_CHECK_BYTES: '1024',
          AWS_ENDPOINT_URL_S3: s3Endpoint,
        },
        [
          register,
          {
            type: 'coordination_request',
            task_id: 'big-1',
            task_type: 'nutrition_analysis',
            task_data: { meals: 'x'.repeat(4096) },
          },
        ],
      );
      expect(results[1]).toEqual(
        expect.objectContaining({
          task_id: 'big-1',
          status: 'assigned',
          assigned_agents: ['npa'],
          router: 'llm',
        }),
      );
      expect(bedrock.calls).toHaveLength(1);
      expect(chunks).toEqual(['bedrock', 's3']);
      const assignment = eb.accepted.find(
        (e) => e.DetailType === 'Task Assignment' && JSON.parse(e.Detail).task_message.task_id === 'big-1',
      );
      const ref = JSON.parse(assignment!.Detail).task_message.task_data_ref as { uri: string };
      expect(ref.uri).toMatch(/^s3:\/\/payloads\/.+\/[0-9a-f]{64}\.json$/);
      const { S3Client, GetObjectCommand } = await import('@aws-sdk/client-s3');
      const client = new S3Client({
        endpoint: s3Endpoint,
        region,
        forcePathStyle: true,
        credentials: { accessKeyId: keys.AWS_ACCESS_KEY_ID, secretAccessKey: keys.AWS_SECRET_ACCESS_KEY },
      });
      try {
        const object = await client.send(
          new GetObjectCommand({ Bucket: 'payloads', Key: ref.uri.slice('s3://payloads/'.length) }),
        );
        expect(JSON.parse(await object.Body!.transformToString())).toEqual({ meals: 'x'.repeat(4096) });
      } finally {
        client.destroy();
      }
    } finally {
      await bedrock.stop();
    }
  });

  test('with per-agent queues, tracing and credentials from the shared credentials file it loads those chunks; with none of them, none', async () => {
    const table = await dynalite.createTable();
    const files = path.join(dir, 'aws-files');
    mkdirSync(files, { recursive: true });
    writeFileSync(
      path.join(files, 'credentials'),
      `[default]\naws_access_key_id = ${keys.AWS_ACCESS_KEY_ID}\naws_secret_access_key = ${keys.AWS_SECRET_ACCESS_KEY}\n`,
    );
    writeFileSync(path.join(files, 'config'), '');
    const configured = await invokeUnpacked(
      {
        TABLE_NAME: table,
        EVENT_BUS_NAME: 'bus',
        AGENT_QUEUE_URL_TEMPLATE: 'http://127.0.0.1:1/000000000000/agent-{agent_id}',
        POWERTOOLS_TRACE_ENABLED: 'true',
        AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
        // No credentials in the environment: the SDK reads them from the file.
        AWS_SHARED_CREDENTIALS_FILE: path.join(files, 'credentials'),
        AWS_CONFIG_FILE: path.join(files, 'config'),
        AWS_EC2_METADATA_DISABLED: 'true',
      },
      [register],
    );
    expect(configured.chunks).toEqual(['credentials', 'sqs', 'tracer']);
    const store = new DynamoStateStore(documentClient(dynalite.client), table);
    expect((await store.getAgent('npa'))?.status).toBe('available');

    const plain = await invokeUnpacked({ ...keys, TABLE_NAME: table, EVENT_BUS_NAME: 'bus' }, [
      { ...register, agent_id: 'npa-2' },
    ]);
    expect(plain.chunks).toEqual([]);
    expect((await store.getAgent('npa-2'))?.status).toBe('available');
  });
});

test('no IAM statement grants a wildcard resource', () => {
  const statements = [
    ...resources('AWS::IAM::Role').flatMap(([, r]) =>
      (r.Properties.Policies ?? []).flatMap(
        (p: { PolicyDocument: { Statement: unknown[] } }) => p.PolicyDocument.Statement,
      ),
    ),
    ...resources('AWS::IAM::Policy').flatMap(([, r]) => r.Properties.PolicyDocument.Statement as unknown[]),
  ] as Array<{ Action: string | string[]; Resource: unknown }>;
  expect(statements.length).toBeGreaterThan(3);
  const texts = (res: unknown): string[] => {
    if (Array.isArray(res)) return res.flatMap(texts);
    if (typeof res === 'string') return [res];
    const sub = (res as { 'Fn::Sub'?: unknown })['Fn::Sub'];
    return typeof sub === 'string' ? [sub] : []; // Ref / GetAtt name one resource
  };
  for (const s of statements) {
    for (const action of ([] as string[]).concat(s.Action)) expect(action).not.toMatch(/^\*$|:\*$/);
    for (const r of texts(s.Resource)) {
      expect(r).not.toBe('*');
      if (!r.startsWith('arn:')) {
        // Object permissions need an object pattern: allowed for the payload bucket alone.
        if (r === '${PayloadBucket.Arn}/*') continue;
        expect(r).not.toContain('*'); // e.g. "${Table.Arn}/index/gsi1"
        continue;
      }
      const resourcePart = r.split(':').slice(5).join(':');
      expect(resourcePart).not.toMatch(/^\*?$|^[\w-]+\/\*$/); // "*", "", "table/*", "foundation-model/*"
    }
  }
});

test('the template holds the table, queues, bus rule, schedule and SQS mapping the runtime needs', () => {
  const table = template.Resources.CoordinatorTable!.Properties;
  const expected = dynamoTableDefinition('x');
  expect(table.BillingMode).toBe('PAY_PER_REQUEST');
  expect(table.TimeToLiveSpecification).toEqual({ AttributeName: 'ttl', Enabled: true });
  expect(table.KeySchema).toEqual(expected.KeySchema);
  expect(table.GlobalSecondaryIndexes).toEqual(expected.GlobalSecondaryIndexes);
  expect(template.Resources.InboundQueue!.Properties.RedrivePolicy.maxReceiveCount).toBe(5);
  const [, mapping] = resources('AWS::Lambda::EventSourceMapping')[0]!;
  expect(mapping.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
  const patterns = resources('AWS::Events::Rule')
    .map(([, r]) => r.Properties.EventPattern)
    .filter(Boolean);
  expect(patterns).toContainEqual({
    source: ['agent-coordinator.agents'],
    'detail-type': ['Agent State Change', 'Coordination Request', 'Task Completion', 'Error Event'],
  });
  expect(resources('AWS::Events::Rule').map(([, r]) => r.Properties.ScheduleExpression)).toContain(
    'rate(1 minute)',
  );
});

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function waitFor(child: ChildProcess, pattern: RegExp, log: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      log.push(d.toString());
      if (pattern.test(log.join(''))) resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code) => reject(new Error(`serverless offline exited (${code}):\n${log.join('')}`)));
  });
}

test('the built functions run under serverless offline, invoked with the Lambda client', async () => {
  const dynalite = await startDynalite();
  const eb = await startEventBridge();
  const stage = 'offline';
  await dynalite.client.send(new CreateTableCommand(dynamoTableDefinition(`agent-coordinator-${stage}`)));
  const lambdaPort = await freePort();
  const log: string[] = [];
  const child = spawn(
    process.execPath,
    [
      'node_modules/serverless/bin/serverless.js',
      'offline',
      'start',
      '--stage',
      stage,
      '--host',
      '127.0.0.1',
      '--lambdaPort',
      String(lambdaPort),
      '--httpPort',
      String(await freePort()),
    ],
    {
      cwd: root,
      detached: true,
      env: cleanEnv({
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
        AWS_ENDPOINT_URL_EVENTBRIDGE: eb.endpoint,
      }),
    },
  );
  const lambda = new LambdaClient({ endpoint: `http://127.0.0.1:${lambdaPort}`, region, credentials });
  const invoke = async (fn: string, payload: unknown) => {
    const out = await lambda.send(
      new InvokeCommand({
        FunctionName: `agent-coordinator-${stage}-${fn}`,
        Payload: Buffer.from(JSON.stringify(payload)),
      }),
    );
    return {
      error: out.FunctionError,
      body: JSON.parse(Buffer.from(out.Payload ?? []).toString() || 'null'),
    };
  };
  try {
    await waitFor(child, /http for lambda\] listening on/, log);
    await invoke('direct', {
      type: 'agent_state_change',
      agent_id: 'npa',
      new_state: 'available',
      capabilities: ['nutrition_analysis'],
    });
    const assigned = await invoke('direct', {
      type: 'coordination_request',
      task_id: 'off-1',
      task_type: 'nutrition_analysis',
    });
    expect(assigned).toEqual({
      error: undefined,
      body: expect.objectContaining({ task_id: 'off-1', status: 'assigned', assigned_agents: ['npa'] }),
    });
    const bad = sqsRecord('{broken');
    const batch = await invoke(
      'sqs',
      sqsEvent(
        sqsRecord(
          JSON.stringify({ type: 'coordination_request', task_id: 'off-2', task_type: 'nutrition_analysis' }),
        ),
        bad,
      ),
    );
    expect(batch.body).toEqual({ batchItemFailures: [{ itemIdentifier: bad.messageId }] });
    const store = new DynamoStateStore(documentClient(dynalite.client), `agent-coordinator-${stage}`);
    expect((await store.getTask('off-2'))?.assigned_agents).toEqual(['npa']);
    expect(
      eb.accepted
        .filter((e) => e.DetailType === 'Task Assignment')
        .map((e) => JSON.parse(e.Detail).task_message.task_id),
    ).toEqual(['off-1', 'off-2']);
    expect(eb.accepted[0]?.EventBusName).toBe(`agent-coordinator-${stage}`);
  } finally {
    lambda.destroy();
    if (child.pid && child.exitCode === null) process.kill(-child.pid, 'SIGTERM');
    await new Promise((resolve) => (child.exitCode === null ? child.on('exit', resolve) : resolve(null)));
    await eb.stop();
    await dynalite.stop();
  }
});

test('the claim-check bucket is made only when payloadBucket is set, private and encrypted, and only its objects are granted', () => {
  const bucket = template.Resources.PayloadBucket!;
  expect(bucket.Condition).toBe('HasPayloadBucket');
  expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
    BlockPublicAcls: true,
    BlockPublicPolicy: true,
    IgnorePublicAcls: true,
    RestrictPublicBuckets: true,
  });
  expect(bucket.Properties.BucketEncryption).toBeDefined();
  const access = template.Resources.PayloadBucketAccess!;
  expect(access.Condition).toBe('HasPayloadBucket');
  expect(access.Properties.PolicyDocument.Statement).toEqual([
    {
      Effect: 'Allow',
      Action: ['s3:PutObject', 's3:GetObject'],
      Resource: { 'Fn::Sub': '${PayloadBucket.Arn}/*' },
    },
  ]);
});
