/**
 * `npm run dev:aws`: the AWS functions running locally under `serverless offline`, against
 * local servers this script starts itself:
 *
 *   DynamoDB     dynalite (in memory), with the coordinator's table created
 *   SQS          local-aws-sqs, with the inbound queue, its DLQ and the events-failed queue;
 *                serverless-offline-sqs polls the inbound queue and invokes the `sqs` function
 *   EventBridge  a local PutEvents endpoint (scripts/local-eventbridge.ts) that prints what
 *                the coordinator publishes
 *
 * The functions reach them through the SDK's standard `AWS_ENDPOINT_URL_DYNAMODB`,
 * `AWS_ENDPOINT_URL_SQS` and `AWS_ENDPOINT_URL_EVENTBRIDGE` with dummy credentials: no code in
 * the runtime knows it runs locally. `startDevAws()` is what the script runs and what
 * test/aws/offline.test.ts starts.
 */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { dynamoTableDefinition } from '../shared/adapters/aws/dynamo-store';
import { startLocalEventBridge, type LocalEventBridge } from './local-eventbridge';

const SERVICE = 'agent-coordinator';
const HOST = '127.0.0.1';
const ROOT = path.resolve(__dirname, '..');
const READY_TIMEOUT_MS = 120_000;

export interface DevAwsOptions {
  /** Serverless stage; names the table, queues and bus (`agent-coordinator-<stage>...`). Default `local`. */
  stage?: string;
  /** Port of offline's Lambda invoke API (0 or unset: a free port). */
  lambdaPort?: number;
  /** Ports of the local servers (0 or unset: free ports). */
  dynamoPort?: number;
  sqsPort?: number;
  eventBridgePort?: number;
  /** Extra environment for the functions (e.g. `LOG_LEVEL`). */
  env?: Record<string, string>;
  /** Where serverless offline's output goes, line by line (default: stdout). */
  log?: (line: string) => void;
}

export interface DevAws {
  stage: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  tableName: string;
  busName: string;
  inboundQueueUrl: string;
  endpoints: { dynamodb: string; sqs: string; eventbridge: string; lambda: string };
  /** What the functions published on the local EventBridge endpoint. */
  eventBridge: LocalEventBridge;
  /** serverless offline's output so far. */
  output(): string;
  /** Stops serverless offline (its whole process group) and the local servers. */
  stop(): Promise<void>;
}

const region = 'us-east-1';
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function listen(server: http.Server, port: number): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, HOST, () => resolve());
  });
  return `http://${HOST}:${(server.address() as AddressInfo).port}`;
}

async function close(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** The queues of serverless.yml's resources, with the same names and redrive policy. */
function queuesOf(stage: string, accountId: string) {
  const prefix = `${SERVICE}-${stage}`;
  return [
    { QueueName: `${prefix}-inbound-dlq`, Attributes: { MessageRetentionPeriod: 1209600 } },
    {
      QueueName: `${prefix}-inbound`,
      Attributes: {
        VisibilityTimeout: 180,
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: `arn:aws:sqs:${region}:${accountId}:${prefix}-inbound-dlq`,
          maxReceiveCount: 5,
        }),
      },
    },
    { QueueName: `${prefix}-events-failed`, Attributes: { MessageRetentionPeriod: 1209600 } },
  ];
}

/** Kills a detached child's process group and waits for it to exit (SIGKILL if it lingers). */
async function killGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      // the group is already gone
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
  signal('SIGKILL'); // anything the group left behind
}

export async function startDevAws(options: DevAwsOptions = {}): Promise<DevAws> {
  const stage = options.stage ?? 'local';
  const accountId = '000000000000';
  const tableName = `${SERVICE}-${stage}`;
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const cleanups: Array<() => Promise<void> | void> = [];
  const stop = async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn();
  };

  try {
    // DynamoDB: dynalite in memory, the table with the store's key design (serverless.test.ts
    // checks serverless.yml's CoordinatorTable has the same keys and index).
    const dynalite = (require('dynalite') as (o: object) => http.Server)({
      createTableMs: 0,
      deleteTableMs: 0,
      updateTableMs: 0,
    });
    const dynamodb = await listen(dynalite, options.dynamoPort ?? 0);
    cleanups.push(() => close(dynalite));
    const ddb = new DynamoDBClient({ endpoint: dynamodb, region, credentials });
    await ddb.send(new CreateTableCommand(dynamoTableDefinition(tableName)));
    ddb.destroy();

    // SQS: local-aws-sqs with serverless.yml's queues.
    const { createSqsServer } = require('local-aws-sqs') as typeof import('local-aws-sqs');
    const sqsPort = options.sqsPort || (await freePort());
    const sqsServer = await createSqsServer({
      port: sqsPort,
      hostname: HOST,
      region,
      accountId,
      queues: queuesOf(stage, accountId),
    });
    cleanups.push(() => close(sqsServer));
    const sqs = `http://${HOST}:${sqsPort}`;

    // EventBridge: the local PutEvents endpoint, printing each event.
    const eventBridge = await startLocalEventBridge(options.eventBridgePort ?? 0, HOST);
    cleanups.push(() => eventBridge.stop());
    eventBridge.onEvent = (e) => log(`[eventbridge] ${e.DetailType} ${e.Detail}`);

    // serverless offline, in its own process group so that stop() ends all of it.
    const lambdaPort = options.lambdaPort || (await freePort());
    const workFolder = `.esbuild/offline-${stage}-${process.pid}`;
    const env: NodeJS.ProcessEnv = {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_'))),
      SLS_TELEMETRY_DISABLED: '1',
      SLS_NOTIFICATIONS_MODE: 'off',
      // serverless.yml loads serverless-offline-sqs only in this plugin set.
      SERVERLESS_PLUGIN_SET: 'dev-aws',
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: dynamodb,
      AWS_ENDPOINT_URL_SQS: sqs,
      AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridge.endpoint,
      // A work folder of its own: a concurrent `serverless package` cleans up `.esbuild/.build`.
      SERVERLESS_ESBUILD_WORK_FOLDER: workFolder,
      ...options.env,
    };
    const output: string[] = [];
    const child = spawn(
      process.execPath,
      [
        path.join(ROOT, 'node_modules/serverless/bin/serverless.js'),
        'offline',
        'start',
        '--stage',
        stage,
        '--region',
        region,
        '--host',
        HOST,
        '--lambdaPort',
        String(lambdaPort),
        '--httpPort',
        String(await freePort()),
      ],
      { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    cleanups.push(() => rmSync(path.join(ROOT, workFolder), { recursive: true, force: true }));
    // Should this process end without stop() (a crash, process.exit), the group goes with it.
    const killOnExit = () => {
      try {
        if (child.pid && child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    process.once('exit', killOnExit);
    cleanups.push(() => {
      process.removeListener('exit', killOnExit);
    });
    cleanups.push(() => killGroup(child));
    let pending = '';
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      output.push(text);
      const lines = (pending + text).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) log(line);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);

    // Ready when offline's Lambda API listens and offline-sqs polls the inbound queue.
    await new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(
        () =>
          reject(new Error(`serverless offline not ready after ${READY_TIMEOUT_MS} ms:\n${output.join('')}`)),
        READY_TIMEOUT_MS,
      );
      const check = () => {
        const all = output.join('');
        if (/^Error:$/m.test(all)) {
          // serverless printed its failure (e.g. a bundling error) and may not exit by itself
          clearTimeout(deadline);
          reject(new Error(`serverless offline failed to start:\n${all}`));
        } else if (/listening on/i.test(all) && /Starting Offline SQS/.test(all)) {
          clearTimeout(deadline);
          resolve();
        }
      };
      child.stdout!.on('data', check);
      child.stderr!.on('data', check);
      child.once('exit', (code, sig) => {
        clearTimeout(deadline);
        reject(new Error(`serverless offline exited (${code ?? sig}):\n${output.join('')}`));
      });
    });

    return {
      stage,
      region,
      credentials,
      tableName,
      busName: `${SERVICE}-${stage}`,
      inboundQueueUrl: `${sqs}/${accountId}/${SERVICE}-${stage}-inbound`,
      endpoints: { dynamodb, sqs, eventbridge: eventBridge.endpoint, lambda: `http://${HOST}:${lambdaPort}` },
      eventBridge,
      output: () => output.join(''),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** `npm run dev:aws`: start everything, print how to use it, run until Ctrl-C. */
export async function main(): Promise<void> {
  // Ctrl-C while starting ends the process; the 'exit' hook takes serverless offline with it.
  const early = () => process.exit(130);
  process.once('SIGINT', early);
  process.once('SIGTERM', early);
  const dev = await startDevAws({
    stage: process.env.STAGE || 'local',
    lambdaPort: Number(process.env.LAMBDA_PORT || 3002),
  });
  process.removeListener('SIGINT', early);
  process.removeListener('SIGTERM', early);
  const { endpoints, inboundQueueUrl } = dev;
  process.stdout.write(
    [
      '',
      'agent-coordinator on serverless offline, against local servers:',
      `  DynamoDB     ${endpoints.dynamodb}   table ${dev.tableName}`,
      `  SQS          ${endpoints.sqs}   inbound ${inboundQueueUrl}`,
      `  EventBridge  ${endpoints.eventbridge}   (PutEvents; published events are printed here)`,
      `  Lambda API   ${endpoints.lambda}   functions ${SERVICE}-${dev.stage}-<name> (listed below)`,
      '',
      'Send a message to the queue (AWS CLI, dummy credentials):',
      `  AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local aws --region ${dev.region} --endpoint-url ${endpoints.sqs} \\`,
      `    sqs send-message --queue-url ${inboundQueueUrl} --message-body '{"type":"agent_health_check"}'`,
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    void dev.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}
