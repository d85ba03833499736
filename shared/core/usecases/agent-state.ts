/**
 * An agent state change (also its heartbeat): register or update the agent; `offline` gives
 * its tasks back to the queue; an agent with a free slot drains the queue.
 */
import type { EventOf } from '../events/schemas';
import { hasFreeSlot } from '../routing/eligibility';
import { drainQueue } from './drain';
import { giveBackTasks } from './give-back';
import type { CoreServices } from './services';

export async function changeAgentState(s: CoreServices, event: EventOf<'agent_state_change'>) {
  const agent = await s.registry.register(event.data);
  const requeued =
    agent.status === 'offline' ? await giveBackTasks(s, agent, `agent ${agent.agent_id} went offline`) : [];
  const assigned = hasFreeSlot(agent) ? await drainQueue(s) : [];
  return {
    agent_id: agent.agent_id,
    status: agent.status,
    active_tasks: agent.active_tasks,
    requeued,
    assigned,
  };
}
