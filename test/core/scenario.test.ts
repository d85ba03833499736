import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LevelStateStore } from '../../shared/adapters/local/level-store';
import { LocalBus } from '../../shared/adapters/local/local-bus';
import { MemoryStateStore } from '../../shared/adapters/local/memory-store';
import { Coordinator } from '../../shared/core/coordinator/coordinator';
import type { StateStore } from '../../shared/core/ports';
import { RulesRouter } from '../../shared/core/routing/rules-router';
import { runCoreScenario, type ScenarioDriver } from '../support/scenario';

function inProcessDriver(open: () => Promise<StateStore>): ScenarioDriver & { close(): Promise<void> } {
  const bus = new LocalBus();
  let store: StateStore | undefined;
  let coordinator: Coordinator | undefined;
  const ready = async () => {
    if (!coordinator) {
      store = await open();
      coordinator = new Coordinator({ store, bus, router: new RulesRouter() });
    }
    return coordinator;
  };
  return {
    async send(message, options) {
      const [outcome] = await (await ready()).handle(message, options?.id ? { id: options.id } : {});
      if (outcome?.status !== 'done') throw new Error(`delivery failed: ${JSON.stringify(outcome)}`);
    },
    async published() {
      return bus.list();
    },
    async task(id) {
      return (await ready()).findTask(id);
    },
    async agent(id) {
      return (await ready()).findAgent(id);
    },
    async restart() {
      await store?.close?.();
      coordinator = undefined;
    },
    async close() {
      await store?.close?.();
    },
  };
}

test('core scenario in process on the memory store', async () => {
  const store = new MemoryStateStore();
  const driver = inProcessDriver(async () => store);
  await runCoreScenario(driver);
});

test('core scenario in process on the embedded LevelDB store, across a restart', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ac-scn-'));
  const driver = inProcessDriver(() => LevelStateStore.open(dir));
  try {
    await runCoreScenario(driver);
  } finally {
    await driver.close();
    await rm(dir, { recursive: true, force: true });
  }
});
