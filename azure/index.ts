/**
 * The Function App (Azure Functions v4 programming model): registers every function. Outside
 * the Functions host `@azure/functions` runs in test mode and skips registration; tests call
 * the handlers in `functions/` directly.
 */
import { app } from '@azure/functions';
import { httpHandler } from './functions/http';
import { serviceBusHandler } from './functions/service-bus';
import { sweepHandler } from './functions/sweep';

/** App setting holding the Service Bus connection string (also read by the runtime). */
const connection = 'SERVICE_BUS_CONNECTION';
export const INBOUND_QUEUE = 'coordinator-inbound';
export const COORDINATOR_SUBSCRIPTION = 'coordinator';

app.serviceBusQueue('inbound-queue', {
  connection,
  queueName: INBOUND_QUEUE,
  cardinality: 'one',
  handler: serviceBusHandler(),
});
app.serviceBusTopic('agent-events', {
  connection,
  topicName: '%SERVICE_BUS_TOPIC%',
  subscriptionName: COORDINATOR_SUBSCRIPTION,
  cardinality: 'one',
  handler: serviceBusHandler(),
});
app.http('api', {
  route: '{*path}',
  methods: ['GET', 'POST'],
  authLevel: 'function',
  handler: httpHandler(),
});
app.timer('sweep', { schedule: '%SWEEP_SCHEDULE%', handler: sweepHandler() });
