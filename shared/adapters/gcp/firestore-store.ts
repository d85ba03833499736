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
 * `queue_key` (priority rank, age, id: `listTasksByStatus` is one indexed query on status +
 * queue_key), `version`, `updated_at`, and `expires_at`, the Timestamp a TTL policy deletes on.
 */
import { Firestore, Timestamp, type CollectionReference, type DocumentData } from '@google-cloud/firestore';
import { ConditionFailedError, StoreUnavailableError, ValidationError } from '../../core/errors';
import { queueOrderKey, type AgentRecord, type TaskRecord, type TaskStatus } from '../../core/model';
import type { StateStore } from '../../core/ports';

export interface FirestoreStoreOptions {
  firestore?: Firestore;
  agentsCollection?: string;
  tasksCollection?: string;
  /** Prepended to both collection names (a namespace per environment or per test). */
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

export class FirestoreStateStore implements StateStore {
  readonly name = 'firestore';
  readonly firestore: Firestore;
  private readonly agents: CollectionReference;
  private readonly tasks: CollectionReference;

  constructor(options: FirestoreStoreOptions = {}) {
    this.firestore = options.firestore ?? new Firestore();
    const prefix = options.collectionPrefix ?? '';
    this.agents = this.firestore.collection(`${prefix}${options.agentsCollection ?? 'agents'}`);
    this.tasks = this.firestore.collection(`${prefix}${options.tasksCollection ?? 'tasks'}`);
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
    await this.write('task', this.tasks, task.task_id, task, expectedVersion, taskFields(task));
  }

  /** One query: `status == s ORDER BY queue_key LIMIT n` (composite index status + queue_key). */
  async listTasksByStatus(status: TaskStatus, limit = 100): Promise<TaskRecord[]> {
    const snap = await guard(() =>
      this.tasks.where('status', '==', status).orderBy('queue_key').limit(limit).get(),
    );
    return snap.docs.map((d) => decode<TaskRecord>(d.data()));
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
    // Every field of the document is written, so `update` leaves nothing stale behind.
    await guard(() => ref.update(doc, { lastUpdateTime: current.updateTime! }), what);
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

function taskFields(task: TaskRecord): DocumentData {
  return {
    task_id: task.task_id,
    task_type: task.task_type,
    status: task.status,
    priority: task.priority,
    queue_key: queueOrderKey(task),
  };
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
