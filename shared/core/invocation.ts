/**
 * What an invocation returns, shared by the direct Lambda handler and `POST /events`: the
 * result for a single message, `batchItemFailures` (with every outcome) for a batch.
 */
import type { Outcome } from './coordinator/coordinator';

export interface BatchResponse {
  batchItemFailures: Array<{ itemIdentifier: string }>;
  outcomes: Outcome[];
}

export function batchResponse(outcomes: readonly Outcome[]): BatchResponse {
  return {
    batchItemFailures: outcomes.filter((o) => o.status !== 'done').map((o) => ({ itemIdentifier: o.id })),
    outcomes: [...outcomes],
  };
}

/** True when the payload is a batch of records (SQS event) rather than one message. */
export function isBatchPayload(input: unknown): boolean {
  return (
    typeof input === 'object' && input !== null && Array.isArray((input as { Records?: unknown }).Records)
  );
}
