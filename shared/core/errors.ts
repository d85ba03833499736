/**
 * One error family for the whole core. Every error says whether a retry can help:
 * handlers map `retryable` to their platform (SQS batchItemFailures, Service Bus abandon,
 * Pub/Sub non-2xx) and permanent errors to the failure path (DLQ, dead-letter, reject).
 */
export class CoordinatorError extends Error {
  readonly retryable: boolean = false;
  readonly code: string = 'COORDINATOR_ERROR';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Permanent: the input is wrong and will stay wrong. `path` names the offending field. */
export class ValidationError extends CoordinatorError {
  override readonly code: string = 'INVALID_MESSAGE';
  constructor(
    message: string,
    readonly path: string = '',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Permanent: the message type is not one the contract knows. */
export class UnknownMessageTypeError extends ValidationError {
  override readonly code: string = 'UNKNOWN_MESSAGE_TYPE';
}

/** Permanent: the body is larger than the configured limit. */
export class PayloadTooLargeError extends ValidationError {
  override readonly code: string = 'PAYLOAD_TOO_LARGE';
}

/** Permanent: the referenced record does not exist. */
export class NotFoundError extends CoordinatorError {
  override readonly code: string = 'NOT_FOUND';
}

/** Retryable: an optimistic write lost a race (version changed under us). */
export class ConditionFailedError extends CoordinatorError {
  override readonly retryable = true;
  override readonly code: string = 'CONDITION_FAILED';
}

/** Retryable: the state store is throttling, timing out or unavailable. */
export class StoreUnavailableError extends CoordinatorError {
  override readonly retryable = true;
  override readonly code: string = 'STORE_UNAVAILABLE';
}

/** Retryable: the bus did not accept every event. */
export class PublishError extends CoordinatorError {
  override readonly retryable = true;
  override readonly code: string = 'PUBLISH_FAILED';
}

/** An LLM call failed; the resilient router turns this into a rules decision, never an outcome. */
export class RouterError extends CoordinatorError {
  override readonly code: string = 'ROUTER_FAILED';
  constructor(
    message: string,
    readonly reason: RouterFailureReason,
    options?: { cause?: unknown; retryAfterMs?: number },
  ) {
    super(message, options);
    this.retryAfterMs = options?.retryAfterMs;
    this.retryable =
      reason === 'throttled' || reason === 'server_error' || reason === 'timeout' || reason === 'network';
  }
  readonly retryAfterMs: number | undefined;
  override readonly retryable: boolean;
}

export type RouterFailureReason =
  | 'timeout'
  | 'throttled'
  | 'server_error'
  | 'client_error'
  | 'invalid_output'
  | 'circuit_open'
  | 'over_budget'
  | 'network';

/** Permanent: configuration is invalid. Thrown at cold start, never per message. */
export class ConfigError extends CoordinatorError {
  override readonly code: string = 'INVALID_CONFIG';
}

export function isRetryable(err: unknown): boolean {
  if (err instanceof CoordinatorError) return err.retryable;
  // Unknown errors (bugs, SDK errors not mapped by an adapter) are retried: losing a message is
  // worse than a redelivery, and the DLQ catches what keeps failing.
  return true;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
