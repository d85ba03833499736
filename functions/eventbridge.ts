/**
 * EventBridge rule target: the contract's detail-types (Agent State Change, Coordination
 * Request, Task Completion, Error Event) and scheduled events. EventBridge invokes Lambda
 * asynchronously: a throw makes Lambda retry, then the event goes to the on-failure queue.
 * A permanently invalid event is thrown too, so it lands there rather than vanishing.
 */
import type { EventBridgeEvent } from 'aws-lambda';
import { lambdaHandler, singleResult } from '../shared/runtime/aws';

export const handler = lambdaHandler<EventBridgeEvent<string, unknown>, unknown>(
  async (event, { coordinator }) => {
    const [outcome] = await coordinator.handle(event);
    if (outcome?.status === 'dead_letter') throw new Error(`${outcome.code}: ${outcome.reason}`);
    return singleResult(outcome);
  },
);
