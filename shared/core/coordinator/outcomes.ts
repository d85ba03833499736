/**
 * What the core answers per delivery, and how an error becomes one: permanent errors (bad
 * input) go to the failure path with their reason, everything else is retried.
 */
import { CoordinatorError, errorMessage, isRetryable } from '../errors';
import type { Logger } from '../ports';

export type Outcome =
  | { id: string; status: 'done'; result: unknown }
  | { id: string; status: 'retry'; code: string; error: string }
  | { id: string; status: 'dead_letter'; code: string; reason: string };

export function done(id: string, result: unknown): Outcome {
  return { id, status: 'done', result };
}

export function failed(logger: Logger, id: string, err: unknown): Outcome {
  const code = err instanceof CoordinatorError ? err.code : 'INTERNAL_ERROR';
  if (!isRetryable(err)) {
    logger.warn('message rejected', { delivery_id: id, code, reason: errorMessage(err) });
    return { id, status: 'dead_letter', code, reason: errorMessage(err) };
  }
  logger.error('message failed; it will be retried', { delivery_id: id, code, error: errorMessage(err) });
  return { id, status: 'retry', code, error: errorMessage(err) };
}

export function fifoBlocked(id: string): Outcome {
  return {
    id,
    status: 'retry',
    code: 'FIFO_BLOCKED',
    error: 'not processed: an earlier message of this ordered batch failed',
  };
}
