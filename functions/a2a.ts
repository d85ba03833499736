/**
 * A2A push notifications on AWS: a Lambda function URL (or an API Gateway HTTP API route)
 * for `POST /a2a/notifications`. Agents that speak A2A push their task updates here with the
 * per-task token the coordinator gave them; set `A2A_NOTIFICATION_URL` to this function's URL
 * (see docs/a2a.md). Without it, the schedule's sweep polls their tasks instead.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { lambdaHandler } from '../shared/runtime/aws';

export const handler = lambdaHandler<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>(
  async (event, { coordinator }) => {
    const json = (status: number, body: unknown) => ({
      statusCode: status,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (event.requestContext?.http?.method && event.requestContext.http.method !== 'POST') {
      return json(405, { error: 'method_not_allowed', reason: 'POST an A2A push notification' });
    }
    const raw = event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : event.body;
    let body: unknown;
    try {
      body = JSON.parse(raw ?? '');
    } catch {
      return json(400, { error: 'invalid_message', reason: 'body is not JSON' });
    }
    const answer = await coordinator.a2aNotification(body, event.headers ?? {});
    return json(answer.status, answer.body);
  },
);
