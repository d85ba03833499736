/**
 * The DynamoDB state store (one table, `@aws-sdk/lib-dynamodb`).
 *
 * Key design (no partition key takes more than its share of the fleet's traffic; see
 * docs/performance.md, "Cloud key design and capacity model"):
 *
 *   agent      pk = 'AGENT#<id>', sk = 'AGENT'          one partition key per agent: a claim,
 *                                                       release or heartbeat writes only its agent
 *              agents:  apk = 'AGENTS#<shard>', ask = <agent_id>   (ALL)
 *                       listAgents = SHARDS parallel Queries; routing needs whole records (load,
 *                       status, capabilities), and an agent is < 1 KB, so ALL costs the same write
 *                       unit as KEYS_ONLY and saves a BatchGet per agent. Slot claims and releases
 *                       are UpdateItems on the agent (`claimAgentSlot`, `releaseAgentSlot`):
 *                       conditional on a free slot, not on the version, so they do not conflict
 *   task       pk = 'TASK#<id>',  sk = 'TASK'
 *              gsi1:    gsi1pk = 'STATUS#<status>#<shard>', gsi1sk = queueOrderKey   (KEYS_ONLY)
 *              queue:   qpk = 'Q#<queueKey>#<shard>', qsk = queueOrderKey  only while queued (KEYS_ONLY)
 *              outbox:  opk = 'OUTBOX#<shard>', osk = <task_id>  only while the outbox is not empty (KEYS_ONLY)
 *              due:     dpk = 'DUE#<shard>', dsk = '<deadline_at>#<task_id>'  only while assigned with a deadline (KEYS_ONLY)
 *   queue keys pk = 'QKEYS#<copy>', sk = <queueKey>    a small directory, written once per new key
 *                                                       per process (a cache), before the task, in
 *                                                       QUEUE_KEY_COPIES copies: the drain reads it on
 *                                                       every completion, each read takes one copy
 *
 * `<shard>` is a hash of the agent or task id modulo `SHARDS`, so the index entries of one
 * status, queue or index spread over `SHARDS` partition keys. A listing queries every shard for
 * its head after the cursor, merges the heads in index order and keeps `limit`; the cursor is the
 * last sort key returned (unique: it ends with the id). Task index entries churn at the task rate
 * and are read rarely and in small pages, so they project only keys (one write unit each, however
 * large the task) and the reader BatchGets the page with a consistent read, then drops any entry
 * the task has left since (GSIs are eventually consistent).
 *
 * Records are stored as native attributes (readable in the console); `version` guards every
 * write (`attribute_not_exists(pk)` to create, `version = :expected` to update) and `ttl` is
 * the table's TTL attribute. Key attributes are stripped on read so records round-trip exactly.
 * Nothing is deployed yet, so this layout replaced the first one (all agents under one key, a
 * status index projecting whole tasks) without a migration.
 */
import { createHash } from 'node:crypto';
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  ConditionFailedError,
  errorMessage,
  StoreUnavailableError,
  ValidationError,
} from '../../core/errors';
import {
  queueKeyOf,
  queueOrderKey,
  type AgentRecord,
  type TaskRecord,
  type TaskStatus,
} from '../../core/model';
import type { Page, SlotClaim, StateStore, WriteStamp } from '../../core/ports';
import { releaseSlotByPosition } from '../release-by-position';

/** Partition keys per sharded index: 32 keeps each under 1,000 WCU/s at 10,000 tasks/s (docs/performance.md). */
export const SHARDS = 32;
export const STATUS_INDEX = 'gsi1';
export const AGENTS_INDEX = 'agents';
export const QUEUE_INDEX = 'queue';
export const OUTBOX_INDEX = 'outbox';
export const DUE_INDEX = 'due';
export const QUEUE_KEYS_PARTITION = 'QKEYS';
/** Copies of the queue-key directory: reads spread over them (3,000 RCU/s each). */
export const QUEUE_KEY_COPIES = 8;
const AGENT_SK = 'AGENT';
const TASK_SK = 'TASK';
const KEY_ATTRIBUTES = [
  'pk',
  'sk',
  'gsi1pk',
  'gsi1sk',
  'apk',
  'ask',
  'qpk',
  'qsk',
  'opk',
  'osk',
  'dpk',
  'dsk',
] as const;
/** Attributes every atomic slot change sets: the count, the version, the write's stamp. */
const SLOT_NAMES = {
  '#ids': 'active_task_ids',
  '#active': 'active_tasks',
  '#v': 'version',
  '#updated': 'updated_at',
  '#ttl': 'ttl',
};
const slotStamp = (sign: '+' | '-') =>
  `#active = #active ${sign} :one, #v = #v + :one, #updated = :updated, #ttl = :ttl`;
const slotValues = (stamp: WriteStamp) => ({ ':one': 1, ':updated': stamp.updatedAt, ':ttl': stamp.ttl });
/** BatchGetItem takes at most 100 keys per request. */
const BATCH_GET_MAX = 100;

/** A stable, uniform shard of an id (0..shards-1). */
export function shardOf(id: string, shards = SHARDS): number {
  return createHash('md5').update(id).digest().readUInt32BE(0) % shards;
}

const agentKey = (agentId: string) => ({ pk: `AGENT#${agentId}`, sk: AGENT_SK });
const taskKey = (taskId: string) => ({ pk: `TASK#${taskId}`, sk: TASK_SK });

/** The index attributes of an agent item. */
export function agentIndexKeys(
  agent: Pick<AgentRecord, 'agent_id'>,
  shards = SHARDS,
): Record<string, string> {
  return { apk: `AGENTS#${shardOf(agent.agent_id, shards)}`, ask: agent.agent_id };
}

/** The index attributes of a task item: present only while the index applies (sparse GSIs). */
export function taskIndexKeys(task: TaskRecord, shards = SHARDS): Record<string, string> {
  const shard = shardOf(task.task_id, shards);
  const order = queueOrderKey(task);
  const keys: Record<string, string> = { gsi1pk: `STATUS#${task.status}#${shard}`, gsi1sk: order };
  if (task.status === 'queued') Object.assign(keys, { qpk: `Q#${queueKeyOf(task)}#${shard}`, qsk: order });
  if (task.outbox.length > 0) Object.assign(keys, { opk: `OUTBOX#${shard}`, osk: task.task_id });
  if (task.status === 'assigned' && task.deadline_at)
    Object.assign(keys, { dpk: `DUE#${shard}`, dsk: `${task.deadline_at}#${task.task_id}` });
  return keys;
}

/** Every key attribute (table and indexes) of the item a record is stored as; the capacity model reads it. */
export function dynamoItemKeys(record: AgentRecord | TaskRecord): Record<string, string> {
  return 'task_id' in record
    ? { ...taskKey(record.task_id), ...taskIndexKeys(record) }
    : { ...agentKey(record.agent_id), ...agentIndexKeys(record) };
}

const keysOnly = (name: string, hash: string, range: string) => ({
  IndexName: name,
  KeySchema: [
    { AttributeName: hash, KeyType: 'HASH' as const },
    { AttributeName: range, KeyType: 'RANGE' as const },
  ],
  Projection: { ProjectionType: 'KEYS_ONLY' as const },
});

/** The table this store expects (the same shape serverless.yml deploys; tests create it). */
export function dynamoTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: ['pk', 'sk', ...KEY_ATTRIBUTES.slice(2)].map((name) => ({
      AttributeName: name,
      AttributeType: 'S' as const,
    })),
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [
      keysOnly(STATUS_INDEX, 'gsi1pk', 'gsi1sk'),
      { ...keysOnly(AGENTS_INDEX, 'apk', 'ask'), Projection: { ProjectionType: 'ALL' } },
      keysOnly(QUEUE_INDEX, 'qpk', 'qsk'),
      keysOnly(OUTBOX_INDEX, 'opk', 'osk'),
      keysOnly(DUE_INDEX, 'dpk', 'dsk'),
    ],
  };
}

/** The document client the store wants: undefined fields dropped, nothing else converted. */
export function documentClient(client: DynamoDBClient = new DynamoDBClient({})): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/** One sharded index: its name, key attributes and the partition key of a shard. */
interface ShardedIndex {
  name: string;
  hash: string;
  range: string;
  partition: (shard: number) => string;
}

type Item = Record<string, unknown>;

export interface DynamoStoreOptions {
  /**
   * Partition keys per sharded index (default `SHARDS`). Part of the table's layout: every
   * process writing a table must use the same value (entries are found by their shard). Each
   * listing makes one Query per shard, so a local emulator (dynalite serves queries one at a
   * time) runs functional suites faster with a few; capacity needs the default.
   */
  shards?: number;
}

export class DynamoStateStore implements StateStore {
  readonly name = 'dynamodb';
  /** Queue keys this process has already written to the directory. */
  private readonly knownQueueKeys = new Set<string>();

  /** Partition keys per sharded index. */
  readonly shards: number;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
    options: DynamoStoreOptions = {},
  ) {
    this.shards = options.shards ?? SHARDS;
  }

  async getAgent(agentId: string): Promise<AgentRecord | undefined> {
    return this.get<AgentRecord>(agentKey(agentId));
  }

  /** One Query per shard of the agents index, in parallel (eventually consistent: claims are conditional). */
  async listAgents(): Promise<AgentRecord[]> {
    const shards = await Promise.all(
      range(this.shards).map((s) =>
        this.queryItems({
          IndexName: AGENTS_INDEX,
          KeyConditionExpression: 'apk = :p',
          ExpressionAttributeValues: { ':p': `AGENTS#${s}` },
        }),
      ),
    );
    return shards
      .flat()
      .map((item) => strip<AgentRecord>(item))
      .sort((a, b) => (a.agent_id < b.agent_id ? -1 : a.agent_id > b.agent_id ? 1 : 0));
  }

  async putAgent(agent: AgentRecord, expectedVersion: number | null): Promise<void> {
    await this.put(
      { ...agent, ...agentKey(agent.agent_id), ...agentIndexKeys(agent, this.shards) },
      expectedVersion,
      `agent ${agent.agent_id}`,
    );
  }

  /**
   * One UpdateItem: appends the task to `active_task_ids` under a condition (the agent exists,
   * does not hold the task, and unless `force` is available with `active_tasks <
   * max_concurrent_tasks`). DynamoDB applies concurrent updates of one item one after another,
   * so concurrent claims never conflict: each gets a slot while one is free. A failed condition
   * reads the agent (consistent) to tell "full" from "already held" from "no such agent".
   */
  async claimAgentSlot(
    agentId: string,
    taskId: string,
    stamp: WriteStamp,
    force: boolean,
  ): Promise<SlotClaim | undefined> {
    const names: Record<string, string> = { ...SLOT_NAMES };
    const values: Record<string, unknown> = { ...slotValues(stamp), ':task': taskId, ':added': [taskId] };
    let condition = 'attribute_exists(pk) AND NOT contains(#ids, :task)';
    if (!force) {
      condition += ' AND #status = :available AND #active < #max';
      Object.assign(names, { '#status': 'status', '#max': 'max_concurrent_tasks' });
      values[':available'] = 'available';
    }
    try {
      const agent = await this.updateSlots(
        agentId,
        `SET #ids = list_append(#ids, :added), ${slotStamp('+')}`,
        condition,
        names,
        values,
      );
      return { agent, claimed: true };
    } catch (err) {
      if (!(err instanceof ConditionFailedError)) throw err;
      const agent = await this.getAgent(agentId);
      return agent && { agent, claimed: agent.active_task_ids.includes(taskId) };
    }
  }

  /**
   * Removes the task from `active_task_ids` by position, on the condition that the position
   * still holds it (lists have no remove-by-value): claims only append, so only a concurrent
   * release of an earlier slot of the same agent moves it, and then the position is read again.
   */
  async releaseAgentSlot(
    agentId: string,
    taskId: string,
    stamp: WriteStamp,
  ): Promise<AgentRecord | undefined> {
    return releaseSlotByPosition(
      agentId,
      taskId,
      () => this.getAgent(agentId),
      (at) =>
        this.updateSlots(
          agentId,
          `REMOVE #ids[${at}] SET ${slotStamp('-')}`,
          `#ids[${at}] = :task`,
          SLOT_NAMES,
          { ...slotValues(stamp), ':task': taskId },
        ),
    );
  }

  /** One conditional UpdateItem of an agent's slots; the agent as it is after it. */
  private async updateSlots(
    agentId: string,
    update: string,
    condition: string,
    names: Record<string, string>,
    values: Record<string, unknown>,
  ): Promise<AgentRecord> {
    const out = await this.call(
      () =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: agentKey(agentId),
            UpdateExpression: update,
            ConditionExpression: condition,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ReturnValues: 'ALL_NEW',
          }),
        ),
      `agent ${agentId}`,
    );
    return strip<AgentRecord>(out.Attributes ?? {});
  }

  async getTask(taskId: string): Promise<TaskRecord | undefined> {
    return this.get<TaskRecord>(taskKey(taskId));
  }

  async putTask(task: TaskRecord, expectedVersion: number | null): Promise<void> {
    if (task.status === 'queued') await this.rememberQueueKey(queueKeyOf(task));
    const item = { ...task, ...taskKey(task.task_id), ...taskIndexKeys(task, this.shards) };
    await this.put(item, expectedVersion, `task ${task.task_id}`);
  }

  async listTasksByStatus(status: TaskStatus, limit = 100): Promise<TaskRecord[]> {
    const index: ShardedIndex = {
      name: STATUS_INDEX,
      hash: 'gsi1pk',
      range: 'gsi1sk',
      partition: (s) => `STATUS#${status}#${s}`,
    };
    return (await this.sharded(index, limit, undefined, undefined, (t) => t.status === status)).items;
  }

  async listQueue(queueKey: string, limit: number, cursor?: string): Promise<Page<TaskRecord>> {
    const index: ShardedIndex = {
      name: QUEUE_INDEX,
      hash: 'qpk',
      range: 'qsk',
      partition: (s) => `Q#${queueKey}#${s}`,
    };
    return this.sharded(
      index,
      limit,
      cursor,
      undefined,
      (t) => t.status === 'queued' && queueKeyOf(t) === queueKey,
    );
  }

  /** One Query of the directory; keys whose queue emptied may be listed (the port allows it). */
  async listQueueKeys(): Promise<string[]> {
    const items = await this.queryItems({
      KeyConditionExpression: 'pk = :p',
      ExpressionAttributeValues: {
        ':p': `${QUEUE_KEYS_PARTITION}#${Math.floor(Math.random() * QUEUE_KEY_COPIES)}`,
      },
      ConsistentRead: true,
    });
    return items.map((i) => i.sk as string);
  }

  async listPendingOutbox(limit: number, cursor?: string): Promise<Page<TaskRecord>> {
    const index: ShardedIndex = {
      name: OUTBOX_INDEX,
      hash: 'opk',
      range: 'osk',
      partition: (s) => `OUTBOX#${s}`,
    };
    return this.sharded(index, limit, cursor, undefined, (t) => t.outbox.length > 0);
  }

  async listOverdue(before: string, limit: number, cursor?: string): Promise<Page<TaskRecord>> {
    const index: ShardedIndex = { name: DUE_INDEX, hash: 'dpk', range: 'dsk', partition: (s) => `DUE#${s}` };
    return this.sharded(
      index,
      limit,
      cursor,
      before,
      (t) => t.status === 'assigned' && !!t.deadline_at && t.deadline_at < before,
    );
  }

  // ------------------------------------------------------------------ internals

  /**
   * A page of a sharded KEYS_ONLY index: each shard's head after `cursor` (and before `before`),
   * merged in sort-key order, cut at `limit`; then the tasks, read consistently in one BatchGet
   * (per 100), in index order, without those that no longer belong (`still`).
   */
  private async sharded(
    index: ShardedIndex,
    limit: number,
    cursor: string | undefined,
    before: string | undefined,
    still: (task: TaskRecord) => boolean,
  ): Promise<Page<TaskRecord>> {
    if (cursor !== undefined && before !== undefined && cursor >= before) return { items: [] };
    const { hash, range: sortKey } = index;
    const condition =
      cursor !== undefined && before !== undefined
        ? `${hash} = :p AND ${sortKey} BETWEEN :after AND :before`
        : cursor !== undefined
          ? `${hash} = :p AND ${sortKey} > :after`
          : before !== undefined
            ? `${hash} = :p AND ${sortKey} < :before`
            : `${hash} = :p`;
    const heads = await Promise.all(
      range(this.shards).map((s) =>
        this.queryItems(
          {
            IndexName: index.name,
            KeyConditionExpression: condition,
            ExpressionAttributeValues: {
              ':p': index.partition(s),
              ...(cursor !== undefined ? { ':after': cursor } : {}),
              ...(before !== undefined ? { ':before': before } : {}),
            },
            // BETWEEN includes the cursor itself: one more, dropped below.
            Limit: before !== undefined && cursor !== undefined ? limit + 1 : limit,
          },
          limit + 1,
        ),
      ),
    );
    const entries = heads
      .flat()
      .map((item) => ({ sortKey: item[sortKey] as string, pk: item.pk as string }))
      .filter((e) => cursor === undefined || e.sortKey > cursor)
      .filter((e) => before === undefined || e.sortKey < before)
      .sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0))
      .slice(0, limit);
    const tasks = await this.batchGet<TaskRecord>(entries.map((e) => ({ pk: e.pk, sk: TASK_SK })));
    const byKey = new Map(tasks.map((t) => [taskKey(t.task_id).pk, t]));
    const items = entries.flatMap((e) => {
      const t = byKey.get(e.pk);
      return t && still(t) ? [t] : [];
    });
    const last = entries[entries.length - 1];
    return entries.length === limit && last ? { items, cursor: last.sortKey } : { items };
  }

  /** Writes a queue key to the directory once per process (before the task, so it is never missing). */
  private async rememberQueueKey(queueKey: string): Promise<void> {
    if (this.knownQueueKeys.has(queueKey)) return;
    await Promise.all(
      range(QUEUE_KEY_COPIES).map((copy) =>
        this.call(
          () =>
            this.doc.send(
              new PutCommand({
                TableName: this.tableName,
                Item: { pk: `${QUEUE_KEYS_PARTITION}#${copy}`, sk: queueKey },
              }),
            ),
          `queue key ${queueKey}`,
        ),
      ),
    );
    this.knownQueueKeys.add(queueKey);
  }

  private async get<T>(key: Record<string, string>): Promise<T | undefined> {
    const out = await this.call(() =>
      this.doc.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true })),
    );
    return out.Item ? strip<T>(out.Item) : undefined;
  }

  /** Consistent reads of up to 100 keys per request; unprocessed keys are asked again. */
  private async batchGet<T>(keys: Array<Record<string, string>>): Promise<T[]> {
    const out: T[] = [];
    for (let i = 0; i < keys.length; i += BATCH_GET_MAX) {
      let pending: Array<Record<string, unknown>> = keys.slice(i, i + BATCH_GET_MAX);
      for (let round = 0; pending.length > 0; round++) {
        if (round >= 8)
          throw new StoreUnavailableError('DynamoDB left keys unprocessed after 8 BatchGet rounds');
        const request = { [this.tableName]: { Keys: pending, ConsistentRead: true } };
        const page = await this.call(() => this.doc.send(new BatchGetCommand({ RequestItems: request })));
        for (const item of page.Responses?.[this.tableName] ?? []) out.push(strip<T>(item));
        pending = page.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }
    }
    return out;
  }

  /** One Query (raw items); further pages only when DynamoDB cut the answer at 1 MB before `limit`. */
  private async queryItems(
    input: Omit<QueryCommand['input'], 'TableName'>,
    limit = Infinity,
  ): Promise<Item[]> {
    const items: Item[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.call(() =>
        this.doc.send(
          new QueryCommand({
            ...input,
            TableName: this.tableName,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        ),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start && items.length < limit && (input.Limit === undefined || items.length < input.Limit));
    return items;
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

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
