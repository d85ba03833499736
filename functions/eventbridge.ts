/**
 * EventBridge rule target: the contract's detail-types (Agent State Change, Coordination
 * Request, Task Completion, Error Event) and scheduled events. EventBridge invokes Lambda
 * asynchronously: a throw makes Lambda retry, then the event goes to the on-failure queue.
 * A permanently invalid event is thrown too, so it lands there rather than vanishing.
 */
import type { EventBridgeEvent } from 'aws-lambda';
import { awsRuntime, singleResult } from '../shared/runtime/aws';

export async function handler(event: EventBridgeEvent<string, unknown>): Promise<unknown> {
  const [outcome] = await awsRuntime().coordinator.handle(event);
  if (outcome?.status === 'dead_letter') throw new Error(`${outcome.code}: ${outcome.reason}`);
  return singleResult(outcome);
}
