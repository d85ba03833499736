/** Real Lambda event shapes, as AWS delivers them. */
import type { EventBridgeEvent, SQSEvent, SQSRecord } from 'aws-lambda';
import { randomUUID } from 'node:crypto';

const QUEUE_ARN = 'arn:aws:sqs:us-east-1:123456789012:agent-coordinator-inbound';

export function sqsRecord(body: string, messageId: string = randomUUID(), queueArn = QUEUE_ARN): SQSRecord {
  return {
    messageId,
    receiptHandle: `AQEB${messageId.replace(/-/g, '')}==`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(Date.now()),
      SenderId: 'AIDAIENQZJOLO23YVJ4VO',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: 'e4e68fb7bd0e697a0ae8f1bb342846b3',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: 'us-east-1',
  };
}

export function sqsEvent(...records: SQSRecord[]): SQSEvent {
  return { Records: records };
}

export function eventBridgeEvent(
  detailType: string,
  detail: unknown,
  source = 'agent-coordinator.agents',
): EventBridgeEvent<string, unknown> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': detailType,
    source,
    account: '123456789012',
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: [],
    detail,
  };
}

export function scheduledEvent(): EventBridgeEvent<'Scheduled Event', Record<string, never>> {
  return {
    ...eventBridgeEvent('Scheduled Event', {}, 'aws.events'),
    'detail-type': 'Scheduled Event',
    resources: ['arn:aws:events:us-east-1:123456789012:rule/agent-coordinator-sweep'],
    detail: {},
  };
}

/** The contract's detail-type for a direct message type. */
export const DETAIL_TYPE: Record<string, string> = {
  agent_state_change: 'Agent State Change',
  coordination_request: 'Coordination Request',
  task_completion: 'Task Completion',
  error_event: 'Error Event',
};
