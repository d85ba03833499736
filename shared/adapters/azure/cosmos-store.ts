/**
 * The state store on Azure Cosmos DB (NoSQL API): one container, partition key `/pk`.
 *
 * Partition design: every agent lives in the logical partition `agents` and every task in
 * `tasks`. Reading the registry (`listAgents`, on every routing decision) and listing a status
 * in queue order (`listTasksByStatus`, on every drain and sweep) are then single-partition
 * queries served by the index: no fan-out, no query plan, no cross-partition ORDER BY. The
 * price is Cosmos DB's per-logical-partition ceiling (20 GB, the RU/s of one physical
 * partition); the record TTL keeps finished tasks from accumulating (see docs/azure.md).
 *
 * Concurrency: the record's `version` is checked (as in every store) and the write itself is
 * conditional: create fails with 409 if the document exists, replace carries `If-Match` with
 * the ETag of the version the caller read, so a concurrent writer makes it fail with 412.
 */
import { createHash } from 'node:crypto';
import type { Container, ItemDefinition, Resource } from '@azure/cosmos';
import { ConditionFailedError, StoreUnavailableError, ValidationError } from '../../core/errors';
import { queueOrderKey, type AgentRecord, type TaskRecord, type TaskStatus } from '../../core/model';
import { systemClock, type Clock, type StateStore } from '../../core/ports';
import { check } from '../local/memory-store';

export const AGENTS_PARTITION = 'agents';
export const TASKS_PARTITION = 'tasks';

type Kind = 'agent' | 'task';

/** The stored document: the record untouched under `record`, plus what the queries need. */
export interface StateDocument<R = AgentRecord | TaskRecord> extends ItemDefinition {
  id: string;
  pk: string;
  kind: Kind;
  /** Tasks only: filtered and ordered on by `listTasksByStatus`. */
  status?: TaskStatus;
  queue_key?: string;
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

  constructor(
    private readonly container: Container,
    options: CosmosStateStoreOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.etagCacheSize = options.etagCacheSize ?? 5000;
  }

  getAgent(agentId: string): Promise<AgentRecord | undefined> {
    return this.read<AgentRecord>(AGENTS_PARTITION, agentId);
  }

  getTask(taskId: string): Promise<TaskRecord | undefined> {
    return this.read<TaskRecord>(TASKS_PARTITION, taskId);
  }

  async listAgents(): Promise<AgentRecord[]> {
    const docs = await this.query<AgentRecord>(
      { query: 'SELECT * FROM c WHERE c.pk = @pk', parameters: [{ name: '@pk', value: AGENTS_PARTITION }] },
      AGENTS_PARTITION,
    );
    return docs.sort((a, b) => a.agent_id.localeCompare(b.agent_id));
  }

  listTasksByStatus(status: TaskStatus, limit = 100): Promise<TaskRecord[]> {
    return this.query<TaskRecord>(
      {
        query: 'SELECT TOP @limit * FROM c WHERE c.pk = @pk AND c.status = @status ORDER BY c.queue_key ASC',
        parameters: [
          { name: '@limit', value: limit },
          { name: '@pk', value: TASKS_PARTITION },
          { name: '@status', value: status },
        ],
      },
      TASKS_PARTITION,
    );
  }

  putAgent(agent: AgentRecord, expectedVersion: number | null): Promise<void> {
    return this.write('agent', AGENTS_PARTITION, agent.agent_id, agent, expectedVersion);
  }

  putTask(task: TaskRecord, expectedVersion: number | null): Promise<void> {
    return this.write('task', TASKS_PARTITION, task.task_id, task, expectedVersion, {
      status: task.status,
      queue_key: queueOrderKey(task),
    });
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
