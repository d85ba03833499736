/**
 * SQS trigger (`functionResponseType: ReportBatchItemFailures`): every record is one delivery;
 * only the failed ones are reported, so only they are retried (and, past maxReceiveCount, go
 * to the dead-letter queue). On a FIFO queue processing stops at the first failure so that
 * order holds: the rest of the batch is reported failed too.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { batchResponse } from '../shared/core/invocation';
import { lambdaHandler } from '../shared/runtime/aws';

export const handler = lambdaHandler<SQSEvent, SQSBatchResponse>(async (event, { coordinator }) => {
  const ordered = event.Records.some((r) => r.eventSourceARN?.endsWith('.fifo'));
  const outcomes = await coordinator.handle(event, {}, { ordered });
  return { batchItemFailures: batchResponse(outcomes).batchItemFailures };
});
