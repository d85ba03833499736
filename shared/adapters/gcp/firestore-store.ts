/**
 * The state store on Firestore (native mode): one document per agent and one per task, in two
 * collections. Optimistic concurrency uses Firestore's own preconditions: `create()` for a new
 * record (ALREADY_EXISTS means someone else created it), and for an update the version is
 * checked on a read and the write carries that read's `lastUpdateTime`, so any write in
 * between fails it (FAILED_PRECONDITION). No transactions, no locks.
 *
 * A document holds the record as JSON text (`record`): Firestore cannot store nested arrays or
 * `undefined`, and `task_data`/`result` are user content, so JSON text is the only way every
 * record round-trips exactly. The fields a query or an operator needs sit beside it: `status`,
 * `queue_key` (priority rank, age, id), `version`, `updated_at`, and `expires_at`, the Timestamp
 * a TTL policy deletes on.
 *
 * Indexes without hot ranges (docs/performance.md, "Cloud key design and capacity model"): every
 * task carries `shard` (a hash of its id modulo SHARDS), and the fields of the sparse indexes are
 * present only while they apply: `queue` (queueKeyOf) while queued, `outbox_key` (the id) while
 * the outbox holds events, `due_key` (`<deadline_at>#<id>`) while assigned with a deadline. Each
 * listing is SHARDS parallel queries `shard == n` ordered by its key after the cursor, merged here;
 * the composite indexes (gcp/deploy/firestore.indexes.json) put `shard` first, so the ever-growing
 * queue and deadline keys are written into SHARDS index ranges instead of one (Firestore's
 * guidance: about 500 writes/s into one range of sequential index values), and the index file
 * exempts those fields and the timestamps from single-field indexing. Queue keys are also kept as
 * documents of a small collection, written once per key per process. A document takes about one
 * sustained write per second (Firestore's guidance), so the model in docs/performance.md counts
 * the writes per agent document. Nothing is deployed yet: no migration.
 */
import {
  FieldValue,
  Firestore,
  Timestamp,
  type CollectionReference,
  type DocumentData,
} from '@google-cloud/firestore';
import { ConditionFailedError, StoreUnavailableError, ValidationError } from '../../core/errors';
import { createHash } from 'node:crypto';
import {
  queueKeyOf,
  queueOrderKey,
  type AgentRecord,
  type TaskRecord,
  type TaskStatus,
} from '../../core/model';
import type { Page, StateStore } from '../../core/ports';

export interface FirestoreStoreOptions {
  firestore?: Firestore;
  agentsCollection?: string;
  tasksCollection?: string;
  queueKeysCollection?: string;
  /** Prepended to every collection names (a namespace per environment or per test). */
  collectionPrefix?: string;
}

/** gRPC status codes the Firestore client reports in `err.code`. */
const GRPC = {
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNAVAILABLE: 14,
} as const;
/** The request itself is wrong (a document past 1 MiB, a name too long): no retry can help. */
const PERMANENT: ReadonlySet<number> = new Set([GRPC.INVALID_ARGUMENT, GRPC.OUT_OF_RANGE]);
const TRANSIENT: ReadonlySet<number> = new Set([
  GRPC.DEADLINE_EXCEEDED,
  GRPC.RESOURCE_EXHAUSTED,
  GRPC.UNAVAILABLE,
]);
const CONFLICT: ReadonlySet<number> = new Set([
  GRPC.ALREADY_EXISTS,
  GRPC.FAILED_PRECONDITION,
  GRPC.ABORTED,
  GRPC.NOT_FOUND,
]);

type Kind = 'agent' | 'task';

/** Index ranges per sparse index: the writes of one queue spread over this many. */
export const SHARDS = 32;

/** A stable, uniform shard of an id (0..SHARDS-1). */
export function shardOf(id: string): number {
  return createHash('md5').update(id).digest().readUInt32BE(0) % SHARDS;
}

type IndexField = 'queue_key' | 'outbox_key' | 'due_key';
/** Task fields present only while their index applies. */
const SPARSE_FIELDS = ['queue', 'outbox_key', 'due_key'] as const;
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export class FirestoreStateStore implements StateStore {
  readonly name = 'firestore';
  readonly firestore: Firestore;
  private readonly agents: CollectionReference;
  private readonly tasks: CollectionReference;
  private readonly queueKeys: CollectionReference;
  /** Queue keys this process has already written to the directory. */
  private readonly knownQueueKeys = new Set<string>();

  constructor(options: FirestoreStoreOptions = {}) {
    this.firestore = options.firestore ?? new Firestore();
    const prefix = options.collectionPrefix ?? '';
    this.agents = this.firestore.collection(`${prefix}${options.agentsCollection ?? 'agents'}`);
    this.tasks = this.firestore.collection(`${prefix}${options.tasksCollection ?? 'tasks'}`);
    this.queueKeys = this.firestore.collection(`${prefix}${options.queueKeysCollection ?? 'queue_keys'}`);
  }

  async getAgent(agentId: string): Promise<AgentRecord | undefined> {
    return this.read<AgentRecord>(this.agents, agentId);
  }

  /** One query of the agents collection: it holds agents only, so this reads no task. */
  async listAgents(): Promise<AgentRecord[]> {
    const snap = await guard(() => this.agents.get());
    return snap.docs.map((d) => decode<AgentRecord>(d.data()));
  }

  async putAgent(agent: AgentRecord, expectedVersion: number | null): Promise<void> {
    await this.write('agent', this.agents, agent.agent_id, agent, expectedVersion, agentFields(agent));
  }

  async getTask(taskId: string): Promise<TaskRecord | undefined> {
    return this.read<TaskRecord>(this.tasks, taskId);
  }

  async putTask(task: TaskRecord, expectedVersion: number | null): Promise<void> {
    if (task.status === 'queued') await this.rememberQueueKey(queueKeyOf(task));
    await this.write('task', this.tasks, task.task_id, task, expectedVersion, taskFields(task));
  }

  /** SHARDS queries `status == s AND shard == n ORDER BY queue_key LIMIT n` (index status, shard, queue_key). */
  async listTasksByStatus(status: TaskStatus, limit = 100): Promise<TaskRecord[]> {
    return (await this.sharded('queue_key', [['status', status]], limit)).items;
  }

  /** Index queue, shard, queue_key. */
  listQueue(queueKey: string, limit: number, cursor?: string): Promise<Page<TaskRecord>> {
    return this.sharded('queue_key', [['queue', queueKey]], limit, cursor);
  }

  /** One read of the small directory collection; keys whose queue emptied may be listed. */
  async listQueueKeys(): Promise<string[]> {
    const snap = await guard(() => this.queueKeys.get());
    return snap.docs.map((d) => d.get('key') as string).sort(byKey);
  }

  /** Index shard, outbox_key. */
  listPendingOutbox(limit: number, cursor?: string): Promise<Page<TaskRecord>> {
    return this.sharded('outbox_key', [], limit, cursor);
  }

  /** Index shard, due_key. */
  listOverdue(before: string, limit: number, cursor?: string): Promise<Page<TaskRecord>> {
    return this.sharded('due_key', [], limit, cursor, before);
  }

  /**
   * A page of one sparse index: per shard the first `limit` documents whose `field` is after the
   * cursor (and before `before`), merged in `field` order and cut at `limit`.
   */
  private async sharded(
    field: IndexField,
    equal: Array<[string, string]>,
    limit: number,
    cursor = '',
    before?: string,
  ): Promise<Page<TaskRecord>> {
    const heads = await Promise.all(
      range(SHARDS).map((n) => {
        let q = this.tasks.where('shard', '==', n);
        for (const [f, v] of equal) q = q.where(f, '==', v);
        q = q.where(field, '>', cursor);
        if (before !== undefined) q = q.where(field, '<', before);
        return guard(() => q.orderBy(field).limit(limit).get());
      }),
    );
    const entries = heads
      .flatMap((snap) => snap.docs)
      .map((d) => ({ key: d.get(field) as string, task: decode<TaskRecord>(d.data()) }))
      .sort((a, b) => byKey(a.key, b.key))
      .slice(0, limit);
    const last = entries[entries.length - 1];
    const items = entries.map((e) => e.task);
    return entries.length === limit && last ? { items, cursor: last.key } : { items };
  }

  /** Creates a queue key's directory document once per process (before the task, so it is never missing). */
  private async rememberQueueKey(queueKey: string): Promise<void> {
    if (this.knownQueueKeys.has(queueKey)) return;
    try {
      await guard(
        () => this.queueKeys.doc(docId(queueKey)).create({ key: queueKey }),
        `queue key ${queueKey}`,
      );
    } catch (err) {
      if (!(err instanceof ConditionFailedError)) throw err;
    }
    this.knownQueueKeys.add(queueKey);
  }

  async close(): Promise<void> {
    await this.firestore.terminate();
  }

  private async read<T>(collection: CollectionReference, id: string): Promise<T | undefined> {
    const snap = await guard(() => collection.doc(docId(id)).get());
    return snap.exists ? decode<T>(snap.data()!) : undefined;
  }

  private async write(
    kind: Kind,
    collection: CollectionReference,
    id: string,
    record: AgentRecord | TaskRecord,
    expectedVersion: number | null,
    fields: DocumentData,
  ): Promise<void> {
    const what = `${kind} ${id}`;
    const wanted = (expectedVersion ?? 0) + 1;
    if (record.version !== wanted)
      throw new ConditionFailedError(`${what}: version must be ${wanted}, got ${record.version}`);
    const ref = collection.doc(docId(id));
    const doc = {
      ...fields,
      record: JSON.stringify(record),
      version: record.version,
      updated_at: record.updated_at,
      expires_at: Timestamp.fromMillis(record.ttl * 1000),
    };
    if (expectedVersion === null) {
      await guard(() => ref.create(doc), what);
      return;
    }
    const current = await guard(() => ref.get());
    const stored = current.exists ? (current.get('version') as number | undefined) : undefined;
    if (stored !== expectedVersion) {
      throw new ConditionFailedError(
        `${what}: expected version ${expectedVersion}, found ${stored ?? 'no record'}`,
      );
    }
    // Every field of the document is written, and a sparse index field that no longer applies is
    // deleted, so `update` leaves nothing stale behind.
    const cleared = Object.fromEntries(
      (kind === 'task' ? SPARSE_FIELDS : [])
        .filter((f) => !(f in fields))
        .map((f) => [f, FieldValue.delete()]),
    );
    await guard(() => ref.update({ ...doc, ...cleared }, { lastUpdateTime: current.updateTime! }), what);
  }
}

function agentFields(agent: AgentRecord): DocumentData {
  return {
    agent_id: agent.agent_id,
    status: agent.status,
    capabilities: agent.capabilities,
    active_tasks: agent.active_tasks,
    max_concurrent_tasks: agent.max_concurrent_tasks,
    last_heartbeat: agent.last_heartbeat,
  };
}

/** The queried fields of a task document; the sparse ones only while they apply. */
export function taskFields(task: TaskRecord): DocumentData {
  const fields: DocumentData = {
    task_id: task.task_id,
    task_type: task.task_type,
    status: task.status,
    priority: task.priority,
    queue_key: queueOrderKey(task),
    shard: shardOf(task.task_id),
  };
  if (task.status === 'queued') fields.queue = queueKeyOf(task);
  if (task.outbox.length > 0) fields.outbox_key = task.task_id;
  if (task.status === 'assigned' && task.deadline_at) fields.due_key = `${task.deadline_at}#${task.task_id}`;
  return fields;
}

function decode<T>(data: DocumentData): T {
  return JSON.parse(data.record as string) as T;
}

/**
 * Ids may contain `/` (a path separator in Firestore) and may collide with reserved names
 * (`.`, `..`, `__x__`); those characters are percent-encoded, everything else is kept.
 */
export function docId(id: string): string {
  let s = id.replace(/[%/]/g, (c) => (c === '%' ? '%25' : '%2F'));
  if (s === '.' || s === '..' || /^__.*__$/.test(s))
    s = `%${s.charCodeAt(0).toString(16).toUpperCase()}${s.slice(1)}`;
  return s;
}

/** Maps Firestore's gRPC errors to the store's: conflicts, transient and permanent failures. */
async function guard<T>(fn: () => Promise<T>, what?: string): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const message = (err as Error).message;
    if (typeof code === 'number' && what && CONFLICT.has(code))
      throw new ConditionFailedError(`${what}: ${message}`, { cause: err });
    if (typeof code === 'number' && TRANSIENT.has(code))
      throw new StoreUnavailableError(`firestore: ${message}`, { cause: err });
    if (typeof code === 'number' && PERMANENT.has(code))
      throw new ValidationError(`${what ?? 'request'} was refused by Firestore: ${message}`, '', {
        cause: err,
      });
    throw err;
  }
}
