/**
 * The dashboard in a real headless Chromium (Debian's chromium, driven by playwright-core):
 * it loads, follows events sent through the API without a reload, marks stale agents, asks for
 * the token when AUTH_TOKEN is set, and leaves a screenshot in test-artifacts/.
 * Skips loudly, by name, only when /usr/bin/chromium is absent (scripts/ensure-chromium.sh).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { LocalApp } from '../../shared/runtime/local-main';
import { agentUp, post, startApp } from './helpers';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const ARTIFACTS = path.resolve(__dirname, '../../test-artifacts');
const haveChromium = existsSync(CHROMIUM);

if (!haveChromium) {
  // Loud on purpose: a skipped browser test must never look like a passing one.
  console.warn(
    `\n*** SKIPPED: dashboard browser tests: ${CHROMIUM} is absent. Install it with scripts/ensure-chromium.sh ***\n`,
  );
  it.skip(`SKIPPED dashboard in headless Chromium: ${CHROMIUM} is absent (scripts/ensure-chromium.sh installs it)`, () =>
    undefined);
}

(haveChromium ? describe : describe.skip)('dashboard in headless Chromium', () => {
  let profile: string;
  let context: BrowserContext;

  beforeAll(async () => {
    profile = await mkdtemp(path.join(tmpdir(), 'ac-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
    });
    await mkdir(ARTIFACTS, { recursive: true });
  });

  afterAll(async () => {
    await context?.close();
    await rm(profile, { recursive: true, force: true });
  });

  const row = (page: Page, table: string, attr: string, id: string, extra = '') =>
    page.locator(`#${table} tbody tr[${attr}="${id}"]${extra}`);

  describe('without auth', () => {
    let app: LocalApp;
    let page: Page;
    const errors: string[] = [];

    beforeAll(async () => {
      app = await startApp();
      page = await context.newPage();
      page.on('pageerror', (err) => errors.push(err.message));
      page.on('console', (msg) => msg.type() === 'error' && errors.push(msg.text()));
      await page.goto(`${app.url}/`);
      await page.locator('[data-testid=connection]', { hasText: 'live' }).waitFor();
      // A marker that a reload would wipe out.
      await page.evaluate('window.__notReloaded = true');
    });

    afterAll(async () => {
      await page?.close();
      await app?.close();
    });

    it('starts empty and connected', async () => {
      await page.locator('#agents-empty').waitFor({ state: 'visible' });
      await page.locator('#tasks-empty').waitFor({ state: 'visible' });
      expect(await page.locator('#server').textContent()).toContain('store memory');
    });

    it('shows an agent and a task as they arrive, and updates them, without a reload', async () => {
      await post(app, agentUp('npa', ['nutrition_analysis', 'meal_planning']));
      const agent = row(page, 'agents', 'data-agent-id', 'npa');
      await agent.waitFor();
      expect(await agent.getAttribute('data-status')).toBe('available');
      expect(await agent.locator('.chip').allTextContents()).toEqual(['nutrition_analysis', 'meal_planning']);

      const sent = await post(app, {
        type: 'coordination_request',
        task_id: 'b-1',
        task_type: 'nutrition_analysis',
        priority: 'high',
      });
      expect(sent.body.status).toBe('assigned');
      const task = row(page, 'tasks', 'data-task-id', 'b-1', '[data-status="assigned"]');
      await task.waitFor();
      expect(await task.locator('[data-field=agents]').textContent()).toBe('npa');
      expect(await task.locator('[data-field=decider]').textContent()).toBe('rules');
      await agent.locator('[data-load="1/3"]').waitFor();

      await post(app, { type: 'task_completion', task_id: 'b-1', agent_id: 'npa', status: 'succeeded' });
      await row(page, 'tasks', 'data-task-id', 'b-1', '[data-status="completed"]').waitFor();
      await agent.locator('[data-load="0/3"]').waitFor();

      // The decision's reasoning opens under the row.
      await row(page, 'tasks', 'data-task-id', 'b-1').click();
      await page.locator('#tasks tr.detail', { hasText: 'reasoning: npa has nutrition_analysis' }).waitFor();
      expect(await page.evaluate('window.__notReloaded')).toBe(true);
    });

    it('a click on a task row counts when a render replaces the row between press and release', async () => {
      // The rows are rendered anew every second: press on b-1, let a render replace its row, release.
      const task = row(page, 'tasks', 'data-task-id', 'b-1');
      await page.locator('#tasks tr.detail').waitFor();
      const box = (await task.boundingBox())!;
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      await task.evaluate((el) => ((el as unknown as { pressedHere: boolean }).pressedHere = true));
      await page.mouse.down();
      // Until the locator finds a new element for the row (the next render's).
      while (await task.evaluate((el) => (el as unknown as { pressedHere?: boolean }).pressedHere === true))
        await page.waitForTimeout(50);
      await page.mouse.up();
      // The press and the release were on b-1's row (two different elements): its detail closes.
      await page.locator('#tasks tr.detail').waitFor({ state: 'detached' });
    });

    it('shows the queue by priority and the charts', async () => {
      await post(app, { type: 'agent_state_change', agent_id: 'npa', new_state: 'busy' });
      await post(app, {
        type: 'coordination_request',
        task_id: 'b-2',
        task_type: 'meal_planning',
        priority: 'critical',
      });
      await row(page, 'queue', 'data-task-id', 'b-2').waitFor();
      await page.locator('#queue-prio .p-critical', { hasText: 'critical 1' }).waitFor();
      await page.locator('#c-queue', { hasText: '1' }).waitFor();
      await row(page, 'agents', 'data-agent-id', 'npa', '[data-status="busy"]').waitFor();
      expect(await page.locator('[data-testid=chart-outcomes] rect').count()).toBeGreaterThan(0);
      await page.locator('[data-testid=chart-queue] polyline').waitFor({ state: 'attached' });
      await page.locator('#legend-deciders [data-decider=rules]', { hasText: 'rules 2 (100%)' }).waitFor();
      // Untrusted text is rendered as text, never as markup.
      await post(app, agentUp('evil', ['<img src=x onerror="window.__xss=1">']));
      await row(page, 'agents', 'data-agent-id', 'evil').waitFor();
      expect(await page.evaluate('window.__xss')).toBeUndefined();
      expect(errors).toEqual([]);
    });
  });

  it('renders a realistic fleet from the example events (screenshot for the docs)', async () => {
    const app = await startApp();
    const page = await context.newPage();
    try {
      await page.setViewportSize({ width: 1440, height: 900 });
      await page.goto(`${app.url}/`);
      await page.locator('[data-testid=connection]', { hasText: 'live' }).waitFor();
      const lines = (await readFile(path.resolve(__dirname, '../../examples/events-1000.jsonl'), 'utf8'))
        .split('\n')
        .slice(0, 420);
      for (const line of lines) {
        if (line.trim())
          await fetch(`${app.url}/events`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: line,
          });
      }
      await row(page, 'agents', 'data-agent-id', 'wpa-2').waitFor();
      await page.locator('#tasks tbody tr').nth(20).waitFor();
      await page.locator('#queue-more', { hasText: 'more' }).waitFor();
      await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png') });
      await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-full.png'), fullPage: true });
      expect(existsSync(path.join(ARTIFACTS, 'dashboard.png'))).toBe(true);
    } finally {
      await page.close();
      await app.close();
    }
  });

  it('marks an agent whose heartbeat is older than the TTL as stale', async () => {
    const app = await startApp({ AGENT_HEARTBEAT_TTL: '1' });
    const page = await context.newPage();
    try {
      await page.goto(`${app.url}/`);
      await post(app, agentUp('sleepy', ['sleep_analysis']));
      await row(page, 'agents', 'data-agent-id', 'sleepy').waitFor();
      await row(page, 'agents', 'data-agent-id', 'sleepy', '.stale').locator('.s-stale').waitFor();
      expect(await page.locator('#c-agents-sub').textContent()).toContain('1 stale');
    } finally {
      await page.close();
      await app.close();
    }
  });

  it('asks for the token when AUTH_TOKEN is set, and works once given', async () => {
    const token = 'browser-token-0123456789';
    const app = await startApp({ AUTH_TOKEN: token });
    const page = await context.newPage();
    try {
      await post(app, agentUp('secure-agent', ['analytics_report']), token);
      await page.goto(`${app.url}/`);
      await page.locator('#login[open]').waitFor();
      await page.locator('[data-testid=connection]', { hasText: 'token required' }).waitFor();
      expect(await page.locator('#agents tbody tr').count()).toBe(0);

      await page.fill('#login-token', 'wrong-token-000000000');
      await page.click('#login button[type=submit]');
      await page.locator('#login-error').waitFor({ state: 'visible' });

      await page.fill('#login-token', token);
      await page.click('#login button[type=submit]');
      await page.locator('[data-testid=connection]', { hasText: 'live' }).waitFor();
      await row(page, 'agents', 'data-agent-id', 'secure-agent').waitFor();
      expect(await page.evaluate('sessionStorage.length')).toBe(1);

      // A token handed over in the fragment is taken and removed from the address bar.
      const fresh = await context.newPage();
      await fresh.goto(`${app.url}/#token=${token}`);
      await fresh.locator('[data-testid=connection]', { hasText: 'live' }).waitFor();
      expect(fresh.url()).not.toContain(token);
      await fresh.close();
    } finally {
      await page.close();
      await app.close();
    }
  });
});
