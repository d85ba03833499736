/**
 * A health check reports one agent or all of them, and takes the stale ones offline (their
 * tasks go back to the queue).
 */
import { NotFoundError } from '../errors';
import type { AgentRecord } from '../model';
import { retireStaleAgent } from './give-back';
import type { CoreServices } from './services';

export async function checkHealth(s: CoreServices, agentId?: string) {
  const agents: AgentRecord[] = [];
  if (agentId) {
    const agent = await s.registry.get(agentId);
    if (!agent) throw new NotFoundError(`agent ${agentId} is not registered`);
    agents.push(agent);
  } else agents.push(...(await s.registry.listFresh()));
  const now = s.clock.now();
  const report = [];
  for (const agent of agents) {
    const age = s.registry.heartbeatAge(agent, now);
    const stale = age > s.settings.heartbeatTtlMs;
    if (stale && agent.status !== 'offline') await retireStaleAgent(s, agent);
    report.push({
      agent_id: agent.agent_id,
      healthy: !stale && agent.status !== 'offline',
      status: stale ? 'offline' : agent.status,
      last_heartbeat: agent.last_heartbeat,
      heartbeat_age_seconds: Math.round(age / 1000),
      active_tasks: agent.active_tasks,
    });
  }
  return {
    agents: report,
    healthy: report.filter((r) => r.healthy).length,
    unhealthy: report.filter((r) => !r.healthy).length,
  };
}
