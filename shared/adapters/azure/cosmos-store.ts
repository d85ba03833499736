/**
 * The state store on Azure Cosmos DB (NoSQL API): one container, partition key `/pk`.
 *
 * Partition design: records are spread over `SHARDS` logical partitions per kind by a hash of
 * their id (`agents#<n>`, `tasks#<n>`), so no logical partition takes more than 1/SHARDS of the
 * fleet's writes (Cosmos DB serves at most 10,000 RU/s per logical partition; see
 * docs/performance.md, "Cloud key design and capacity model"). Every listing is SHARDS parallel
 * single-partition queries (the partition key is always given: no query plan, no cross-partition
 * fan-out), merged here in index order; the cursor is the last sort key returned (it ends with
 * the id, so it is unique). The index fields live on the record's own document, written by the
 * same single-document write, so an index can never disagree with its record; they are present
 * only while they apply (sparse):
 *   `status` + `queue_key` (priority rank, age, id)   listTasksByStatus
 *   `queue` (queueKeyOf) while queued                  listQueue, ordered by queue_key
 *   `outbox_key` (the task id) while the outbox holds events   listPendingOutbox
 *   `due_key` (`<deadline_at>#<task_id>`) while assigned with a deadline   listOverdue
 * Queue keys are also kept as small documents in the partitions `qkeys#<copy>`, written once per
 * key per process in QUEUE_KEY_COPIES copies (the drain reads them on every completion; a read
 * takes one copy). The alternatives were weighed in docs/performance.md: one partition per record needs
 * cross-partition queries for every listing (a query plan, RU per physical partition), and
 * separate index documents cannot be written atomically with their record (a transactional
 * batch stays within one logical partition). Nothing is deployed yet: no migration.
 *
 * Concurrency: the record's `version` is checked (as in every store) and the write itself is
 * conditional: create fails with 409 if the document exists, replace carries `If-Match` with
 * the ETag of the version the caller read, so a concurrent writer makes it fail with 412.
 * Slot claims and releases are the exception (`claimAgentSlot`, `releaseAgentSlot`): one
 * conditional partial update (patch) of the agent's document each, its condition a filter
 * predicate on the slots rather than an ETag, so concurrent claims on one agent do not conflict.
 * A patch bumps `version` and changes the ETag like any write, so the versioned writes of the
 * agent (registration, heartbeat, going offline) still lose to it when they read before it.
 */
import { createHash } from 'node:crypto';
import type { Container, ItemDefinition, PatchOperation, Resource } from '@azure/cosmos';
import { ConditionFailedError, StoreUnavailableError, ValidationError } from '../../core/errors';
import {
  queueKeyOf,
  queueOrderKey,
  type AgentRecord,
  type TaskRecord,
  type TaskStatus,
} from '../../core/model';
import {
  systemClock,
  type Clock,
  type Page,
  type SlotClaim,
  type StateStore,
  type WriteStamp,
} from '../../core/ports';
import { check } from '../local/memory-store';
import { releaseSlotByPosition } from '../release-by-position';

/** Logical partitions per kind: 32 keeps each well under 10,000 RU/s at the fleet sizes modelled. */
export const SHARDS = 32;
export const QUEUE_KEYS_PARTITION = 'qkeys';
/** Copies of the queue-key directory, so its reads spread over several logical partitions. */
export const QUEUE_KEY_COPIES = 8;

/** A stable, uniform shard of an id (0..SHARDS-1). */
export function shardOf(id: string): number {
  return createHash('md5').update(id).digest().readUInt32BE(0) % SHARDS;
}
export const agentPartition = (agentId: string) => `agents#${shardOf(agentId)}`;
export const taskPartition = (taskId: string) => `tasks#${shardOf(taskId)}`;

/** The index fields of a task's document, present only while they apply. */
export function taskIndexFields(task: TaskRecord): Partial<StateDocument> {
  const fields: Partial<StateDocument> = { status: task.status, queue_key: queueOrderKey(task) };
  if (task.status === 'queued') fields.queue = queueKeyOf(task);
  if (task.outbox.length > 0) fields.outbox_key = task.task_id;
  if (task.status === 'assigned' && task.deadline_at) fields.due_key = `${task.deadline_at}#${task.task_id}`;
  return fields;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

type Kind = 'agent' | 'task';

/** The stored document: the record untouched under `record`, plus what the queries need. */
export interface StateDocument<R = AgentRecord | TaskRecord> extends ItemDefinition {
  id: string;
  pk: string;
  kind: Kind;
  /** Tasks only: filtered and ordered on by `listTasksByStatus`. */
  status?: TaskStatus;
  queue_key?: string;
  /** Tasks only, each present only while it applies: the sparse indexes. */
  queue?: string;
  outbox_key?: string;
  due_key?: string;
  /** Cosmos DB's per-item TTL in seconds from the last write (the record's `ttl` is epoch seconds). */
  ttl: number;
  record: R;
}

export interface CosmosStateStoreOptions {
  clock?: Clock;
  /** ETags remembered from reads, so an update needs no extra read (default 5000). */
  etagCacheSize?: number;
}

export class CosmosStateStore implements StateStore {
  readonly name = 'cosmos';
  private readonly clock: Clock;
  private readonly etags = new Map<string, { version: number; etag: string }>();
  private readonly etagCacheSize: number;
  /** Queue keys this process has already written to the directory. */
  private readonly knownQueueKeys = new Set<string>();

  constructor(
    private readonly container: Container,
    options: CosmosStateStoreOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.etagCacheSize = options.etagCacheSize ?? 5000;
  }

  getAgent(agentId: string): Promise<AgentRecord | undefined> {
    return this.read<AgentRecord>(agentPartition(agentId), agentId);
  }

  getTask(taskId: string): Promise<TaskRecord | undefined> {
    return this.read<TaskRecord>(taskPartition(taskId), taskId);
  }

  /** SHARDS parallel single-partition queries. */
  async listAgents(): Promise<AgentRecord[]> {
    const shards = await Promise.all(
      range(SHARDS).map((n) =>
        this.query<AgentRecord>(
          { query: 'SELECT * FROM c WHERE c.pk = @pk', parameters: [{ name: '@pk', value: `agents#${n}` }] },
          `agents#${n}`,
        ),
      ),
    );
    return shards.flat().sort((a, b) => byKey(a.agent_id, b.agent_id));
  }

  async listTasksByStatus(status: TaskStatus, limit = 100): Promise<TaskRecord[]> {
    const page = await this.sharded(
      'queue_key',
      'c.status = @status',
      [{ name: '@status', value: status }],
      limit,
    );
    return page.items;
  }

  listQueue(queueKey: string, limit: number, cursor?: string): Promise<Page<TaskRecord>> {
    return this.sharded(
      'queue_key',
      'c.queue = @queue',
      [{ name: '@queue', value: queueKey }],
      limit,
      cursor,
    );
  }

  /** One query of the directory partition; keys whose queue emptied may be listed (the port allows it). */
  async listQueueKeys(): Promise<string[]> {
    const pk = `${QUEUE_KEYS_PARTITION}#${Math.floor(Math.random() * QUEUE_KEY_COPIES)}`;
    try {
      const { resources } = await this.container.items
        .query<{ key: string }>(
          { query: 'SELECT * FROM c WHERE c.pk = @pk', parameters: [{ name: '@pk', value: pk }] },
          { partitionKey: pk },
        )
        .fetchAll();
      return resources.map((d) => d.key).sort(byKey);
    } catch (err) {
      throw storeError(err, `query ${pk}`);
    }
  }

  listPendingOutbox(limit: number, cursor?: string): Promise<Page<TaskRecord>> {
    return this.sharded('outbox_key', undefined, [], limit, cursor);
  }

  listOverdue(before: string, limit: number, cursor?: string): Promise<Page<TaskRecord>> {
    return this.sharded(
      'due_key',
      'c.due_key < @before',
      [{ name: '@before', value: before }],
      limit,
      cursor,
    );
  }

  putAgent(agent: AgentRecord, expectedVersion: number | null): Promise<void> {
    return this.write('agent', agentPartition(agent.agent_id), agent.agent_id, agent, expectedVersion);
  }

  /**
   * One conditional patch of the agent's document: appends the task to `active_task_ids` if the
   * agent does not hold it and, unless `force`, is `available` with `active_tasks <
   * max_concurrent_tasks`. Cosmos DB applies the writes of one document one after another and
   * evaluates the condition on the document it is about to change, so concurrent claims each get
   * a slot while one is free. A failed condition (412) reads the agent to tell "full" from
   * "already held" (the client keeps the 412's session token, so the read is at least as new as
   * what the condition saw); no document (404) is no agent.
   */
  async claimAgentSlot(
    agentId: string,
    taskId: string,
    stamp: WriteStamp,
    force: boolean,
  ): Promise<SlotClaim | undefined> {
    const free = force
      ? ''
      : `c.record.status = 'available' AND c.record.active_tasks < c.record.max_concurrent_tasks AND `;
    try {
      const agent = await this.patchSlots(
        agentId,
        `FROM c WHERE ${free}NOT ARRAY_CONTAINS(c.record.active_task_ids, ${sqlString(taskId)})`,
        [{ op: 'add', path: '/record/active_task_ids/-', value: taskId }, ...this.slotStamp(stamp, 1)],
      );
      return agent && { agent, claimed: true };
    } catch (err) {
      if (!(err instanceof ConditionFailedError)) throw err;
      const agent = await this.getAgent(agentId);
      return agent && { agent, claimed: agent.active_task_ids.includes(taskId) };
    }
  }

  /**
   * Removes the task from `active_task_ids` by position (a patch path is a position, not a
   * value), on the condition that the position still holds it: claims only append, so only a
   * concurrent release of an earlier slot of the same agent moves it, and then the position is
   * read again, at most RELEASE_ATTEMPTS times. A stale read only costs an attempt: the
   * condition is checked on the document being written, and the client keeps the session token
   * of a 412, so the next read is at least as new as what the condition saw.
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
        this.patchSlots(agentId, `FROM c WHERE c.record.active_task_ids[${at}] = ${sqlString(taskId)}`, [
          { op: 'remove', path: `/record/active_task_ids/${at}` },
          ...this.slotStamp(stamp, -1),
        ]),
    );
  }

  /** What every slot change sets besides the list: the count, the version, the stamp, both TTLs. */
  private slotStamp(stamp: WriteStamp, delta: 1 | -1): PatchOperation[] {
    return [
      { op: 'incr', path: '/record/active_tasks', value: delta },
      { op: 'incr', path: '/record/version', value: 1 },
      { op: 'set', path: '/record/updated_at', value: stamp.updatedAt },
      { op: 'set', path: '/record/ttl', value: stamp.ttl },
      { op: 'set', path: '/ttl', value: this.ttlSeconds(stamp.ttl) },
    ];
  }

  /**
   * One conditional patch of an agent's document; the agent as it is after it, or undefined when
   * there is no such document. A false condition throws `ConditionFailedError` (412).
   */
  private async patchSlots(
    agentId: string,
    condition: string,
    operations: PatchOperation[],
  ): Promise<AgentRecord | undefined> {
    const pk = agentPartition(agentId);
    try {
      const { resource } = await this.container
        .item(documentId(agentId), pk)
        .patch<StateDocument<AgentRecord>>({ condition, operations });
      if (!resource)
        throw new StoreUnavailableError(`Cosmos DB answered a patch of agent ${agentId} with no document`);
      this.remember(pk, agentId, resource.record.version, resource._etag);
      return resource.record;
    } catch (err) {
      this.etags.delete(cacheKey(pk, agentId));
      if (statusOf(err) === 404) return undefined;
      throw storeError(err, `agent ${agentId} slots`);
    }
  }

  async putTask(task: TaskRecord, expectedVersion: number | null): Promise<void> {
    if (task.status === 'queued') await this.rememberQueueKey(queueKeyOf(task));
    return this.write(
      'task',
      taskPartition(task.task_id),
      task.task_id,
      task,
      expectedVersion,
      taskIndexFields(task),
    );
  }

  /**
   * A page of one sparse index: in every task partition the first `limit` documents whose `field`
   * is after the cursor (and match `where`), merged in `field` order and cut at `limit`.
   */
  private async sharded(
    field: 'queue_key' | 'outbox_key' | 'due_key',
    where: string | undefined,
    parameters: Array<{ name: string; value: string | number }>,
    limit: number,
    cursor = '',
  ): Promise<Page<TaskRecord>> {
    const query = `SELECT TOP @limit * FROM c WHERE c.pk = @pk AND c.${field} > @after${where ? ` AND ${where}` : ''} ORDER BY c.${field} ASC`;
    const heads = await Promise.all(
      range(SHARDS).map((n) =>
        this.query<TaskRecord>(
          {
            query,
            parameters: [
              { name: '@limit', value: limit },
              { name: '@pk', value: `tasks#${n}` },
              { name: '@after', value: cursor },
              ...parameters,
            ],
          },
          `tasks#${n}`,
        ),
      ),
    );
    const sortKey = (t: TaskRecord) => taskIndexFields(t)[field] as string;
    const items = heads
      .flat()
      .map((t) => ({ t, k: sortKey(t) }))
      .sort((a, b) => byKey(a.k, b.k))
      .slice(0, limit);
    const last = items[items.length - 1];
    const tasks = items.map((e) => e.t);
    return items.length === limit && last ? { items: tasks, cursor: last.k } : { items: tasks };
  }

  /** Writes a queue key to the directory once per process (before the task, so it is never missing). */
  private async rememberQueueKey(queueKey: string): Promise<void> {
    if (this.knownQueueKeys.has(queueKey)) return;
    await Promise.all(
      range(QUEUE_KEY_COPIES).map(async (copy) => {
        try {
          await this.container.items.create({
            id: documentId(queueKey),
            pk: `${QUEUE_KEYS_PARTITION}#${copy}`,
            kind: 'queue_key',
            key: queueKey,
          });
        } catch (err) {
          if (statusOf(err) !== 409) throw storeError(err, `queue key ${queueKey}`);
        }
      }),
    );
    this.knownQueueKeys.add(queueKey);
  }

  // ------------------------------------------------------------------ internals

  private async read<R extends AgentRecord | TaskRecord>(pk: string, key: string): Promise<R | undefined> {
    let resource: (StateDocument<R> & Resource) | undefined;
    try {
      ({ resource } = await this.container.item(documentId(key), pk).read<StateDocument<R>>());
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw storeError(err, `read ${pk}/${key}`);
    }
    if (!resource) return undefined;
    this.remember(pk, key, resource.record.version, resource._etag);
    return resource.record;
  }

  private async query<R extends AgentRecord | TaskRecord>(
    spec: { query: string; parameters: Array<{ name: string; value: string | number }> },
    pk: string,
  ): Promise<R[]> {
    try {
      const { resources } = await this.container.items
        .query<StateDocument<R> & Resource>(spec, { partitionKey: pk })
        .fetchAll();
      return resources.map((doc) => {
        this.remember(pk, recordKey(doc.record), doc.record.version, doc._etag);
        return doc.record;
      });
    } catch (err) {
      throw storeError(err, `query ${pk}`);
    }
  }

  private async write(
    kind: Kind,
    pk: string,
    key: string,
    record: AgentRecord | TaskRecord,
    expected: number | null,
    extra: Partial<StateDocument> = {},
  ): Promise<void> {
    const what = `${kind} ${key}`;
    const doc: StateDocument = {
      id: documentId(key),
      pk,
      kind,
      ...extra,
      ttl: this.ttlSeconds(record.ttl),
      record,
    };
    if (expected === null) {
      check(undefined, null, record.version, what);
      return this.create(doc, what);
    }
    let cached = this.etags.get(cacheKey(pk, key));
    if (!cached || cached.version !== expected) {
      // Unknown ETag: read the current document once to learn its version and ETag.
      await this.read(pk, key);
      cached = this.etags.get(cacheKey(pk, key));
    }
    check(cached?.version, expected, record.version, what);
    try {
      const { resource } = await this.container
        .item(doc.id, pk)
        .replace(doc, { accessCondition: { type: 'IfMatch', condition: cached!.etag } });
      this.remember(pk, key, record.version, resource?._etag);
    } catch (err) {
      this.etags.delete(cacheKey(pk, key));
      throw storeError(err, what);
    }
  }

  private async create(doc: StateDocument, what: string): Promise<void> {
    try {
      const { resource } = await this.container.items.create(doc);
      this.remember(doc.pk, recordKey(doc.record), doc.record.version, resource?._etag);
    } catch (err) {
      throw storeError(err, what);
    }
  }

  /** Cosmos DB's `ttl` counts from the write; at least 1 s (0 or less is rejected or means "never"). */
  private ttlSeconds(epochSeconds: number): number {
    return Math.max(1, Math.floor(epochSeconds - this.clock.now() / 1000));
  }

  private remember(pk: string, key: string, version: number, etag: string | undefined): void {
    const k = cacheKey(pk, key);
    this.etags.delete(k);
    if (!etag) return;
    this.etags.set(k, { version, etag });
    if (this.etags.size > this.etagCacheSize) this.etags.delete(this.etags.keys().next().value!);
  }
}

const cacheKey = (pk: string, key: string) => `${pk}\u0000${key}`;
/**
 * A string constant of the query language: its escapes are JSON's (`\"`, `\\`, `\n`, `\uXXXX`,
 * ...), so any id, whatever it holds, is one literal and never changes the predicate around it.
 */
const sqlString = (value: string) => JSON.stringify(value);
const recordKey = (r: AgentRecord | TaskRecord) => ('task_id' in r ? r.task_id : r.agent_id);

/**
 * Cosmos DB ids may not contain `/ \ ? #` and are limited to 255 characters; record ids may.
 * Safe ids are kept (readable in Data Explorer), others become a hash (the record keeps the id).
 */
export function documentId(key: string): string {
  if (/^[A-Za-z0-9._-]{1,200}$/.test(key)) return key;
  return `h~${createHash('sha256').update(key).digest('hex')}`;
}

function statusOf(err: unknown): number | undefined {
  const code =
    (err as { code?: unknown; statusCode?: unknown })?.code ?? (err as { statusCode?: unknown })?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/**
 * 409/412/404 on a write mean a lost race; throttling, timeouts and 5xx mean "try again later";
 * 400 and 413 mean the request itself is wrong (permanent).
 */
export function storeError(err: unknown, what: string): Error {
  if (err instanceof ConditionFailedError || err instanceof StoreUnavailableError) return err;
  const status = statusOf(err);
  const message = (err as Error)?.message?.split('\n')[0] ?? String(err);
  if (status === 409) return new ConditionFailedError(`${what}: already exists`, { cause: err });
  if (status === 412)
    return new ConditionFailedError(`${what}: changed concurrently (ETag mismatch)`, { cause: err });
  if (status === 404) return new ConditionFailedError(`${what}: does not exist`, { cause: err });
  // 400 (a malformed document or id) and 413 (past the 2 MB document limit) fail the same way
  // on every redelivery: permanent, so the message goes to the failure path with this reason.
  if (status === 400 || status === 413) {
    return new ValidationError(
      status === 413
        ? `${what} is larger than Cosmos DB's 2 MB document limit: ${message}`
        : `${what} was refused by Cosmos DB (HTTP 400): ${message}`,
      '',
      { cause: err },
    );
  }
  if (
    status === undefined ||
    status === 408 ||
    status === 410 ||
    status === 429 ||
    status === 449 ||
    status >= 500
  ) {
    return new StoreUnavailableError(
      `Cosmos DB unavailable (${what}${status ? `, HTTP ${status}` : ''}): ${message}`,
      { cause: err },
    );
  }
  return err instanceof Error ? err : new Error(message);
}
