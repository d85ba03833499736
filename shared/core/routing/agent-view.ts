import type { AgentRecord } from '../model';
import type { AgentView } from '../ports';

export function toView(agent: AgentRecord): AgentView {
  return {
    agent_id: agent.agent_id,
    capabilities: agent.capabilities,
    status: agent.status,
    active_tasks: agent.active_tasks,
    max_concurrent_tasks: agent.max_concurrent_tasks,
  };
}

export const viewHasFreeSlot = (a: AgentView): boolean =>
  a.status === 'available' && a.active_tasks < a.max_concurrent_tasks;

export const isCapableView = (a: AgentView, required: readonly string[]): boolean =>
  required.every((c) => a.capabilities.includes(c));

export const loadRatio = (a: AgentView): number => a.active_tasks / Math.max(1, a.max_concurrent_tasks);
