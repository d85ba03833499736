/**
 * `npm run faults`: the full fault suite against every store adapter with a real local server,
 * printing one table of figures. `FAULTS_SCALE=0.1` runs a tenth of it.
 *   deliveries: 10,000 requests, 30% duplicates, shuffled, 4 concurrent workers, agents changing state
 *   store faults: the same traffic (2,000 requests) with throttling, lost answers and spurious conflicts
 *   crashes: a crash at every step of handling each kind of message, then redelivery and a sweep
 *   poison: 5,000 malformed or hostile messages mixed into valid batches, and through HTTP
 *   LLM faults: 1,000 tasks through an LLM that times out, throttles, errs, and talks nonsense
 */
import os from 'node:os';
import { authFigures } from './auth';
import { concurrentLoops } from './concurrency';
import { soak } from './soak';
import { crashes, deliveries, llmFaults, poison, type StoreFixture } from './harness';
import { dynamoFixture, firestoreFixture, levelFixture, memoryFixture } from './stores';

const scale = Number(process.env.FAULTS_SCALE ?? '1');
/** FAULTS_ONLY=soak,concurrency runs those parts alone (deliveries, concurrency, soak, poison, llm, auth). */
const only = process.env.FAULTS_ONLY?.split(',').map((p) => p.trim());
const wanted = (part: string) => !only || only.includes(part);
const n = (x: number) => Math.max(10, Math.round(x * scale));

function table(title: string, header: string[], rows: Array<Array<string | number>>): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells: Array<string | number>) =>
    cells.map((c, i) => String(c).padEnd(widths[i]!)).join('  ');
  console.log(`\n${title}\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const r of rows) console.log(line(r));
}

export async function main(): Promise<void> {
  console.log(
    `agent-coordinator fault suite: scale ${scale}, ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? ''}, node ${process.version}`,
  );
  // The cloud stores' local servers, only for the parts that run on every store.
  const everyStore = wanted('deliveries') || wanted('concurrency');
  const dynamo = everyStore ? await dynamoFixture() : undefined;
  const firestore = everyStore
    ? await firestoreFixture().catch((err: Error) => {
        console.log(`firestore emulator unavailable: ${err.message}`);
        return undefined;
      })
    : undefined;
  if (everyStore && !firestore)
    console.log('SKIPPED firestore (emulator): gcloud not found or it did not start');
  const fixtures: StoreFixture[] = [
    memoryFixture,
    levelFixture,
    ...(dynamo ? [dynamo] : []),
    ...(firestore ? [firestore] : []),
  ];
  const rows: Array<Array<string | number>> = [];
  let failed = false;
  // The LLM router's timeouts are AbortSignal.timeout timers, which Node does not count as
  // keeping a process alive: with no local server running (FAULTS_ONLY=llm) a faulty LLM that
  // waits for its abort would let the process exit mid-run. This keeps it alive until the end.
  const keepAlive = setInterval(() => undefined, 60_000);
  try {
    if (wanted('deliveries')) {
      for (const f of fixtures) {
        const started = Date.now();
        const d = await deliveries(f, { requests: n(10_000), duplicateRate: 0.3, workers: 4, seed: 1 });
        const s = await deliveries(f, {
          requests: n(2_000),
          duplicateRate: 0.3,
          workers: 4,
          seed: 2,
          storeFaults: { unavailableBefore: 0.05, unavailableAfterWrite: 0.03, spuriousConflict: 0.03 },
        });
        const c = await crashes(f);
        const bad =
          d.lost +
          d.doubleAssignments +
          d.unpublished +
          d.slotMismatches +
          d.indexMismatches +
          d.crashes +
          s.lost +
          s.doubleAssignments +
          s.unpublished +
          s.slotMismatches +
          s.crashes +
          s.gaveUp +
          c.failures;
        failed ||= bad > 0;
        rows.push([
          f.name,
          `${d.tasksSent} / ${d.deliveries}`,
          d.lost + s.lost,
          d.doubleAssignments + s.doubleAssignments,
          d.unpublished + s.unpublished,
          d.slotMismatches + s.slotMismatches,
          d.crashes + s.crashes,
          `${s.storeFaultsInjected} / ${s.redeliveries}`,
          `${c.crashPoints - c.failures}/${c.crashPoints}`,
          d.republishedCopies + s.republishedCopies,
          `${((Date.now() - started) / 1000).toFixed(1)} s`,
        ]);
        for (const detail of c.details) console.log(`  crash failure: ${detail}`);
      }
      table(
        'Deliveries, store faults and crashes (per store adapter)',
        [
          'store',
          'tasks / deliveries',
          'lost',
          'double assigned',
          'unpublished',
          'slot mismatches',
          'handler crashes',
          'store faults / retries',
          'crash points ok',
          'same-id republish',
          'time',
        ],
        rows,
      );
    }

    if (wanted('concurrency')) {
      const concurrency: Array<Array<string | number>> = [];
      for (const f of fixtures) {
        for (const workers of [16, 64]) {
          const loops = Math.max(2, Math.round(n(2_000) / workers));
          const c = await concurrentLoops(f, {
            workers,
            loopsPerWorker: loops,
            agents: 4,
            slots: 3,
            seed: 9,
          });
          failed ||= c.lost + c.doubleAssignments + c.unpublished + c.slotMismatches + c.leakedSlots > 0;
          concurrency.push([
            f.name,
            workers,
            c.requests,
            c.lost,
            c.doubleAssignments,
            c.slotMismatches,
            c.leakedSlots,
            `${((100 * c.conflicts) / c.requests).toFixed(1)}%`,
            c.maxCallsPerRequest,
          ]);
        }
      }
      table(
        'Concurrent request-and-complete loops on one pool of 4 agents x 3 slots (no sweep before the check)',
        [
          'store',
          'workers',
          'requests',
          'lost',
          'double assigned',
          'slot mismatches',
          'leaked slots',
          'conflicts / request',
          'max store calls, one request',
        ],
        concurrency,
      );
    }

    if (wanted('soak')) {
      const soakSeconds = Number(process.env.SOAK_SECONDS ?? Math.round(600 * scale));
      const k = await soak({ seconds: soakSeconds, seed: 12 });
      failed ||= k.stuck + k.lost + k.doubleAssignments + k.slotMismatches > 0;
      table(
        `Soak: ${k.seconds} s on the LevelDB store, real clock, agents churning, a sweep every 5 s, a poison task a minute`,
        [
          'requests',
          'completions',
          'failures',
          'sweeps',
          'poison (failed for good)',
          'stuck',
          'lost',
          'double assigned',
          'slot mismatches',
        ],
        [
          [
            k.requests,
            k.completions,
            k.failures,
            k.sweeps,
            `${k.poisonInjected} (${k.poisonFailed})`,
            k.stuck,
            k.lost,
            k.doubleAssignments,
            k.slotMismatches,
          ],
        ],
      );
    }

    if (wanted('poison')) {
      const p = await poison(memoryFixture, { poison: n(5_000), seed: 3 });
      failed ||=
        p.crashes > 0 ||
        p.poisonFailedWithReason !== p.poison ||
        p.validProcessed !== p.valid ||
        p.http5xx > 0;
      table(
        'Poison (SQS-shaped batches and HTTP)',
        [
          'poison',
          'valid',
          'handler crashes',
          'poison refused with a reason',
          'valid processed',
          'HTTP poison',
          'HTTP 5xx',
          'HTTP 4xx with reason',
        ],
        [
          [
            p.poison,
            p.valid,
            p.crashes,
            `${((100 * p.poisonFailedWithReason) / p.poison).toFixed(1)}%`,
            `${((100 * p.validProcessed) / p.valid).toFixed(1)}%`,
            p.httpPoison,
            p.http5xx,
            `${((100 * p.httpRejectedWithReason) / p.httpPoison).toFixed(1)}%`,
          ],
        ],
      );
    }

    if (wanted('llm')) {
      const l = await llmFaults(memoryFixture, { tasks: n(1_000), seed: 4 });
      failed ||=
        l.validDecisions !== l.tasks ||
        l.attackerAssignments > 0 ||
        l.callsWhileOpen > 0 ||
        !l.breakerOpened ||
        !l.breakerClosedAfterCooldown;
      table(
        'LLM faults (timeouts, throttling, 5xx, non-JSON, schema-invalid, unknown/offline agents, injection)',
        [
          'tasks',
          'LLM calls',
          'valid decisions',
          'by router',
          'to attacker',
          'breaker opened',
          'calls while open',
          'closed after cool-down',
        ],
        [
          [
            l.tasks,
            l.llmCalls,
            `${((100 * l.validDecisions) / l.tasks).toFixed(1)}%`,
            Object.entries(l.byRouter)
              .map(([k, v]) => `${k} ${v}`)
              .join(', '),
            l.attackerAssignments,
            l.breakerOpened ? 'yes' : 'no',
            l.callsWhileOpen,
            l.breakerClosedAfterCooldown ? 'yes' : 'no',
          ],
        ],
      );
    }
    if (wanted('auth')) {
      const auth = await authFigures(5);
      failed ||= auth.some((a) => a.rejected !== a.unauthenticated || !a.authenticatedOk);
      table(
        'Authentication (AUTH_TOKEN set): missing, wrong, truncated, extended and misplaced credentials on every route',
        ['entry point', 'unauthenticated requests', 'rejected (401)', 'authenticated control'],
        auth.map((a) => [
          a.entryPoint,
          a.unauthenticated,
          `${((100 * a.rejected) / a.unauthenticated).toFixed(1)}%`,
          a.authenticatedOk ? '200' : 'FAILED',
        ]),
      );
    }
  } finally {
    clearInterval(keepAlive);
    await dynamo?.stop();
    await firestore?.stop();
  }
  console.log(
    failed
      ? '\nFAULT SUITE: FAILURES (see above)'
      : '\nFAULT SUITE: 0 lost, 0 double assignments, 0 crashes, 100% valid decisions, 100% unauthenticated requests rejected',
  );
  if (failed) process.exitCode = 1;
}
