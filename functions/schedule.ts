/**
 * Scheduled sweep (EventBridge schedule): stale agents go offline, their tasks and tasks past
 * their deadline go back to the queue, unpublished events are republished, the queue is
 * drained. A failure throws so that the invocation is retried.
 */
import type { ScheduledEvent } from 'aws-lambda';
import { awsRuntime } from '../shared/runtime/aws';

export async function handler(_event?: ScheduledEvent): Promise<unknown> {
  return awsRuntime().coordinator.sweep();
}
