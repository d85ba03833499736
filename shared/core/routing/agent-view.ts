import type { AgentRecord } from '../model';
import type { AgentView } from '../ports';

/** What a router sees of an agent: only what a decision needs. */
export function toView(agent: AgentRecord): AgentView {
  return {
    agent_id: agent.agent_id,
    capabilities: agent.capabilities,
    status: agent.status,
    active_tasks: agent.active_tasks,
    max_concurrent_tasks: agent.max_concurrent_tasks,
  };
}
