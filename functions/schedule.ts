/**
 * Scheduled sweep (EventBridge schedule): stale agents go offline, their tasks and tasks past
 * their deadline go back to the queue, unpublished events are republished, the queue is
 * drained. A failure throws so that the invocation is retried.
 */
import type { ScheduledEvent } from 'aws-lambda';
import { lambdaHandler } from '../shared/runtime/aws';

export const handler = lambdaHandler<ScheduledEvent | undefined, unknown>((_event, { coordinator }) =>
  coordinator.sweep(),
);
