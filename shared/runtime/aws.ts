/**
 * Composition root of the AWS runtime: config -> SDK clients -> DynamoDB store, EventBridge
 * (+ per-agent SQS) bus, rules or Bedrock router -> Coordinator, with Powertools for AWS Lambda
 * for logs (request id, cold start, correlation id), metrics (EMF) and traces (X-Ray). Built
 * once per Lambda cold start (`awsRuntime()`); every client can be injected
 * (`createAwsRuntime(env, overrides)`). Endpoints follow the SDK's own settings
 * (`AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SQS`, `AWS_ENDPOINT_URL_EVENTBRIDGE`,
 * `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`), so local servers need no code here.
 *
 * Cold start: the Bedrock client is loaded only for `ROUTER=bedrock`, the SQS client only with
 * per-agent queues (`AGENT_QUEUE_URL_TEMPLATE`), the X-Ray tracer only with tracing on, the S3
 * client on the first claim check (`PAYLOAD_BUCKET`): each is `require`d where it is used, and
 * the Lambda bundles keep these modules in files of their own beside the handler's
 * (scripts/lambda-chunks.cjs), so a configuration without them neither compiles nor runs them.
 */
import type { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { loadConfig, type Config } from '../core/config';
import { Coordinator, type Outcome } from '../core/coordinator/coordinator';
import {
  type EventBus,
  type LlmClient,
  type Logger,
  type PayloadStore,
  type Router,
  type StateStore,
} from '../core/ports';
import { documentClient, DynamoStateStore } from '../adapters/aws/dynamo-store';
import { EventBridgeBus } from '../adapters/aws/eventbridge-bus';
import { PowertoolsLoggerAdapter } from '../adapters/aws/powertools-logger';
import { PowertoolsTelemetry } from '../adapters/aws/powertools-telemetry';
import { coordinatorFor, runtimeBase, type CoreOverrides } from './compose';
import { awsPayloadStore } from './payloads';
import { routerFor } from './routers';

export interface AwsRuntime {
  config: Config;
  coordinator: Coordinator;
  store: StateStore;
  bus: EventBus;
  router: Router;
  logger: Logger;
  /** Metrics (EMF) and spans (X-Ray); `flush()` once per invocation. */
  telemetry: PowertoolsTelemetry;
  /** The claim-check store (S3, `PAYLOAD_BUCKET`); built on first use. None without a bucket. */
  payloads?: PayloadStore;
}

export interface AwsRuntimeOverrides extends CoreOverrides {
  dynamo?: DynamoDBDocumentClient;
  eventBridge?: Pick<EventBridgeClient, 'send'>;
  sqs?: Pick<SQSClient, 'send'>;
  bedrock?: Pick<BedrockRuntimeClient, 'send'>;
  s3?: Pick<S3Client, 'send'>;
}

/**
 * Tracing is on with `POWERTOOLS_TRACE_ENABLED=true` (serverless.yml sets it with active X-Ray
 * tracing, param `tracing`); only then is the tracer (and the X-Ray SDK) loaded.
 */
function tracingOn(env: Record<string, string | undefined>): boolean {
  return ['true', '1'].includes(env.POWERTOOLS_TRACE_ENABLED?.toLowerCase() ?? '');
}

export function createAwsRuntime(
  env: Record<string, string | undefined> = process.env,
  overrides: AwsRuntimeOverrides = {},
): AwsRuntime {
  const serviceName = env.POWERTOOLS_SERVICE_NAME || 'agent-coordinator';
  const logger =
    overrides.logger ??
    (() => {
      const { LOG_LEVEL, SENSITIVE_FIELDS } = loadConfig(env);
      return new PowertoolsLoggerAdapter({
        serviceName,
        level: LOG_LEVEL,
        sensitiveFields: SENSITIVE_FIELDS,
        base: { runtime: 'aws' },
      });
    })();
  const base = runtimeBase(env, { ...overrides, logger }, 'aws', ['rules', 'bedrock']);
  const { config, clock } = base;
  const region = config.AWS_REGION;

  const telemetry = new PowertoolsTelemetry({
    serviceName,
    metricsEnabled: !['true', '1'].includes(env.POWERTOOLS_METRICS_DISABLED?.toLowerCase() ?? ''),
    ...(tracingOn(env)
      ? {
          tracer: new (
            require('@aws-lambda-powertools/tracer') as typeof import('@aws-lambda-powertools/tracer')
          ).Tracer({ serviceName, enabled: true }),
        }
      : {}),
  });

  const store =
    overrides.store ??
    new DynamoStateStore(
      overrides.dynamo ?? documentClient(new DynamoDBClient({ region })),
      config.TABLE_NAME,
    );

  const eventBridge = new EventBridgeBus({
    eventBusName: config.EVENT_BUS_NAME,
    source: config.COORDINATION_SOURCE,
    client: overrides.eventBridge ?? new EventBridgeClient({ region }),
  });
  let bus: EventBus = eventBridge;
  if (overrides.bus) bus = overrides.bus;
  else if (config.AGENT_QUEUE_URL_TEMPLATE) {
    // Per-agent queues: only then is the SQS client loaded (the adapter brings it).
    const { SqsAgentQueueBus } =
      require('../adapters/aws/sqs-bus') as typeof import('../adapters/aws/sqs-bus');
    const { FanOutBus } =
      require('../adapters/aws/fanout-bus') as typeof import('../adapters/aws/fanout-bus');
    bus = new FanOutBus([
      eventBridge,
      new SqsAgentQueueBus({
        queueUrlTemplate: config.AGENT_QUEUE_URL_TEMPLATE,
        ...(overrides.sqs ? { client: overrides.sqs } : { region }),
      }),
    ]);
  }

  let llmClient: LlmClient | undefined = overrides.llmClient;
  if (!llmClient && !overrides.router && config.ROUTER === 'bedrock') {
    // The Bedrock client is loaded only for ROUTER=bedrock.
    const { BedrockLlmClient } =
      require('../adapters/aws/bedrock-client') as typeof import('../adapters/aws/bedrock-client');
    llmClient = new BedrockLlmClient({
      modelId: config.BEDROCK_MODEL_ID,
      region,
      ...(overrides.bedrock ? { client: overrides.bedrock } : {}),
    });
  }
  const router = overrides.router ?? routerFor(config, llmClient, clock, logger);

  const payloads = awsPayloadStore(config, overrides.s3);
  const coordinator = coordinatorFor({
    ...base,
    store,
    bus,
    router,
    telemetry: overrides.telemetry ?? telemetry,
    ...(payloads ? { payloads } : {}),
  });
  return { config, coordinator, store, bus, router, logger, telemetry, ...(payloads ? { payloads } : {}) };
}

/** The correlation id of an invocation: the EventBridge event id, the one SQS record's id, or a direct payload's. */
function correlationIdOf(event: unknown): string | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const e = event as {
    id?: unknown;
    Records?: Array<{ messageId?: unknown }>;
    correlation_id?: unknown;
    task_id?: unknown;
  };
  if (typeof e.correlation_id === 'string') return e.correlation_id;
  if (typeof e.id === 'string') return e.id;
  if (Array.isArray(e.Records) && e.Records.length === 1 && typeof e.Records[0]?.messageId === 'string')
    return e.Records[0].messageId;
  return typeof e.task_id === 'string' ? e.task_id : undefined;
}

/**
 * Wraps a handler: the instance's runtime, the Lambda context and correlation id on every log
 * line of the invocation, and the invocation's metrics flushed once, when it ends.
 */
export function lambdaHandler<E, R>(
  fn: (event: E, runtime: AwsRuntime) => Promise<R>,
): (event: E, context?: Context) => Promise<R> {
  return async (event, context) => {
    const runtime = awsRuntime();
    if (runtime.logger instanceof PowertoolsLoggerAdapter)
      runtime.logger.startInvocation(context, correlationIdOf(event));
    try {
      return await fn(event, runtime);
    } finally {
      runtime.telemetry.flush();
    }
  };
}

let current: AwsRuntime | undefined;

/** The runtime of this Lambda instance, built on first use (cold start) from `process.env`. */
export function awsRuntime(): AwsRuntime {
  current ??= createAwsRuntime(process.env);
  return current;
}

/** Replaces (or with undefined, forgets) the instance's runtime: for tests and embedding. */
export function setAwsRuntime(runtime: AwsRuntime | undefined): void {
  current = runtime;
}

/** The answer to one message: its result, or a throw when a retry can help (Lambda retries it). */
export function singleResult(outcome: Outcome | undefined): unknown {
  if (!outcome) throw new Error('no message in the invocation');
  if (outcome.status === 'retry') throw new RetryableInvocationError(outcome.code, outcome.error);
  if (outcome.status === 'dead_letter') return { error: outcome.code, reason: outcome.reason };
  return outcome.result;
}

export class RetryableInvocationError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'RetryableInvocationError';
  }
}
