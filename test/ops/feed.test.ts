/**
 * The dashboard's server side over real HTTP: the page and its assets, the live feed
 * (server-sent events) and the statistics, with and without AUTH_TOKEN.
 */
import { deciderOf, StatsTracker } from '../../shared/runtime/dashboard/stats';
import type { LocalApp } from '../../shared/runtime/local-main';
import { makeTask } from '../support/factories';
import { agentUp, eventually, post, startApp } from './helpers';

interface SseEvent {
  event: string;
  data: unknown;
}

/** Connects to /stream and collects events until closed. */
async function openFeed(app: LocalApp, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const res = await fetch(`${app.url}/stream`, { headers, signal: controller.signal });
  const events: SseEvent[] = [];
  const reading = (async () => {
    if (res.status !== 200 || !res.body) return;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) events.push({ event, data: JSON.parse(data) });
        }
      }
    } catch {
      // aborted
    }
  })();
  return {
    res,
    events,
    close: async () => {
      controller.abort();
      await reading;
    },
  };
}

describe('dashboard server (no auth)', () => {
  let app: LocalApp;
  beforeAll(async () => {
    app = await startApp();
  });
  afterAll(async () => {
    await app.close();
  });

  it('serves the page and its assets at / with a strict content security policy', async () => {
    const page = await fetch(`${app.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).toContain('/dashboard/dashboard.js');
    for (const asset of ['/dashboard/dashboard.js', '/dashboard/dashboard.css', '/dashboard/favicon.svg']) {
      const res = await fetch(`${app.url}${asset}`);
      expect(res.status).toBe(200);
      expect((await res.text()).length).toBeGreaterThan(100);
    }
  });

  it('leaves the API routes as they were', async () => {
    expect((await fetch(`${app.url}/health`)).status).toBe(200);
    expect((await fetch(`${app.url}/agents`)).status).toBe(200);
    expect((await fetch(`${app.url}/`, { method: 'POST', body: '{}' })).status).toBe(405);
    expect((await fetch(`${app.url}/nope`)).status).toBe(404);
  });

  it('streams a snapshot on connect, then task events and snapshots as things change', async () => {
    const feed = await openFeed(app);
    expect(feed.res.headers.get('content-type')).toMatch(/text\/event-stream/);
    await eventually(() => feed.events.some((e) => e.event === 'snapshot'), 'first snapshot');

    expect((await post(app, agentUp('npa', ['nutrition_analysis']))).status).toBe(200);
    const done = await post(app, {
      type: 'coordination_request',
      task_id: 'f-1',
      task_type: 'nutrition_analysis',
      priority: 'high',
    });
    expect(done.body.status).toBe('assigned');

    const taskEvent = await eventually(
      () =>
        feed.events.find(
          (e) => e.event === 'task' && (e.data as { task_id: string; status: string }).status === 'assigned',
        ),
      'task event',
    );
    expect(taskEvent.data).toMatchObject({
      task_id: 'f-1',
      assigned_agents: ['npa'],
      decision: { action: 'assign_task', router: 'rules', decider: 'rules', target_agents: ['npa'] },
    });
    expect(taskEvent.data).not.toHaveProperty('task_data');
    await eventually(() => feed.events.some((e) => e.event === 'assignment'), 'published assignment');
    const snapshot = await eventually(
      () =>
        feed.events
          .filter((e) => e.event === 'snapshot')
          .map(
            (e) =>
              e.data as {
                agents: Array<{ agent_id: string; active_tasks: number }>;
                tasks: Array<{ task_id: string }>;
              },
          )
          .find((s) => s.agents.some((a) => a.agent_id === 'npa' && a.active_tasks === 1)),
      'snapshot with the busy agent',
    );
    expect(snapshot.tasks.map((t) => t.task_id)).toContain('f-1');
    await feed.close();
    await eventually(() => app.feed.clientCount === 0, 'client to be dropped');
  });

  it('counts outcomes, deciders and the queue in /stats', async () => {
    await post(app, {
      type: 'coordination_request',
      task_id: 'f-q',
      task_type: 'sleep_analysis',
      priority: 'low',
    });
    const res = await fetch(`${app.url}/stats`);
    expect(res.status).toBe(200);
    const stats = (await res.json()) as {
      per_minute: Array<Record<string, number>>;
      deciders: Record<string, number>;
      tasks_by_status: Record<string, number>;
      queue_depth: Array<{ depth: number }>;
    };
    const sum = (k: string) => stats.per_minute.reduce((n, b) => n + (b[k] ?? 0), 0);
    expect(sum('received')).toBe(2);
    expect(sum('assigned')).toBe(1);
    expect(stats.deciders.rules).toBe(2);
    expect(stats.tasks_by_status).toMatchObject({ queued: 1, assigned: 1 });
    expect(stats.queue_depth.at(-1)!.depth).toBe(1);
  });
});

describe('dashboard server with AUTH_TOKEN', () => {
  const token = 'test-token-0123456789abcdef';
  let app: LocalApp;
  beforeAll(async () => {
    app = await startApp({ AUTH_TOKEN: token });
  });
  afterAll(async () => {
    await app.close();
  });

  it('serves the page without a token (it holds no data)', async () => {
    expect((await fetch(`${app.url}/`)).status).toBe(200);
  });

  it('refuses the feed and the stats without the right token, accepts it as a bearer header', async () => {
    for (const path of ['/stream', '/stats']) {
      expect((await fetch(`${app.url}${path}`)).status).toBe(401);
      expect(
        (await fetch(`${app.url}${path}`, { headers: { authorization: 'Bearer wrong-token-xxxxxxxxxxxx' } }))
          .status,
      ).toBe(401);
      expect((await fetch(`${app.url}${path}?access_token=${token}`)).status).toBe(401);
    }
    expect((await fetch(`${app.url}/stats`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(
      200,
    );
    const feed = await openFeed(app, { 'x-api-key': token });
    expect(feed.res.status).toBe(200);
    await eventually(() => feed.events.some((e) => e.event === 'snapshot'), 'snapshot with x-api-key');
    await feed.close();
  });
});

describe('StatsTracker', () => {
  it('names who decided', () => {
    expect(deciderOf({ router: 'rules', path: 'fast_path:single_capable' })).toBe('fast_path');
    expect(deciderOf({ router: 'llm', path: 'llm_batch' })).toBe('llm');
    expect(deciderOf({ router: 'rules', path: 'rules', fallback_reason: 'timeout' })).toBe('fallback');
    expect(deciderOf({ router: 'rules', path: 'drain' })).toBe('rules');
    expect(deciderOf({ router: 'direct', path: 'direct' })).toBe('direct');
  });

  it('reports only changes an operator sees, and seeds from existing records', () => {
    const now = Date.parse('2025-01-01T12:00:30Z');
    const tracker = new StatsTracker({ now: () => now });
    const task = makeTask({
      task_id: 's-1',
      status: 'queued',
      created_at: '2025-01-01T11:59:10Z',
      updated_at: '2025-01-01T11:59:10Z',
    });
    tracker.seed([task]);
    expect(tracker.queue().depth).toBe(1);
    const assigned = {
      ...task,
      status: 'assigned' as const,
      assigned_agents: ['a'],
      version: task.version + 1,
    };
    expect(tracker.observe(assigned)).toBe(true);
    expect(tracker.observe({ ...assigned, outbox: [], version: assigned.version + 1 })).toBe(false);
    const stats = tracker.stats();
    expect(stats.per_minute.at(-2)).toMatchObject({ received: 1 });
    expect(stats.per_minute.at(-1)).toMatchObject({ assigned: 1 });
    expect(stats.tasks_by_status).toMatchObject({ queued: 0, assigned: 1 });
  });
});
