/**
 * An agent state change (also its heartbeat): register or update the agent; `offline` gives
 * its tasks back to the queue; an agent with a free slot drains the queue.
 */
import { ValidationError } from '../errors';
import type { EventOf } from '../events/schemas';
import type { A2aEndpoint, AgentRecord } from '../model';
import { hasFreeSlot } from '../routing/eligibility';
import { drainQueue } from './drain';
import { giveBackTasks } from './give-back';
import type { CoreServices } from './services';

export async function changeAgentState(s: CoreServices, event: EventOf<'agent_state_change'>) {
  const { agent_card_url, ...registration } = event.data;
  const fromCard = agent_card_url
    ? await readCard(s, registration.agent_id, agent_card_url, registration.capabilities)
    : undefined;
  const agent = await s.registry.register(fromCard ? { ...registration, ...fromCard } : registration);
  const requeued =
    agent.status === 'offline' ? await giveBackTasks(s, agent, `agent ${agent.agent_id} went offline`) : [];
  const assigned = hasFreeSlot(agent) ? await drainQueue(s, { agents: [agent.agent_id] }) : [];
  return {
    agent_id: agent.agent_id,
    status: agent.status,
    active_tasks: agent.active_tasks,
    requeued,
    assigned,
  };
}

/**
 * The agent's Agent Card (fetched, or the one on record while fresh): its endpoint, and the
 * capabilities to register: the explicit ones (else those registered before the card's own)
 * merged with the card's skills.
 */
async function readCard(
  s: CoreServices,
  agentId: string,
  url: string,
  explicit: readonly string[] | undefined,
): Promise<{ capabilities: string[]; a2a: A2aEndpoint }> {
  if (!s.a2a)
    throw new ValidationError('agent_card_url: this runtime has no A2A support configured', 'agent_card_url');
  const current = await s.registry.get(agentId);
  const card = await s.a2a.resolveCard(url, current?.a2a);
  return { capabilities: mergeCardCapabilities(current, explicit, card.capabilities), a2a: card.a2a };
}

/** Explicit capabilities (or the registered ones minus the previous card's) and the card's. */
export function mergeCardCapabilities(
  current: AgentRecord | undefined,
  explicit: readonly string[] | undefined,
  fromCard: readonly string[],
): string[] {
  const previousCard = new Set(current?.a2a?.card_capabilities ?? []);
  const own = explicit ?? (current?.capabilities ?? []).filter((c) => !previousCard.has(c));
  return [...new Set([...own, ...fromCard])];
}
