/** Sweep part: agents whose heartbeat expired go offline and give their tasks back. */
import { retireStaleAgent } from '../give-back';
import type { CoreServices } from '../services';

export async function retireStaleAgents(s: CoreServices): Promise<{ offline: string[]; requeued: string[] }> {
  const now = s.clock.now();
  const offline: string[] = [];
  const requeued: string[] = [];
  for (const agent of await s.registry.list()) {
    if (!s.registry.isStale(agent, now)) continue;
    requeued.push(...(await retireStaleAgent(s, agent)));
    offline.push(agent.agent_id);
  }
  return { offline, requeued };
}
