/**
 * The DynamoDB state store (one table, `@aws-sdk/lib-dynamodb`).
 *
 * Key design:
 *   agent  pk = 'AGENT',        sk = <agent_id>   every agent in one partition: listAgents is one Query
 *   task   pk = 'TASK#<id>',    sk = 'TASK'
 *          gsi1pk = 'STATUS#<status>', gsi1sk = queueOrderKey(task)  listTasksByStatus is one Query
 * Records are stored as native attributes (readable in the console); `version` guards every
 * write (`attribute_not_exists(pk)` to create, `version = :expected` to update) and `ttl` is
 * the table's TTL attribute. Key attributes are stripped on read so records round-trip exactly.
 */
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import {
  ConditionFailedError,
  errorMessage,
  StoreUnavailableError,
  ValidationError,
} from '../../core/errors';
import { queueOrderKey, type AgentRecord, type TaskRecord, type TaskStatus } from '../../core/model';
import type { StateStore } from '../../core/ports';

export const AGENT_PARTITION = 'AGENT';
export const STATUS_INDEX = 'gsi1';
const TASK_SK = 'TASK';
const KEY_ATTRIBUTES = ['pk', 'sk', 'gsi1pk', 'gsi1sk'] as const;

const taskKey = (taskId: string) => ({ pk: `TASK#${taskId}`, sk: TASK_SK });
const statusKey = (status: TaskStatus) => `STATUS#${status}`;

/** The table this store expects (the same shape serverless.yml deploys; tests create it). */
export function dynamoTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
      { AttributeName: 'gsi1pk', AttributeType: 'S' },
      { AttributeName: 'gsi1sk', AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: STATUS_INDEX,
        KeySchema: [
          { AttributeName: 'gsi1pk', KeyType: 'HASH' },
          { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ],
  };
}

/** The document client the store wants: undefined fields dropped, nothing else converted. */
export function documentClient(client: DynamoDBClient = new DynamoDBClient({})): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

export class DynamoStateStore implements StateStore {
  readonly name = 'dynamodb';

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  async getAgent(agentId: string): Promise<AgentRecord | undefined> {
    return this.get<AgentRecord>({ pk: AGENT_PARTITION, sk: agentId });
  }

  async listAgents(): Promise<AgentRecord[]> {
    return this.query<AgentRecord>({
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': AGENT_PARTITION },
      ConsistentRead: true,
    });
  }

  async putAgent(agent: AgentRecord, expectedVersion: number | null): Promise<void> {
    await this.put(
      { ...agent, pk: AGENT_PARTITION, sk: agent.agent_id },
      expectedVersion,
      `agent ${agent.agent_id}`,
    );
  }

  async getTask(taskId: string): Promise<TaskRecord | undefined> {
    return this.get<TaskRecord>(taskKey(taskId));
  }

  async putTask(task: TaskRecord, expectedVersion: number | null): Promise<void> {
    const item = {
      ...task,
      ...taskKey(task.task_id),
      gsi1pk: statusKey(task.status),
      gsi1sk: queueOrderKey(task),
    };
    await this.put(item, expectedVersion, `task ${task.task_id}`);
  }

  async listTasksByStatus(status: TaskStatus, limit = 100): Promise<TaskRecord[]> {
    return this.query<TaskRecord>(
      {
        TableName: this.tableName,
        IndexName: STATUS_INDEX,
        KeyConditionExpression: 'gsi1pk = :s',
        ExpressionAttributeValues: { ':s': statusKey(status) },
        ScanIndexForward: true,
        Limit: limit,
      },
      limit,
    );
  }

  private async get<T>(key: Record<string, string>): Promise<T | undefined> {
    const out = await this.call(() =>
      this.doc.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true })),
    );
    return out.Item ? strip<T>(out.Item) : undefined;
  }

  /** One Query; further pages only when DynamoDB cut the answer at 1 MB before `limit`. */
  private async query<T>(input: QueryCommand['input'], limit = Infinity): Promise<T[]> {
    const items: T[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.call(() =>
        this.doc.send(new QueryCommand({ ...input, ...(start ? { ExclusiveStartKey: start } : {}) })),
      );
      for (const item of page.Items ?? []) items.push(strip<T>(item));
      start = page.LastEvaluatedKey;
    } while (start && items.length < limit);
    return items.slice(0, limit);
  }

  private async put(
    item: Record<string, unknown> & { version: number },
    expectedVersion: number | null,
    what: string,
  ): Promise<void> {
    if (item.version !== (expectedVersion ?? 0) + 1) {
      throw new ConditionFailedError(`${what}: new version ${item.version} must be expected version + 1`);
    }
    const condition =
      expectedVersion === null
        ? { ConditionExpression: 'attribute_not_exists(pk)' }
        : {
            ConditionExpression: '#v = :expected',
            ExpressionAttributeNames: { '#v': 'version' },
            ExpressionAttributeValues: { ':expected': expectedVersion },
          };
    await this.call(
      () => this.doc.send(new PutCommand({ TableName: this.tableName, Item: item, ...condition })),
      what,
      expectedVersion,
    );
  }

  /** Maps DynamoDB failures onto the core's error family. */
  private async call<T>(op: () => Promise<T>, what = 'read', expected?: number | null): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw mapDynamoError(err, what, expected);
    }
  }
}

const UNAVAILABLE = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'ResourceNotFoundException',
  'TimeoutError',
  'AbortError',
]);

/** Errors DynamoDB gives for a request that can never succeed as it is. */
const PERMANENT = new Set(['ValidationException', 'SerializationException']);

export function mapDynamoError(err: unknown, what: string, expected?: number | null): Error {
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const name = e?.name ?? '';
  if (name === 'ConditionalCheckFailedException') {
    return new ConditionFailedError(
      `${what}: expected version ${expected ?? 'none'} does not match the stored one`,
      {
        cause: err,
      },
    );
  }
  if (name === 'ValidationException' && /item size/i.test(errorMessage(err))) {
    return new ValidationError(`${what} is larger than DynamoDB's 400 KB item limit`, '', { cause: err });
  }
  // Every other ValidationException (a key past its size limit, an empty key, a bad attribute)
  // is about the request itself: the same request fails the same way on every redelivery.
  if (PERMANENT.has(name)) {
    return new ValidationError(
      `${what} was refused by DynamoDB: ${name}: ${errorMessage(err).slice(0, 300)}`,
      '',
      { cause: err },
    );
  }
  const status = e?.$metadata?.httpStatusCode ?? 0;
  // No HTTP status: the request never got an answer (connection refused, reset, DNS).
  if (UNAVAILABLE.has(name) || status >= 500 || status === 0) {
    return new StoreUnavailableError(
      `DynamoDB unavailable (${what}): ${name || 'error'}: ${errorMessage(err)}`,
      {
        cause: err,
      },
    );
  }
  return err instanceof Error ? err : new Error(String(err));
}

function strip<T>(item: Record<string, unknown>): T {
  const copy = { ...item };
  for (const key of KEY_ATTRIBUTES) delete copy[key];
  return copy as T;
}
