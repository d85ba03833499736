/** Sweep part: agents whose heartbeat expired go offline and give their tasks back. */
import { retireStaleAgent } from '../give-back';
import type { CoreServices } from '../services';
import type { SweepFailures } from './isolate';

export async function retireStaleAgents(
  s: CoreServices,
  failures: SweepFailures,
): Promise<{ offline: string[]; requeued: string[] }> {
  const now = s.clock.now();
  const offline: string[] = [];
  const requeued: string[] = [];
  for (const agent of await s.registry.listFresh()) {
    if (!s.registry.isStale(agent, now)) continue;
    const tasks = await failures.attempt('stale_agent', { agent_id: agent.agent_id }, () =>
      retireStaleAgent(s, agent),
    );
    if (!tasks) continue;
    requeued.push(...tasks);
    offline.push(agent.agent_id);
  }
  return { offline, requeued };
}
