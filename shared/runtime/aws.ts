/**
 * Composition root of the AWS runtime: config -> SDK clients -> DynamoDB store, EventBridge
 * (+ per-agent SQS) bus, rules or Bedrock router -> Coordinator. Built once per Lambda cold
 * start (`awsRuntime()`); every client can be injected (`createAwsRuntime(env, overrides)`).
 * Endpoints follow the SDK's own settings (`AWS_ENDPOINT_URL_DYNAMODB`, ...), so local servers
 * need no code here.
 */
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type Config } from '../core/config';
import { Coordinator, type Outcome } from '../core/coordinator/coordinator';
import { type EventBus, type Logger, type Router, type StateStore } from '../core/ports';
import { BedrockLlmClient } from '../adapters/aws/bedrock-client';
import { documentClient, DynamoStateStore } from '../adapters/aws/dynamo-store';
import { EventBridgeBus } from '../adapters/aws/eventbridge-bus';
import { FanOutBus } from '../adapters/aws/fanout-bus';
import { SqsAgentQueueBus } from '../adapters/aws/sqs-bus';
import { coordinatorFor, runtimeBase, type CoreOverrides } from './compose';
import { routerFor } from './routers';

export interface AwsRuntime {
  config: Config;
  coordinator: Coordinator;
  store: StateStore;
  bus: EventBus;
  router: Router;
  logger: Logger;
}

export interface AwsRuntimeOverrides extends CoreOverrides {
  dynamo?: DynamoDBDocumentClient;
  eventBridge?: Pick<EventBridgeClient, 'send'>;
  sqs?: Pick<SQSClient, 'send'>;
  bedrock?: Pick<BedrockRuntimeClient, 'send'>;
}

export function createAwsRuntime(
  env: Record<string, string | undefined> = process.env,
  overrides: AwsRuntimeOverrides = {},
): AwsRuntime {
  const base = runtimeBase(env, overrides, 'aws', ['rules', 'bedrock']);
  const { config, clock, logger } = base;
  const region = config.AWS_REGION;

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
  const queues = config.AGENT_QUEUE_URL_TEMPLATE
    ? new SqsAgentQueueBus({
        queueUrlTemplate: config.AGENT_QUEUE_URL_TEMPLATE,
        client: overrides.sqs ?? new SQSClient({ region }),
      })
    : undefined;
  const bus = overrides.bus ?? (queues ? new FanOutBus([eventBridge, queues]) : eventBridge);

  const client =
    overrides.llmClient ??
    (config.ROUTER === 'bedrock'
      ? new BedrockLlmClient({
          modelId: config.BEDROCK_MODEL_ID,
          region,
          ...(overrides.bedrock ? { client: overrides.bedrock } : {}),
        })
      : undefined);
  const router = overrides.router ?? routerFor(config, client, clock, logger);

  const coordinator = coordinatorFor({ ...base, store, bus, router });
  return { config, coordinator, store, bus, router, logger };
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
