/**
 * Issue 12, items 8 and 9: delivery ids follow the id rules, generated task ids have their own
 * namespace, a store's "this request is invalid" answer is permanent (not redelivered until the
 * DLQ), and a `type` naming an Object.prototype member is a 400-class refusal.
 */
import { ErrorResponse, type Container } from '@azure/cosmos';
import { DynamoStateStore, documentClient } from '../../shared/adapters/aws/dynamo-store';
import { CosmosStateStore } from '../../shared/adapters/azure/cosmos-store';
import { FirestoreStateStore } from '../../shared/adapters/gcp/firestore-store';
import { Firestore } from '@google-cloud/firestore';
import { LocalBus } from '../../shared/adapters/local/local-bus';
import { MemoryStateStore } from '../../shared/adapters/local/memory-store';
import { Coordinator } from '../../shared/core/coordinator/coordinator';
import { isRetryable, ValidationError } from '../../shared/core/errors';
import type { StateStore } from '../../shared/core/ports';
import { RulesRouter } from '../../shared/core/routing/rules-router';
import { startDynalite, type Dynalite } from '../aws/local-aws';
import { describeWithEmulators, startEmulator, type Emulator } from '../gcp/support/emulators';
import { makeAgent, makeTask } from '../support/factories';

const ID = /^[A-Za-z0-9._:@\-/]{1,256}$/;

function coordinatorOn(store: StateStore) {
  const bus = new LocalBus();
  const coordinator = new Coordinator({ store, bus, router: new RulesRouter() });
  return { coordinator, bus };
}

async function registerAgent(coordinator: Coordinator): Promise<void> {
  const [o] = await coordinator.handle({
    type: 'agent_state_change',
    agent_id: 'npa',
    new_state: 'available',
    capabilities: ['x'],
    max_concurrent_tasks: 10,
  });
  expect(o?.status).toBe('done');
}

const sqs = (messageId: string, body: object) => ({
  Records: [{ messageId, eventSource: 'aws:sqs', body: JSON.stringify(body) }],
});

let dynalite: Dynalite;
beforeAll(async () => {
  dynalite = await startDynalite();
});
afterAll(() => dynalite.stop());

test('a 10 kB SQS message id with NUL bytes becomes a safe task id; the batch failure report keeps the raw id', async () => {
  const store = new MemoryStateStore();
  const { coordinator, bus } = coordinatorOn(store);
  await registerAgent(coordinator);
  const raw = `m\u0000${'\u0000z'.repeat(5000)}`;
  const [outcome] = await coordinator.handle(sqs(raw, { type: 'coordination_request', task_type: 'x' }));
  expect(outcome?.status).toBe('done');
  expect(outcome?.id).toBe(raw);
  const [event] = bus.list();
  expect(event?.task_id).toMatch(ID);
  expect(event?.task_id).toMatch(/^task-msg-[0-9a-f]{32}$/);
  expect((await store.getTask(event!.task_id))?.status).toBe('assigned');
  // A redelivery lands on the same task.
  const [again] = await coordinator.handle(sqs(raw, { type: 'coordination_request', task_type: 'x' }));
  expect((again as { result: { duplicate?: boolean } }).result.duplicate).toBe(true);
});

test('the message id m-victim does not merge into a client task task-m-victim: clients cannot create task-... ids', async () => {
  const store = new MemoryStateStore();
  const { coordinator } = coordinatorOn(store);
  await registerAgent(coordinator);
  const [client] = await coordinator.handle({
    type: 'coordination_request',
    task_id: 'task-m-victim',
    task_type: 'x',
    task_data: { owner: 'client' },
  });
  expect(client?.status).toBe('dead_letter');
  expect((client as { reason: string }).reason).toMatch(/task_id.*reserved/);
  const [victimsOwn] = await coordinator.handle({
    type: 'coordination_request',
    task_id: 'm-victim',
    task_type: 'x',
    task_data: { owner: 'client' },
  });
  expect(victimsOwn?.status).toBe('done');
  const [generated] = await coordinator.handle(
    sqs('m-victim', { type: 'coordination_request', task_type: 'x', task_data: { owner: 'attacker' } }),
  );
  expect(generated?.status).toBe('done');
  expect((generated as { result: { duplicate?: boolean } }).result.duplicate).toBeFalsy();
  expect((await store.getTask('m-victim'))?.task_data).toEqual({ owner: 'client' });
  expect((await store.getTask('task-m-victim'))?.task_data).toEqual({ owner: 'attacker' });
});

test('type __proto__ / constructor / toString: refused for good with "unknown type", never an internal error', async () => {
  const { coordinator } = coordinatorOn(new MemoryStateStore());
  for (const type of ['__proto__', 'constructor', 'toString']) {
    const [o] = await coordinator.handle(JSON.parse(`{"type":${JSON.stringify(type)},"agent_id":"a"}`));
    expect(o?.status).toBe('dead_letter');
    expect(o).toMatchObject({ code: 'UNKNOWN_MESSAGE_TYPE' });
    expect((o as { reason: string }).reason).toMatch(new RegExp(`^unknown type "${type}"`));
  }
});

describe('store validation errors are permanent', () => {
  test('DynamoDB (dynalite): a 3,000-character key is a ValidationError, not a retry', async () => {
    const store = new DynamoStateStore(documentClient(dynalite.client), await dynalite.createTable());
    const err = await store.putTask(makeTask({ task_id: 'k'.repeat(3000) }), null).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ValidationError);
    expect(isRetryable(err)).toBe(false);
    expect((err as Error).message).toMatch(/ValidationException/);
    const read = await store.getTask('k'.repeat(3000)).catch((e: unknown) => e);
    expect(read).toBeInstanceOf(ValidationError);
  });

  test('DynamoDB through the coordinator: an SQS message with a 3,000-character id is assigned (its task id is hashed), not retried until the DLQ', async () => {
    const store = new DynamoStateStore(documentClient(dynalite.client), await dynalite.createTable());
    const { coordinator } = coordinatorOn(store);
    await registerAgent(coordinator);
    const [o] = await coordinator.handle(
      sqs('d'.repeat(3000), { type: 'coordination_request', task_type: 'x' }),
    );
    expect(o?.status).toBe('done');
    expect(o).toMatchObject({ result: { status: 'assigned', task_id: expect.stringMatching(/^task-msg-/) } });
  });

  test('Cosmos DB: 413 (past 2 MB) and 400 from the service are ValidationErrors', async () => {
    for (const [code, pattern] of [
      [413, /2 MB/],
      [400, /HTTP 400/],
    ] as const) {
      const refusal = Object.assign(new ErrorResponse('Request size is too large'), { code });
      const container = {
        items: { create: () => Promise.reject(refusal) },
        item: () => ({ read: () => Promise.reject(refusal), replace: () => Promise.reject(refusal) }),
      } as unknown as Container;
      const store = new CosmosStateStore(container);
      const err = await store.putTask(makeTask({ task_id: 'big' }), null).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect(isRetryable(err)).toBe(false);
      expect((err as Error).message).toMatch(pattern);
      expect(
        await store.putAgent(makeAgent({ agent_id: 'a' }), null).catch((e: unknown) => e),
      ).toBeInstanceOf(ValidationError);
    }
  });
});

describeWithEmulators('Firestore (emulator): a document past 1 MiB is refused for good', () => {
  let emulator: Emulator;
  let firestore: Firestore;
  beforeAll(async () => {
    emulator = await startEmulator('firestore');
    firestore = new Firestore({ projectId: 'demo-hardening', host: emulator.host, ssl: false });
  });
  afterAll(async () => {
    await firestore?.terminate();
    await emulator?.stop();
  });

  test('INVALID_ARGUMENT becomes a ValidationError', async () => {
    const store = new FirestoreStateStore({ firestore, collectionPrefix: 'ids-' });
    const task = makeTask({ task_id: 'huge', task_data: { blob: 'x'.repeat(1_100_000) } });
    const err = await store.putTask(task, null).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(isRetryable(err)).toBe(false);
    expect((err as Error).message).toMatch(/refused by Firestore/);
  });
});
