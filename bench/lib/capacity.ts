/**
 * The cloud capacity model (issue 13, item 7): how many tasks per second each store's key design
 * sustains before its busiest partition key (or document, or index range) reaches the documented
 * limit, and what a million tasks cost at on-demand list prices.
 *
 * Nothing here is measured in the cloud. The core runs a workload against the memory store
 * through a recording wrapper at the port, so every store call, record size and record written
 * is what the core really does per path (coordination request, completion, heartbeat). Each call
 * is then mapped onto each design's keys with the adapters' own key functions (the DynamoDB
 * table definition and item keys, the Cosmos DB partitions, the Firestore index fields), and
 * priced with each service's documented unit rules. A key's share of the traffic follows from its
 * class: one key per agent takes 1/agents of what its class takes, one key per shard 1/SHARDS, a
 * singleton all of it; a task's own key is touched a few times in its life, never at a rate.
 */
import { LocalBus } from '../../shared/adapters/local/local-bus';
import { MemoryStateStore } from '../../shared/adapters/local/memory-store';
import {
  dynamoItemKeys,
  dynamoTableDefinition,
  QUEUE_KEY_COPIES as DYNAMO_QKEY_COPIES,
  QUEUE_KEYS_PARTITION,
  SHARDS as DYNAMO_SHARDS,
} from '../../shared/adapters/aws/dynamo-store';
import {
  agentPartition,
  QUEUE_KEY_COPIES as COSMOS_QKEY_COPIES,
  SHARDS as COSMOS_SHARDS,
  taskPartition,
} from '../../shared/adapters/azure/cosmos-store';
import { taskFields, SHARDS as FIRESTORE_SHARDS } from '../../shared/adapters/gcp/firestore-store';
import { Coordinator } from '../../shared/core/coordinator/coordinator';
import type { AgentRecord, TaskRecord, TaskStatus } from '../../shared/core/model';
import type { Page, StateStore } from '../../shared/core/ports';
import { RulesRouter } from '../../shared/core/routing/rules-router';
import { ManualClock, sqsEvent } from './reference';

// ---------------------------------------------------------------- documented limits and prices

/**
 * Per partition key (table or GSI): 1,000 write units/s and 3,000 read units/s (DynamoDB
 * developer guide, "partition key design"). Cosmos DB: 10,000 RU/s per logical partition
 * ("partitioning overview"). Firestore: about 1 sustained write/s per document, about 500
 * writes/s into one range of sequential index values, and new traffic ramped 500/50/5 (start at
 * 500 operations/s, +50% every 5 minutes) ("best practices").
 */
export const LIMITS = {
  dynamoWcu: 1000,
  dynamoRcu: 3000,
  cosmosRu: 10_000,
  firestoreDocWrites: 1,
  firestoreIndexRangeWrites: 500,
} as const;

/**
 * On-demand list prices as last known to the authors (no network here: re-check them before you
 * rely on the figures). DynamoDB on-demand, us-east-1, after the price cut of 2024-11-01:
 * $1.25 per million write request units, $0.25 per million read request units (aws.amazon.com/
 * dynamodb/pricing/on-demand). Cosmos DB serverless: $0.25 per million RU (azure.microsoft.com/
 * pricing/details/cosmos-db/serverless). Firestore Native, us-central1 (regional): $0.03 per
 * 100,000 document reads, $0.09 per 100,000 writes (cloud.google.com/firestore/pricing; multi-
 * region locations cost about twice that). Free tiers and storage are left out.
 */
export const PRICES = {
  asOf: '2024-11 (list prices known to the authors; re-check before use)',
  dynamoPerMillionWru: 1.25,
  dynamoPerMillionRru: 0.25,
  cosmosPerMillionRu: 0.25,
  firestorePerMillionReads: 0.3,
  firestorePerMillionWrites: 0.9,
} as const;

/**
 * Cosmos DB request charges are not published as a formula; these are the approximations of its
 * documentation's examples (a 1 KB point read is 1 RU; a 1 KB write with the default indexing
 * policy about 5.5 RU, a replace about twice a create because the old index terms are removed;
 * a query about 2.5 RU plus what it loads). Check them with `x-ms-request-charge` on a real account.
 */
export const COSMOS_RU = { readPerKb: 1, createPerKb: 5.5, replacePerKb: 11, queryBase: 2.5, queryPerKb: 1 };

// ---------------------------------------------------------------- recording at the port

type Rec = AgentRecord | TaskRecord;
/** `registry`: a registry listing read once per snapshot TTL per instance (see `withRegistrySnapshot`). */
export type Phase = 'request' | 'completion' | 'heartbeat' | 'registry';

export interface StoreCall {
  phase: Phase;
  method: string;
  /** The record written and the one it replaced (for index entries that move). */
  write?: { before?: Rec; after: Rec };
  /** Records the call returned. */
  read: Rec[];
  /** For listings: the index it reads (`status:<s>`, `queue:<key>`, `outbox`, `due`, `queue_keys`, `agents`). */
  index?: string;
}

/** Forwards every port method to `inner` and records each call with what it wrote and read. */
export class RecordingStore implements StateStore {
  readonly name: string;
  readonly calls: StoreCall[] = [];
  phase: Phase = 'request';
  private readonly latest = new Map<string, Rec>();

  constructor(private readonly inner: StateStore) {
    this.name = `recording(${inner.name})`;
  }

  private note(method: string, read: Rec[], extra: Partial<StoreCall> = {}): void {
    this.calls.push({ phase: this.phase, method, read, ...extra });
  }

  async getAgent(id: string) {
    const a = await this.inner.getAgent(id);
    this.note('getAgent', a ? [a] : []);
    return a;
  }
  async listAgents() {
    const list = await this.inner.listAgents();
    this.note('listAgents', list, { index: 'agents' });
    return list;
  }
  async putAgent(agent: AgentRecord, expected: number | null) {
    await this.written('putAgent', `a/${agent.agent_id}`, agent, () => this.inner.putAgent(agent, expected));
  }
  async getTask(id: string) {
    const t = await this.inner.getTask(id);
    this.note('getTask', t ? [t] : []);
    return t;
  }
  async putTask(task: TaskRecord, expected: number | null) {
    await this.written('putTask', `t/${task.task_id}`, task, () => this.inner.putTask(task, expected));
  }
  async listTasksByStatus(status: TaskStatus, limit?: number) {
    const list = await this.inner.listTasksByStatus(status, limit);
    this.note('listTasksByStatus', list, { index: `status:${status}` });
    return list;
  }
  async listQueue(queueKey: string, limit: number, cursor?: string): Promise<Page<TaskRecord>> {
    const page = await this.inner.listQueue!(queueKey, limit, cursor);
    this.note('listQueue', page.items, { index: `queue:${queueKey}` });
    return page;
  }
  async listQueueKeys(): Promise<string[]> {
    const keys = await this.inner.listQueueKeys!();
    this.note('listQueueKeys', [], { index: 'queue_keys' });
    return keys;
  }
  async listPendingOutbox(limit: number, cursor?: string): Promise<Page<TaskRecord>> {
    const page = await this.inner.listPendingOutbox!(limit, cursor);
    this.note('listPendingOutbox', page.items, { index: 'outbox' });
    return page;
  }
  async listOverdue(before: string, limit: number, cursor?: string): Promise<Page<TaskRecord>> {
    const page = await this.inner.listOverdue!(before, limit, cursor);
    this.note('listOverdue', page.items, { index: 'due' });
    return page;
  }

  /** A failed conditional write is a round trip and is billed too: recorded either way. */
  private async written(method: string, key: string, record: Rec, op: () => Promise<void>): Promise<void> {
    const before = this.latest.get(key);
    try {
      await op();
      this.latest.set(key, structuredClone(record));
    } finally {
      this.note(method, [], { write: { ...(before ? { before } : {}), after: record } });
    }
  }
}

// ---------------------------------------------------------------- the workload

export interface Workload {
  agents: number;
  tasks: number;
  /** Distinct capabilities, spread evenly over the agents and the tasks. */
  capabilities: number;
  /** SQS batch size. */
  batch: number;
  /** Seconds between an agent's heartbeats. */
  heartbeatSeconds: number;
}

export const DEFAULT_WORKLOAD: Workload = {
  agents: 20,
  tasks: 400,
  capabilities: 10,
  batch: 10,
  heartbeatSeconds: 30,
};

export const agentId = (i: number) => `ag_${String(i).padStart(5, '0')}`;
const taskId = (i: number) => `tk_${String(i).padStart(6, '0')}`;
const skill = (i: number) => `skill_${i}`;

export interface Recording {
  workload: Workload;
  calls: StoreCall[];
  /** Tasks that went through request and completion. */
  tasks: number;
  heartbeats: number;
}

/**
 * Every task is a coordination request delivered in SQS batches, assigned by the rules router
 * and completed by its agent; one heartbeat is recorded on its own. Agents are written to the
 * store before recording starts (registration is not a per-task path).
 */
export async function recordWorkload(w: Workload): Promise<Recording> {
  const inner = new MemoryStateStore();
  const now = '2026-01-01T00:00:00.000Z';
  const perAgent = Math.max(4, Math.ceil((w.tasks / w.agents) * 2));
  for (let i = 0; i < w.agents; i++) {
    await inner.putAgent(
      {
        agent_id: agentId(i),
        capabilities: [skill(i % w.capabilities)],
        status: 'available',
        active_task_ids: [],
        active_tasks: 0,
        max_concurrent_tasks: perAgent,
        last_heartbeat: now,
        registered_at: now,
        updated_at: now,
        version: 1,
        ttl: 1_900_000_000,
      },
      null,
    );
  }
  const store = new RecordingStore(inner);
  const clock = new ManualClock(Date.parse(now));
  const coordinator = new Coordinator({ store, bus: new LocalBus(), router: new RulesRouter(), clock });
  let done = 0;
  for (let start = 0; start < w.tasks; start += w.batch) {
    const messages = [];
    for (let i = start; i < Math.min(w.tasks, start + w.batch); i++) {
      messages.push({
        type: 'coordination_request',
        task_id: taskId(i),
        agent_id: agentId(i % w.agents),
        task_type: skill(i % w.capabilities),
        priority: 'medium',
        task_data: { user_id: `user_${i}`, request: 'a 7-day plan that builds on current habits' },
      });
    }
    clock.advance(50);
    store.phase = 'request';
    const outcomes = await coordinator.handle(sqsEvent(messages, `b${start}`));
    store.phase = 'completion';
    for (const outcome of outcomes) {
      if (outcome.status !== 'done') throw new Error(`request failed: ${JSON.stringify(outcome)}`);
      const result = outcome.result as { task_id?: string; assigned_agents?: string[] } | undefined;
      for (const agent of result?.assigned_agents ?? []) {
        clock.advance(5);
        await coordinator.handle({
          type: 'task_completion',
          task_id: result!.task_id,
          agent_id: agent,
          status: 'succeeded',
        });
      }
      if (result?.assigned_agents?.length) done += 1;
    }
  }
  store.phase = 'heartbeat';
  await coordinator.handle({
    type: 'agent_state_change',
    agent_id: agentId(0),
    new_state: 'available',
    capabilities: [skill(0)],
  });
  return { workload: w, calls: store.calls, tasks: done, heartbeats: 1 };
}

// ---------------------------------------------------------------- units per key

/** Units a call puts on one key. `cls` names the key's class, `spread` how many keys share it. */
export interface KeyUnits {
  key: string;
  cls: string;
  /** How many keys of this class share the class's traffic evenly (Infinity: one per task). */
  spread: number;
  write: number;
  read: number;
}

export interface Design {
  store: 'DynamoDB' | 'Cosmos DB' | 'Firestore';
  name: string;
  /** Units of one call on each key it touches. */
  units(call: StoreCall, agents: number): KeyUnits[];
  /** Write and read limits per key of a class. */
  limit(cls: string): { write: number; read: number; combined?: number };
  /** Dollars for the units of a call (summed over its keys). */
  price(units: { write: number; read: number }): number;
}

const bytes = (r: unknown) => Buffer.byteLength(JSON.stringify(r));
const kb = (n: number) => Math.max(1, Math.ceil(n / 1024));
const fourKb = (n: number) => Math.max(1, Math.ceil(n / 4096));

/** The class of a key: agent ids, task ids and shard numbers replaced by what they stand for. */
export function classify(key: string, agents: number, shards: number): { cls: string; spread: number } {
  let spread = 1;
  let cls = key;
  if (/tk_\d{6}/.test(cls)) {
    cls = cls.replace(/tk_\d{6}/g, '<task>');
    spread = Infinity;
  }
  if (/ag_\d{5}/.test(cls)) {
    cls = cls.replace(/ag_\d{5}/g, '<agent>');
    spread *= agents;
  }
  if (/#\d+$/.test(cls)) {
    cls = cls.replace(/#\d+$/, '#<shard>');
    spread *= shards;
  }
  return { cls, spread };
}

const unit = (key: string, agents: number, shards: number, write: number, read: number): KeyUnits => ({
  key,
  ...classify(key, agents, shards),
  write,
  read,
});

/** Which listing reads which key prefix in the new DynamoDB design. */
function dynamoIndexPartition(index: string): string {
  if (index === 'agents') return 'AGENTS';
  if (index === 'outbox') return 'OUTBOX';
  if (index === 'due') return 'DUE';
  if (index.startsWith('queue:')) return `Q#${index.slice(6)}`;
  return `STATUS#${index.slice(7)}`;
}

/** DynamoDB as this repository defines it: keys and GSIs read from `dynamoTableDefinition`. */
export const dynamoDesign: Design = {
  store: 'DynamoDB',
  name: 'per-agent keys, sharded sparse KEYS_ONLY indexes (this design)',
  units(call, agents) {
    const S = DYNAMO_SHARDS;
    const out: KeyUnits[] = [];
    if (call.write) {
      const after = dynamoItemKeys(call.write.after);
      const before = call.write.before ? dynamoItemKeys(call.write.before) : undefined;
      const size = bytes(call.write.after) + 120;
      out.push(unit(after.pk!, agents, S, kb(size), 0));
      for (const gsi of dynamoTableDefinition('x').GlobalSecondaryIndexes ?? []) {
        const [h, r] = gsi.KeySchema!.map((k) => k.AttributeName!);
        const all = gsi.Projection?.ProjectionType === 'ALL';
        const entry = (keys?: Record<string, string>) =>
          keys?.[h!] ? `${keys[h!]}\u0000${keys[r!]}` : undefined;
        const was = entry(before);
        const now = entry(after);
        const cost = all ? kb(size) : 1;
        if (was && was !== now)
          out.push(unit(before![h!]!, agents, S, all ? kb(bytes(call.write.before)) : 1, 0));
        // An entry whose keys did not change is rewritten only when it projects changed attributes.
        if (now && (was !== now || all)) out.push(unit(after[h!]!, agents, S, cost, 0));
      }
      return out;
    }
    const consistentGet = (r: Rec) => unit(dynamoItemKeys(r).pk!, agents, S, 0, fourKb(bytes(r) + 120));
    if (call.method === 'getAgent' || call.method === 'getTask') return call.read.map(consistentGet);
    // One consistent Query of one copy of the directory (a few keys: under 4 KB).
    if (call.index === 'queue_keys')
      return [
        {
          key: 'QKEYS#<copy>',
          cls: `${QUEUE_KEYS_PARTITION}#<copy>`,
          spread: DYNAMO_QKEY_COPIES,
          write: 0,
          read: 1,
        },
      ];
    if (call.index === 'agents') {
      // One eventually consistent Query per shard: half a unit per 4 KB the shard returns.
      const perShard = new Map<string, number>();
      for (let s = 0; s < S; s++) perShard.set(`AGENTS#${s}`, 0);
      for (const a of call.read) {
        const k = dynamoItemKeys(a).apk!;
        perShard.set(k, perShard.get(k)! + bytes(a) + 160);
      }
      return [...perShard].map(([k, b]) => unit(k, agents, S, 0, 0.5 * fourKb(b)));
    }
    // A KEYS_ONLY listing: one Query per shard (its keys fit in 4 KB), then a consistent BatchGet.
    const prefix = dynamoIndexPartition(call.index!);
    for (let s = 0; s < S; s++) out.push(unit(`${prefix}#${s}`, agents, S, 0, 0.5));
    return [...out, ...call.read.map(consistentGet)];
  },
  limit: () => ({ write: LIMITS.dynamoWcu, read: LIMITS.dynamoRcu }),
  price: (u) => (u.write * PRICES.dynamoPerMillionWru + u.read * PRICES.dynamoPerMillionRru) / 1e6,
};

/**
 * The first DynamoDB design (commit 7b6b3d5 and before): every agent under `pk = AGENT`, a status
 * index `STATUS#<status>` projecting whole tasks. Listings the seed store did not have are read
 * as it would have read them: from the status index.
 */
export const dynamoSeedDesign: Design = {
  store: 'DynamoDB',
  name: "seed: pk = 'AGENT' for all agents, one STATUS#<status> key, ALL projection",
  units(call, agents) {
    const S = 1;
    if (call.write) {
      const r = call.write.after;
      const size = bytes(r) + 80;
      if (!('task_id' in r)) return [unit('AGENT', agents, S, kb(size), 0)];
      const out = [unit(`TASK#${r.task_id}`, agents, S, kb(size), 0)];
      const before = call.write.before as TaskRecord | undefined;
      if (before && before.status !== r.status)
        out.push(unit(`STATUS#${before.status}`, agents, S, kb(bytes(before)), 0));
      out.push(unit(`STATUS#${r.status}`, agents, S, kb(size), 0));
      return out;
    }
    const total = call.read.reduce((n, r) => n + bytes(r) + 80, 0);
    if (call.method === 'getAgent') return [unit('AGENT', agents, S, 0, fourKb(total))];
    if (call.method === 'getTask')
      return call.read.map((t) => unit(`TASK#${(t as TaskRecord).task_id}`, agents, S, 0, fourKb(bytes(t))));
    if (call.index === 'agents') return [unit('AGENT', agents, S, 0, fourKb(total))];
    if (call.index === 'queue_keys') return [];
    const status = call.index!.startsWith('status:')
      ? call.index!.slice(7)
      : call.index!.startsWith('queue:')
        ? 'queued'
        : 'assigned';
    return [unit(`STATUS#${status}`, agents, S, 0, 0.5 * fourKb(total))];
  },
  limit: () => ({ write: LIMITS.dynamoWcu, read: LIMITS.dynamoRcu }),
  price: dynamoDesign.price,
};

function cosmosUnits(
  call: StoreCall,
  agents: number,
  shards: number,
  partitionOf: (r: Rec) => string,
  listPartitions: (index: string) => string[],
): KeyUnits[] {
  if (call.write) {
    const size = bytes(call.write.after) + 300;
    const ru = (call.write.before ? COSMOS_RU.replacePerKb : COSMOS_RU.createPerKb) * kb(size);
    return [unit(partitionOf(call.write.after), agents, shards, ru, 0)];
  }
  if (call.method === 'getAgent' || call.method === 'getTask')
    return call.read.map((r) =>
      unit(partitionOf(r), agents, shards, 0, COSMOS_RU.readPerKb * kb(bytes(r) + 300)),
    );
  if (call.index === 'queue_keys' && shards > 1)
    return [
      {
        key: 'qkeys#<copy>',
        cls: 'qkeys#<copy>',
        spread: COSMOS_QKEY_COPIES,
        write: 0,
        read: COSMOS_RU.queryBase + COSMOS_RU.queryPerKb,
      },
    ];
  const parts = listPartitions(call.index!);
  const loaded = new Map(parts.map((p) => [p, 0]));
  for (const r of call.read) {
    const p = partitionOf(r);
    loaded.set(p, (loaded.get(p) ?? 0) + bytes(r) + 300);
  }
  return [...loaded].map(([p, b]) =>
    unit(p, agents, shards, 0, COSMOS_RU.queryBase + (b > 0 ? COSMOS_RU.queryPerKb * kb(b) : 0)),
  );
}

const shardsOf = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}#${i}`);

export const cosmosDesign: Design = {
  store: 'Cosmos DB',
  name: 'records over 32 logical partitions per kind, index fields on the document (this design)',
  units: (call, agents) =>
    cosmosUnits(
      call,
      agents,
      COSMOS_SHARDS,
      (r) => ('task_id' in r ? taskPartition(r.task_id) : agentPartition(r.agent_id)),
      (index) => (index === 'agents' ? shardsOf('agents', COSMOS_SHARDS) : shardsOf('tasks', COSMOS_SHARDS)),
    ),
  limit: () => ({ write: Infinity, read: Infinity, combined: LIMITS.cosmosRu }),
  price: (u) => ((u.write + u.read) * PRICES.cosmosPerMillionRu) / 1e6,
};

export const cosmosSeedDesign: Design = {
  store: 'Cosmos DB',
  name: "seed: logical partitions 'agents' and 'tasks'",
  units: (call, agents) =>
    cosmosUnits(
      call,
      agents,
      1,
      (r) => ('task_id' in r ? 'tasks' : 'agents'),
      (index) => (index === 'agents' ? ['agents'] : index === 'queue_keys' ? [] : ['tasks']),
    ),
  limit: cosmosDesign.limit,
  price: cosmosDesign.price,
};

/** Firestore: writes per document, and per index range for the sequential composite-index keys. */
function firestoreUnits(call: StoreCall, agents: number, sharded: boolean): KeyUnits[] {
  const S = sharded ? FIRESTORE_SHARDS : 1;
  if (call.write) {
    const r = call.write.after;
    if (!('task_id' in r)) return [unit(`agents/${r.agent_id}`, agents, S, 1, 0)];
    const out = [unit(`tasks/${r.task_id}`, agents, S, 1, 0)];
    // Index entries for the sequential keys (queue order, deadline) land in one range per
    // equality prefix: the status (or queue) alone in the seed; the shard first in this design.
    const ranges = (t: TaskRecord | undefined): string[] => {
      if (!t) return [];
      if (!sharded) return [`index(status,queue_key)/${t.status}`];
      const f = taskFields(t);
      const shard = `#${f.shard as number}`;
      const list = [`index(shard,status,queue_key)/${t.status}${shard}`];
      if (f.queue) list.push(`index(shard,queue,queue_key)/${f.queue as string}${shard}`);
      if (f.due_key) list.push(`index(shard,due_key)${shard}`);
      return list;
    };
    // Index entries that appear or leave count toward their range's sustained write rate (they
    // are not billed); an entry whose range and key stay the same is not rewritten.
    const was = ranges(call.write.before as TaskRecord | undefined);
    const now = ranges(r);
    const moved =
      call.write.before?.version === undefined || sortKeyChanged(call.write.before as TaskRecord, r);
    for (const k of new Set([...was, ...now]))
      if (moved || was.includes(k) !== now.includes(k)) out.push(unit(k, agents, S, 1, 0));
    return out;
  }
  // Reads are billed per document returned, at least one per query; no per-key read limit.
  const queries =
    call.index === undefined ? 0 : call.index === 'agents' || call.index === 'queue_keys' ? 1 : S;
  return [unit('reads', agents, S, 0, Math.max(call.read.length, queries))];
}

function sortKeyChanged(before: TaskRecord, after: TaskRecord): boolean {
  return before.priority !== after.priority || before.deadline_at !== after.deadline_at;
}

export const firestoreDesign: Design = {
  store: 'Firestore',
  name: 'one document per record, shard-first composite indexes (this design)',
  units: (call, agents) => firestoreUnits(call, agents, true),
  limit: (cls) =>
    cls.startsWith('index')
      ? { write: LIMITS.firestoreIndexRangeWrites, read: Infinity }
      : cls === 'reads'
        ? { write: Infinity, read: Infinity }
        : { write: LIMITS.firestoreDocWrites, read: Infinity },
  price: (u) => (u.read * PRICES.firestorePerMillionReads) / 1e6,
};

export const firestoreSeedDesign: Design = {
  ...firestoreDesign,
  name: 'seed: index (status, queue_key)',
  units: (call, agents) => firestoreUnits(call, agents, false),
};

export const DESIGNS: Design[] = [
  dynamoSeedDesign,
  dynamoDesign,
  cosmosSeedDesign,
  cosmosDesign,
  firestoreSeedDesign,
  firestoreDesign,
];

// ---------------------------------------------------------------- the model

export interface ClassLoad {
  cls: string;
  spread: number;
  /** Units per task on one key of the class (the class's units divided by its spread). */
  writePerTaskPerKey: number;
  readPerTaskPerKey: number;
  /** Units per second on one key from heartbeats alone (independent of the task rate). */
  writeBackgroundPerKey: number;
  /** Read units per second on one key from snapshot listings of the registry (independent of the task rate). */
  readBackgroundPerKey: number;
  /** The task rate at which one key of this class reaches its limit. */
  maxTasksPerSecond: number;
}

export interface CapacityRow {
  design: Design;
  agents: number;
  classes: ClassLoad[];
  hottest: ClassLoad;
  maxTasksPerSecond: number;
  writeUnitsPerTask: number;
  readUnitsPerTask: number;
  costPerMillionTasks: number;
  /** What the snapshot listings of the registry cost per hour (0 without them): instances / TTL listings a second. */
  snapshotCostPerHour: number;
  storeCallsPerTask: number;
}

/** Firestore bills writes per document written; index entries are not billed (storage aside). */
function billedWrites(design: Design, u: KeyUnits): number {
  return design.store === 'Firestore' && u.key.startsWith('index') ? 0 : u.write;
}

export function model(
  design: Design,
  recording: Recording,
  snapshot: RegistrySnapshot = SNAPSHOT_MODE,
): CapacityRow {
  const { agents, heartbeatSeconds } = recording.workload;
  const perClass = new Map<
    string,
    { spread: number; write: number; read: number; background: number; readBackground: number }
  >();
  let write = 0;
  let read = 0;
  let calls = 0;
  let cost = 0;
  let snapshotCostPerHour = 0;
  for (const call of recording.calls) {
    // Heartbeats and snapshot listings are a load per second, not per task.
    const registry = call.phase === 'registry';
    const heartbeat = call.phase === 'heartbeat' || registry;
    if (!heartbeat) calls += 1;
    const units = design.units(call, agents);
    for (const u of units) {
      const c = perClass.get(u.cls) ?? {
        spread: u.spread,
        write: 0,
        read: 0,
        background: 0,
        readBackground: 0,
      };
      if (registry) c.readBackground += u.read * (snapshot.instances / snapshot.ttlSeconds);
      else if (heartbeat) c.background += u.write * (agents / heartbeatSeconds);
      else {
        c.write += u.write;
        c.read += u.read;
      }
      perClass.set(u.cls, c);
      if (!heartbeat) {
        write += billedWrites(design, u);
        read += u.read;
      }
    }
    if (registry) {
      const read = units.reduce((n, u) => n + u.read, 0);
      snapshotCostPerHour +=
        design.price({ write: 0, read }) * (snapshot.instances / snapshot.ttlSeconds) * 3600;
    }
    if (!heartbeat) {
      const billed = units.reduce(
        (acc, u) => ({ write: acc.write + billedWrites(design, u), read: acc.read + u.read }),
        { write: 0, read: 0 },
      );
      cost += design.price(billed);
    }
  }
  if (design.store === 'Firestore') cost += (write * PRICES.firestorePerMillionWrites) / 1e6;
  const n = Math.max(1, recording.tasks);
  const classes: ClassLoad[] = [...perClass].map(([cls, c]) => {
    const w = c.write / n / c.spread;
    const r = c.read / n / c.spread;
    const bg = c.background / c.spread;
    const rbg = c.readBackground / c.spread;
    const lim = design.limit(cls);
    const byLimit = (per: number, limit: number, background = 0) =>
      per > 0 ? Math.max(0, (limit - background) / per) : Infinity;
    const max =
      c.spread === Infinity
        ? Infinity
        : lim.combined !== undefined
          ? byLimit(w + r, lim.combined, bg + rbg)
          : Math.min(byLimit(w, lim.write, bg), byLimit(r, lim.read, rbg));
    return {
      cls,
      spread: c.spread,
      writePerTaskPerKey: w,
      readPerTaskPerKey: r,
      writeBackgroundPerKey: bg,
      readBackgroundPerKey: rbg,
      maxTasksPerSecond: max,
    };
  });
  classes.sort((a, b) => a.maxTasksPerSecond - b.maxTasksPerSecond);
  return {
    design,
    agents,
    classes,
    hottest: classes[0]!,
    maxTasksPerSecond: classes[0]!.maxTasksPerSecond,
    writeUnitsPerTask: write / n,
    readUnitsPerTask: read / n,
    costPerMillionTasks: (cost / n) * 1e6,
    snapshotCostPerHour,
    storeCallsPerTask: calls / n,
  };
}

/**
 * With a per-instance registry snapshot (REGISTRY_SNAPSHOT_TTL): `instances` coordinator
 * instances each list the registry once per `ttlSeconds`, whatever the task rate.
 */
export interface RegistrySnapshot {
  instances: number;
  ttlSeconds: number;
}

/** The default of the snapshot rows: 100 instances (10,000 tasks/s is 1,000 SQS batches/s) at a 5 s TTL. */
export const SNAPSHOT_MODE: RegistrySnapshot = { instances: 100, ttlSeconds: 5 };

/**
 * The recording as the core runs with the registry snapshot on: the routing and drain listings
 * of the registry come from the snapshot (own writes keep it current), so one listing is kept,
 * as a `registry` read that `model` counts per second (instances / TTL), not per task.
 */
export function withRegistrySnapshot(recording: Recording): Recording {
  let kept = false;
  const calls: StoreCall[] = [];
  for (const call of recording.calls) {
    if (call.method !== 'listAgents' || call.phase === 'heartbeat') calls.push(call);
    else if (!kept) {
      kept = true;
      calls.push({ ...call, phase: 'registry' });
    }
  }
  return { ...recording, calls };
}

/** Only the writes of a recording: the keys written per task path (what a hot key is made of). */
export function writesOnly(recording: Recording): Recording {
  return { ...recording, calls: recording.calls.filter((c) => c.write) };
}

/** Minutes Firestore's 500/50/5 ramp-up needs from 500 operations/s to `opsPerSecond`. */
export function firestoreRampMinutes(opsPerSecond: number): number {
  return opsPerSecond <= 500 ? 0 : 5 * Math.ceil(Math.log(opsPerSecond / 500) / Math.log(1.5));
}

export const FLEETS = [20, 1000, 10_000] as const;

/** The rows of the capacity table: every design for every fleet size. */
export async function capacityTable(
  fleets: readonly number[] = FLEETS,
  workload: Partial<Workload> = {},
): Promise<CapacityRow[]> {
  const rows: CapacityRow[] = [];
  for (const agents of fleets) {
    const recording = await recordWorkload({ ...DEFAULT_WORKLOAD, ...workload, agents });
    for (const design of DESIGNS) rows.push(model(design, recording));
  }
  return rows;
}

// ---------------------------------------------------------------- the printed table

const rate = (n: number) => (Number.isFinite(n) ? Math.floor(n).toLocaleString('en-US') : 'unbounded');
const money = (n: number) => `$${n.toFixed(2)}`;
const units = (n: number) => n.toFixed(1);

/** The capacity table as Markdown, with the write-only limits (keys written per task path) beside. */
export async function capacityReport(fleets: readonly number[] = FLEETS): Promise<string> {
  const lines: string[] = [];
  lines.push(
    '| store | design | agents | first key at its limit (all calls) | tasks/s | first key written to its limit | tasks/s (writes) | write / read units per task | store cost per 1M tasks |',
  );
  lines.push('| --- | --- | ---: | --- | ---: | --- | ---: | ---: | ---: |');
  for (const agents of fleets) {
    const recording = await recordWorkload({ ...DEFAULT_WORKLOAD, agents });
    const writes = writesOnly(recording);
    const snapshot = withRegistrySnapshot(recording);
    for (const design of DESIGNS) {
      const all = model(design, recording);
      const w = model(design, writes);
      lines.push(
        `| ${design.store} | ${design.name} | ${agents.toLocaleString('en-US')} | \`${all.hottest.cls}\` | ${rate(all.maxTasksPerSecond)} | \`${w.hottest.cls}\` | ${rate(w.maxTasksPerSecond)} | ${units(all.writeUnitsPerTask)} / ${units(all.readUnitsPerTask)} | ${money(all.costPerMillionTasks)} |`,
      );
    }
    for (const design of DESIGNS.filter((d) => !d.name.startsWith('seed'))) {
      const snap = model(design, snapshot);
      lines.push(
        `| ${design.store} | ${design.name} + registry snapshot | ${agents.toLocaleString('en-US')} | \`${snap.hottest.cls}\` | ${rate(snap.maxTasksPerSecond)} | (as above) | | ${units(snap.writeUnitsPerTask)} / ${units(snap.readUnitsPerTask)} | ${money(snap.costPerMillionTasks)} + ${money(snap.snapshotCostPerHour)}/h |`,
      );
    }
  }
  const sample = await recordWorkload({ ...DEFAULT_WORKLOAD, agents: 20 });
  const perTask = sample.calls.filter((c) => c.phase !== 'heartbeat').length / Math.max(1, sample.tasks);
  lines.push('');
  lines.push(
    `Workload: ${DEFAULT_WORKLOAD.tasks} coordination requests per fleet in SQS batches of ${DEFAULT_WORKLOAD.batch}, ` +
      `${DEFAULT_WORKLOAD.capabilities} capabilities, rules router, each task completed by its agent; ` +
      `${perTask.toFixed(2)} store calls per task at the port; one heartbeat per agent every ${DEFAULT_WORKLOAD.heartbeatSeconds} s. ` +
      `Limits per key: DynamoDB ${LIMITS.dynamoWcu} WCU/s and ${LIMITS.dynamoRcu} RCU/s; Cosmos DB ${LIMITS.cosmosRu.toLocaleString('en-US')} RU/s per logical partition; ` +
      `Firestore ${LIMITS.firestoreDocWrites} sustained write/s per document and ${LIMITS.firestoreIndexRangeWrites} writes/s per sequential index range. ` +
      `"+ registry snapshot": REGISTRY_SNAPSHOT_TTL=${SNAPSHOT_MODE.ttlSeconds} s with ${SNAPSHOT_MODE.instances} instances: each lists the registry once per TTL (a load per second, counted against each key's limit), not once per batch; the cost column gives those listings per hour (the same whatever the task rate). ` +
      `Prices: ${PRICES.asOf}. Firestore's ramp-up (500/50/5) needs ${firestoreRampMinutes(10_000)} minutes from 500 to 10,000 operations/s.`,
  );
  return lines.join('\n');
}
