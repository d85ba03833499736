/**
 * Direct invocation (`aws lambda invoke`, Step Functions, another service): any inbound shape
 * of the contract. One message returns its result (an invalid one returns its error; a
 * retryable failure throws); a batch (`Records`) returns `batchItemFailures` with every outcome.
 */
import { batchResponse, isBatchPayload } from '../shared/core/invocation';
import { awsRuntime, singleResult } from '../shared/runtime/aws';

export async function handler(input: unknown): Promise<unknown> {
  const outcomes = await awsRuntime().coordinator.handle(input, { source: 'aws.lambda' });
  return isBatchPayload(input) ? batchResponse(outcomes) : singleResult(outcomes[0]);
}
