/**
 * Sweep part, for agents that speak A2A. Such an agent sends no heartbeats of its own: the sweep
 * reads its Agent Card when its heartbeat is half-way to stale, and a card that answers is the
 * heartbeat (and refreshes the record when it changed). An agent that stopped answering goes
 * stale, offline, and its tasks are reassigned like any other's. Then the A2A tasks of agents
 * that do not push are polled.
 */
import { errorMessage } from '../../errors';
import type { CoreServices } from '../services';
import { mergeCardCapabilities } from '../agent-state';
import { sweep } from './sweep';

/**
 * The sweep, with A2A agents heard from first (so a silent one goes stale in this very sweep)
 * and their tasks polled; `a2a` is in the answer only when A2A is configured.
 */
export async function sweepWithA2a(s: CoreServices) {
  const refreshed = await heartbeatA2aAgents(s);
  const polled = await pollA2aTasks(s);
  const result = await sweep(s);
  return polled ? { ...result, a2a: { ...polled, cards_refreshed: refreshed } } : result;
}

/** Returns how many A2A agents were heard from. */
export async function heartbeatA2aAgents(s: CoreServices): Promise<number> {
  if (!s.a2a) return 0;
  const now = s.clock.now();
  let heard = 0;
  for (const agent of await s.registry.list()) {
    if (!agent.a2a || agent.status === 'offline') continue;
    if (s.registry.heartbeatAge(agent, now) < s.settings.heartbeatTtlMs / 2) continue;
    try {
      const card = await s.a2a.resolveCard(agent.a2a.card_url);
      await s.registry.register({
        agent_id: agent.agent_id,
        new_state: agent.status,
        capabilities: mergeCardCapabilities(agent, undefined, card.capabilities),
        a2a: card.a2a,
      });
      heard += 1;
    } catch (err) {
      s.logger.warn('a2a agent card not read', { agent_id: agent.agent_id, error: errorMessage(err) });
    }
  }
  return heard;
}

export async function pollA2aTasks(s: CoreServices) {
  if (!s.a2a) return undefined;
  try {
    return await s.a2a.poll();
  } catch (err) {
    s.logger.warn('a2a poll failed', { error: errorMessage(err) });
    return { polled: 0, reported: 0, failed: 1 };
  }
}
