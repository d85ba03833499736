/**
 * A small configuration of the fault suite inside `npm test` (the full one is `npm run faults`).
 * Every figure must show nothing lost, nothing assigned twice, no crash, every decision valid.
 */
import { authFigures } from './auth';
import { concurrentLoops } from './concurrency';
import { crashes, deliveries, llmFaults, poison, type StoreFixture } from './harness';
import { dynamoFixture, levelFixture, memoryFixture } from './stores';

let dynamo: Awaited<ReturnType<typeof dynamoFixture>>;
beforeAll(async () => {
  dynamo = await dynamoFixture();
});
afterAll(() => dynamo.stop());

const fixtures = (): StoreFixture[] => [memoryFixture, levelFixture, dynamo];

describe.each(['memory', 'level (embedded)', 'dynamodb (dynalite)'])('fault suite on %s', (name) => {
  const fixture = () => fixtures().find((f) => f.name === name)!;

  test('duplicated, shuffled, concurrent deliveries with agents changing state: nothing lost or doubled', async () => {
    const f = await deliveries(fixture(), { requests: 300, duplicateRate: 0.3, workers: 4, seed: 7 });
    expect(f).toMatchObject({
      lost: 0,
      doubleAssignments: 0,
      unpublished: 0,
      slotMismatches: 0,
      indexMismatches: 0,
      crashes: 0,
      gaveUp: 0,
      deadLettered: 0,
    });
    expect(f.tasksFound).toBe(300);
    expect(f.deliveries).toBeGreaterThan(300);
  });

  test('16 concurrent request-and-complete loops on one agent pool: slots equal the ledger after quiescence', async () => {
    const f = await concurrentLoops(fixture(), {
      workers: 16,
      loopsPerWorker: 12,
      agents: 4,
      slots: 3,
      seed: 5,
    });
    expect(f).toMatchObject({
      lost: 0,
      doubleAssignments: 0,
      unpublished: 0,
      slotMismatches: 0,
      leakedSlots: 0,
    });
    expect(f.tasksFound).toBe(16 * 12);
    expect(f.byStatus.completed).toBe(16 * 12);
  });

  test('store faults at the port (throttling, lost answers, spurious conflicts): retried, never lost', async () => {
    const f = await deliveries(fixture(), {
      requests: 150,
      duplicateRate: 0.3,
      workers: 4,
      seed: 11,
      storeFaults: { unavailableBefore: 0.05, unavailableAfterWrite: 0.03, spuriousConflict: 0.03 },
    });
    expect(f.storeFaultsInjected).toBeGreaterThan(0);
    expect(f.redeliveries).toBeGreaterThan(0);
    expect(f).toMatchObject({
      lost: 0,
      doubleAssignments: 0,
      unpublished: 0,
      slotMismatches: 0,
      indexMismatches: 0,
      crashes: 0,
      gaveUp: 0,
    });
  });

  // A fresh store per crash point (41 of them): on dynalite that is about 2 s each on a loaded
  // 2-core machine, past jest's default 60 s. A bound, not a timing assertion.
  test('a crash between any two steps: the redelivery completes the work without duplicates', async () => {
    const f = await crashes(fixture());
    expect(f.crashPoints).toBeGreaterThan(20);
    expect(f.details).toEqual([]);
  }, 300_000);
});

test('poison messages mixed into valid batches: no crash, each refused with a reason, every valid one processed', async () => {
  const f = await poison(memoryFixture, { poison: 500, seed: 3 });
  expect(f.crashes).toBe(0);
  expect(f.poisonFailedWithReason).toBe(f.poison);
  expect(f.validProcessed).toBe(f.valid);
  expect(f.http5xx).toBe(0);
  expect(f.httpRejectedWithReason).toBe(f.httpPoison);
});

test('LLM faults: every task gets a valid decision, injection never reaches the attacker, the breaker opens and closes', async () => {
  const f = await llmFaults(memoryFixture, { tasks: 200, seed: 5 });
  expect(f.llmCalls).toBeGreaterThan(0);
  expect(f.validDecisions).toBe(f.tasks);
  expect(f.byRouter.llm).toBeGreaterThan(0);
  expect(f.byRouter.rules).toBeGreaterThan(0);
  expect(f.attackerAssignments).toBe(0);
  expect(f.breakerOpened).toBe(true);
  expect(f.callsWhileOpen).toBe(0);
  expect(f.breakerClosedAfterCooldown).toBe(true);
});

test('unauthenticated requests to every HTTP entry point are rejected; an authenticated one passes', async () => {
  const figures = await authFigures();
  expect(figures.map((f) => f.entryPoint)).toEqual([
    'local server (HTTP)',
    'Azure HTTP trigger',
    'GCP HTTP function',
  ]);
  for (const f of figures) {
    expect(f.unauthenticated).toBeGreaterThan(50);
    expect(f.rejected).toBe(f.unauthenticated);
    expect(f.authenticatedOk).toBe(true);
  }
});
