/** `agent-coordinator/aws`: the AWS runtime (DynamoDB, EventBridge, SQS, Bedrock) for embedding. */
export {
  awsRuntime,
  createAwsRuntime,
  RetryableInvocationError,
  setAwsRuntime,
  singleResult,
  type AwsRuntime,
  type AwsRuntimeOverrides,
} from '../runtime/aws';
export { DynamoStateStore, documentClient, dynamoTableDefinition } from '../adapters/aws/dynamo-store';
export { EventBridgeBus, type EventBridgeBusOptions } from '../adapters/aws/eventbridge-bus';
export { SqsAgentQueueBus, type SqsBusOptions } from '../adapters/aws/sqs-bus';
export { FanOutBus } from '../adapters/aws/fanout-bus';
export { BedrockLlmClient, type BedrockClientOptions } from '../adapters/aws/bedrock-client';
