/**
 * The soak: a bounded run (10 minutes in `npm run faults`, `SOAK_SECONDS` to change it) of the
 * coordinator over the embedded LevelDB store on the real clock, with mixed traffic (requests
 * of every priority, completions, failures), agents churning between busy, available and
 * offline, a sweep every few seconds, and one poison task per minute (a task the store refuses
 * to commit, and a malformed message). It counts what must stay 0: tasks stuck (queued while a
 * free capable agent exists, over more than two sweeps), tasks lost and tasks assigned twice.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LevelStateStore } from '../../shared/adapters/local/level-store';
import { Coordinator } from '../../shared/core/coordinator/coordinator';
import { ValidationError } from '../../shared/core/errors';
import { requiredCapabilities, hasFreeSlot, isCapable, mayTake } from '../../shared/core/routing/eligibility';
import { RulesRouter } from '../../shared/core/routing/rules-router';
import { checkInvariants, fleet, RecordingBus, rng } from './harness';

export interface SoakFigures {
  seconds: number;
  requests: number;
  completions: number;
  failures: number;
  sweeps: number;
  poisonInjected: number;
  poisonFailed: number;
  stuck: number;
  lost: number;
  doubleAssignments: number;
  slotMismatches: number;
}

export async function soak(opts: {
  seconds: number;
  seed: number;
  sweepEverySeconds?: number;
}): Promise<SoakFigures> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ac-soak-'));
  const level = await LevelStateStore.open(dir);
  // The poison: the store refuses for good to commit an assignment of a poison task.
  const put = level.putTask.bind(level);
  level.putTask = async (t, v) => {
    if (t.task_id.startsWith('poison-') && t.status === 'assigned')
      throw new ValidationError('injected: item refused');
    return put(t, v);
  };
  const bus = new RecordingBus();
  const random = rng(opts.seed);
  const coordinator = new Coordinator({
    store: level,
    bus,
    router: new RulesRouter(),
    settings: { heartbeatTtlMs: 3_600_000 },
  });
  const agents = fleet(12);
  for (const a of agents)
    await coordinator.handle({
      type: 'agent_state_change',
      agent_id: a.agent_id,
      new_state: 'available',
      capabilities: a.capabilities,
      max_concurrent_tasks: a.max,
    });
  const taskIds = new Set<string>();
  const figures: SoakFigures = {
    seconds: opts.seconds,
    requests: 0,
    completions: 0,
    failures: 0,
    sweeps: 0,
    poisonInjected: 0,
    poisonFailed: 0,
    stuck: 0,
    lost: 0,
    doubleAssignments: 0,
    slotMismatches: 0,
  };
  const caps = [...new Set(agents.flatMap((a) => a.capabilities))];
  const started = Date.now();
  const sweepEvery = (opts.sweepEverySeconds ?? 5) * 1000;
  let nextSweep = started + sweepEvery;
  let nextPoison = started;
  const suspicious = new Map<string, number>();
  let n = 0;
  while (Date.now() - started < opts.seconds * 1000) {
    n += 1;
    const roll = random();
    if (Date.now() >= nextPoison) {
      nextPoison += 60_000;
      figures.poisonInjected += 1;
      const id = `poison-${figures.poisonInjected}`;
      taskIds.add(id);
      await coordinator.handle({
        type: 'coordination_request',
        task_id: id,
        task_type: caps[0],
        priority: 'critical',
      });
      await coordinator.handle('{"type": "coordination_request", "task_type": ');
    } else if (roll < 0.45) {
      const id = `soak-${n}`;
      taskIds.add(id);
      figures.requests += 1;
      await coordinator.handle({
        type: 'coordination_request',
        task_id: id,
        task_type: caps[Math.floor(random() * caps.length)],
        priority: (['critical', 'high', 'medium', 'low'] as const)[Math.floor(random() * 4)],
      });
    } else if (roll < 0.9) {
      const agent = agents[Math.floor(random() * agents.length)]!;
      const taskId = (await level.getAgent(agent.agent_id))?.active_task_ids[0];
      if (taskId) {
        const fail = random() < 0.1;
        await coordinator.handle(
          fail
            ? { type: 'error_event', task_id: taskId, agent_id: agent.agent_id, error: 'soak failure' }
            : { type: 'task_completion', task_id: taskId, agent_id: agent.agent_id },
        );
        if (fail) figures.failures += 1;
        else figures.completions += 1;
      }
    } else {
      const agent = agents[Math.floor(random() * agents.length)]!;
      const state = random() < 0.6 ? 'available' : random() < 0.7 ? 'busy' : 'offline';
      await coordinator.handle({ type: 'agent_state_change', agent_id: agent.agent_id, new_state: state });
    }
    if (Date.now() >= nextSweep) {
      nextSweep += sweepEvery;
      await coordinator.sweep();
      figures.sweeps += 1;
      await countStuck(level, suspicious, figures);
    }
    if (n % 200 === 0) await sleep(0);
  }
  // Everyone back, a last sweep, then the invariants.
  for (const a of agents)
    await coordinator.handle({ type: 'agent_state_change', agent_id: a.agent_id, new_state: 'available' });
  await coordinator.sweep();
  const inv = await checkInvariants(level, bus, taskIds);
  figures.lost = inv.lost;
  figures.doubleAssignments = inv.doubleAssignments;
  figures.slotMismatches = inv.slotMismatches;
  for (let i = 1; i <= figures.poisonInjected; i++)
    if ((await level.getTask(`poison-${i}`))?.status === 'failed') figures.poisonFailed += 1;
  await level.close();
  await rm(dir, { recursive: true, force: true });
  return figures;
}

/** A queued task (no dependencies) with a free agent that may take it, seen at more than two sweeps in a row, is stuck. */
async function countStuck(
  store: LevelStateStore,
  suspicious: Map<string, number>,
  figures: SoakFigures,
): Promise<void> {
  const free = (await store.listAgents()).filter(hasFreeSlot);
  const queued = await store.listTasksByStatus('queued', 100_000);
  const now = new Set<string>();
  for (const t of queued) {
    if (t.dependencies.length > 0) continue;
    if (!free.some((a) => mayTake(t, a.agent_id) && isCapable(a, requiredCapabilities(t)))) continue;
    now.add(t.task_id);
    const times = (suspicious.get(t.task_id) ?? 0) + 1;
    suspicious.set(t.task_id, times);
    if (times === 3) figures.stuck += 1;
  }
  for (const id of suspicious.keys()) if (!now.has(id)) suspicious.delete(id);
}
