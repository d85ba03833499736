/**
 * Direct invocation (`aws lambda invoke`, Step Functions, another service): any inbound shape
 * of the contract. One message returns its result (an invalid one returns its error; a
 * retryable failure throws); a batch (`Records`) returns `batchItemFailures` with every outcome.
 */
import { batchResponse, isBatchPayload } from '../shared/core/invocation';
import { lambdaHandler, singleResult } from '../shared/runtime/aws';

export const handler = lambdaHandler<unknown, unknown>(async (input, { coordinator }) => {
  const outcomes = await coordinator.handle(input, { source: 'aws.lambda' });
  return isBatchPayload(input) ? batchResponse(outcomes) : singleResult(outcomes[0]);
});
