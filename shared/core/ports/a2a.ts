// The Agent2Agent port: Agent Cards, polling, push notifications.
import type { A2aEndpoint } from '../model';

/** What an Agent Card gives the registry. */
export interface ResolvedAgentCard {
  /** Capabilities from the card's skills. */
  capabilities: string[];
  a2a: A2aEndpoint;
}

/**
 * Agents that speak the Agent2Agent protocol (adapters/a2a). Dispatch itself happens behind the
 * bus port; this is what the use cases need besides.
 */
export interface A2aGateway {
  /**
   * The card at `url` (fetched, or `current` when it is the same card and still fresh). Throws
   * a permanent `ValidationError` naming the field for a bad card, a retryable error when the
   * card cannot be read now.
   */
  resolveCard(url: string, current?: A2aEndpoint): Promise<ResolvedAgentCard>;
  /** Polls the A2A tasks the coordinator waits for and reports those that moved on (the sweep). */
  poll(): Promise<{ polled: number; reported: number; failed: number }>;
  /** A push notification from an agent: verified, confirmed with the agent, reported. */
  notification(
    body: unknown,
    headers: Record<string, string | string[] | undefined>,
  ): Promise<{ status: number; body: Record<string, unknown> }>;
}
