/** Shared by the operator-experience tests: a local app on a free port with the memory store. */
import { startLocalApp, type LocalApp } from '../../shared/runtime/local-main';
import type { FeedOptions } from '../../shared/runtime/dashboard/feed';

export async function startApp(env: Record<string, string> = {}, feed: FeedOptions = {}): Promise<LocalApp> {
  return startLocalApp(
    {
      STORE: 'memory',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      RATE_LIMIT_PER_MINUTE: '0',
      ...env,
    },
    {},
    { snapshotThrottleMs: 100, refreshMs: 1000, sampleMs: 500, ...feed },
  );
}

export async function post(
  app: LocalApp,
  event: unknown,
  token?: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${app.url}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(event),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

export const agentUp = (agent_id: string, capabilities: string[], max = 3) => ({
  type: 'agent_state_change',
  agent_id,
  new_state: 'available',
  capabilities,
  max_concurrent_tasks: max,
});

/** Polls until `check` returns a value (not undefined/false) or the deadline passes. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  what: string | (() => string),
  ms = 10_000,
): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until)
      throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
