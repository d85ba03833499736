/**
 * The CLI through its real binary (bin/agent-coordinator.js) in child processes, against a
 * local coordinator started here on a free port with the memory store.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { LocalApp } from '../../shared/runtime/local-main';
import { agentUp, eventually, post, startApp } from './helpers';

const ROOT = path.resolve(__dirname, '../..');
const BIN = path.join(ROOT, 'bin', 'agent-coordinator.js');
const EXAMPLE = path.join(ROOT, 'examples', 'events-1000.jsonl');

/** The environment of a user who has set nothing (no token, no URL from the test runner). */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of ['AUTH_TOKEN', 'AGENT_COORDINATOR_URL', 'AGENT_COORDINATOR_TOKEN', 'PORT'])
    delete env[key];
  return { ...env, NO_COLOR: '1', ...extra };
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], options: { env?: Record<string, string>; input?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: cleanEnv(options.env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

function background(args: string[], env: Record<string, string> = {}) {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: cleanEnv(env),
  });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, out, exited };
}

describe('agent-coordinator CLI', () => {
  let app: LocalApp;
  let url: string;
  let tmp: string;

  beforeAll(async () => {
    app = await startApp();
    url = app.url;
    tmp = await mkdtemp(path.join(tmpdir(), 'ac-cli-'));
    // Builds the CLI once before the tests run it concurrently.
    expect((await cli(['--version'])).code).toBe(0);
  });

  afterAll(async () => {
    await app.close();
    await rm(tmp, { recursive: true, force: true });
  });

  describe('help and usage errors', () => {
    it('prints the overview with the exit codes', async () => {
      const r = await cli(['--help']);
      expect(r.code).toBe(0);
      for (const word of ['start', 'send', 'agents', 'tasks', 'tail', 'replay', 'Exit codes'])
        expect(r.stdout).toContain(word);
    });

    it.each(['start', 'send', 'agents', 'tasks', 'tail', 'replay'])('prints help for %s', async (command) => {
      const r = await cli([command, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Usage: agent-coordinator ${command}`);
      expect(r.stdout).toContain('Exit codes');
    });

    it('exits 2 on an unknown command, an unknown option or a bad value', async () => {
      const unknown = await cli(['frobnicate']);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('unknown command "frobnicate"');
      const option = await cli(['agents', '--bogus']);
      expect(option.code).toBe(2);
      expect(option.stderr).toContain("Unknown option '--bogus'");
      const value = await cli(['tasks', '--status', 'sleeping', '--url', url]);
      expect(value.code).toBe(2);
      expect(value.stderr).toContain('--status must be one of');
      const file = await cli(['replay', path.join(tmp, 'missing.jsonl'), '--url', url]);
      expect(file.code).toBe(2);
      expect(file.stderr).toContain('cannot read');
      const nothing = await cli(['send', '--url', url]);
      expect(nothing.code).toBe(2);
    });

    it('exits 3 when the server cannot be reached', async () => {
      const closed = http.createServer();
      await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
      const port = (closed.address() as AddressInfo).port;
      await new Promise<void>((r) => closed.close(() => r()));
      const r = await cli(['agents', '--url', `http://127.0.0.1:${port}`]);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain('connection refused');
    });
  });

  describe('against a running coordinator', () => {
    it('send registers an agent from flags and routes a task from a file', async () => {
      const agent = await cli([
        'send',
        '--url',
        url,
        '-t',
        'agent_state_change',
        '--agent',
        'npa',
        '--state',
        'available',
        '--capabilities',
        'nutrition_analysis,meal_planning',
      ]);
      expect(agent.code).toBe(0);
      expect(agent.stdout).toContain('agent npa: available');

      const file = path.join(tmp, 'request.json');
      await writeFile(
        file,
        JSON.stringify({
          type: 'coordination_request',
          task_id: 'cli-1',
          task_type: 'nutrition_analysis',
          priority: 'high',
          task_data: { meal: 'oatmeal' },
        }),
      );
      const sent = await cli(['send', file, '--url', url]);
      expect(sent.code).toBe(0);
      expect(sent.stdout).toContain('task cli-1: assigned -> npa by rules');

      const stdin = await cli(['send', '-', '--url', url, '--json'], {
        input: JSON.stringify({ type: 'coordination_request', task_id: 'cli-2', task_type: 'meal_planning' }),
      });
      expect(stdin.code).toBe(0);
      expect(JSON.parse(stdin.stdout)).toMatchObject({
        task_id: 'cli-2',
        status: 'assigned',
        assigned_agents: ['npa'],
      });
    });

    it('send exits 1 with the reason when the server refuses the event', async () => {
      const r = await cli(['send', '--url', url, '-t', 'coordination_request', '--priority', 'high']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('error: 400 invalid_message');
      expect(r.stderr).toContain('task_type');
    });

    it('agents lists the registry as a table and as JSON', async () => {
      await post(app, agentUp('wpa', ['workout_planning'], 2));
      const table = await cli(['agents', '--url', url]);
      expect(table.code).toBe(0);
      expect(table.stdout).toMatch(/^AGENT\s+STATUS\s+LOAD\s+HEARTBEAT\s+CAPABILITIES/);
      expect(table.stdout).toMatch(/npa\s+available\s+2\/3/);
      const json = await cli(['agents', '--url', url, '--json', '--capability', 'workout_planning']);
      expect(JSON.parse(json.stdout).map((a: { agent_id: string }) => a.agent_id)).toEqual(['wpa']);
    });

    it('tasks filters, and shows one task in full', async () => {
      const list = await cli(['tasks', '--url', url, '--agent', 'npa', '--type', 'nutrition_analysis']);
      expect(list.code).toBe(0);
      expect(list.stdout).toMatch(/cli-1\s+nutrition_analysis\s+high\s+assigned\s+npa\s+rules\/rules/);
      expect(list.stdout).not.toContain('cli-2');
      const json = await cli(['tasks', '--url', url, '--status', 'assigned', '--json']);
      expect(
        JSON.parse(json.stdout)
          .map((t: { task_id: string }) => t.task_id)
          .sort(),
      ).toEqual(['cli-1', 'cli-2']);
      const one = await cli(['tasks', 'cli-1', '--url', url]);
      expect(JSON.parse(one.stdout)).toMatchObject({
        task_id: 'cli-1',
        decision: { router: 'rules', target_agents: ['npa'] },
      });
      const missing = await cli(['tasks', 'no-such-task', '--url', url]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('not found');
    });

    it('tail follows decisions as they happen and stops cleanly on Ctrl-C', async () => {
      await post(app, agentUp('wpa', ['workout_planning'], 2));
      const tail = background(['tail', '--url', url, '--lines', '0', '--assignments']);
      await eventually(() => tail.out.stderr.includes('following'), 'tail to connect');
      await post(app, {
        type: 'coordination_request',
        task_id: 'cli-tail',
        task_type: 'workout_planning',
        priority: 'critical',
      });
      await eventually(
        () =>
          /cli-tail workout_planning critical assigned -> wpa \[rules\/rules\] wpa has workout_planning/.test(
            tail.out.stdout,
          ),
        () => `the decision line in:\n${tail.out.stdout}\n${tail.out.stderr}`,
      );
      await eventually(
        () => tail.out.stdout.includes('cli-tail published Task Assignment to wpa'),
        'the assignment line',
      );
      expect(tail.out.stdout).not.toContain('cli-1');
      tail.child.kill('SIGINT');
      expect(await tail.exited).toBe(0);
    });

    it('tail --json prints one JSON object per line', async () => {
      const tail = background(['tail', '--url', url, '--lines', '2', '--json']);
      await eventually(() => tail.out.stdout.split('\n').filter(Boolean).length >= 2, 'the two recent tasks');
      const first = JSON.parse(tail.out.stdout.split('\n')[0]!);
      expect(first.event).toBe('task');
      expect(first.data).toHaveProperty('task_id');
      tail.child.kill('SIGTERM');
      expect(await tail.exited).toBe(0);
    });
  });

  describe('replay', () => {
    it('replays the 1,000-event example with progress lines and an exact summary', async () => {
      const fresh = await startApp();
      try {
        const r = await cli(['replay', EXAMPLE, '--url', fresh.url, '--json']);
        expect(r.code).toBe(1);
        const summary = JSON.parse(r.stdout);
        expect(summary).toMatchObject({
          events: 1000,
          processed: 1000,
          succeeded: 985,
          failed: 15,
          retried: 0,
          rate_limited: 0,
        });
        const byCode = Object.fromEntries(
          summary.failures.map((g: { code: string; lines: number[] }) => [g.code, g.lines]),
        );
        expect(byCode).toEqual({
          invalid_json: [97, 233, 412, 577, 777, 961],
          invalid_message: [180, 301, 519, 843],
          unknown_message_type: [366, 702],
          not_found: [458, 640, 905],
        });
        expect(summary.events_per_second).toBeGreaterThan(0);
        // stderr is not a terminal here: one plain progress line per 10%.
        const progress = r.stderr.split('\n').filter((l) => l.startsWith('replay: '));
        expect(progress).toHaveLength(10);
        expect(progress.at(-1)).toMatch(/^replay: 1000\/1000 \(100%\) ok 985 failed 15/);
        // The coordinator saw it all: the example's agents and hundreds of tasks.
        const agents = (await (await fetch(`${fresh.url}/agents`)).json()) as {
          agents: Array<{ agent_id: string }>;
        };
        expect(agents.agents.map((a) => a.agent_id).sort()).toEqual([
          'ana',
          'coordinator',
          'npa',
          'wpa',
          'wpa-2',
        ]);
        expect(fresh.feed.stats().tasks_by_status.completed).toBeGreaterThan(300);
      } finally {
        await fresh.close();
      }
    });

    it('prints a readable summary', async () => {
      const file = path.join(tmp, 'small.jsonl');
      await writeFile(
        file,
        [
          '{"type":"agent_health_check"}',
          '',
          '{broken',
          '{"type":"task_completion","task_id":"nope","agent_id":"npa"}',
        ].join('\n'),
      );
      const r = await cli(['replay', file, '--url', url, '--quiet']);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain('processed: 3 of 3 events');
      expect(r.stdout).toContain('succeeded: 1');
      expect(r.stdout).toContain('failed:    2');
      expect(r.stdout).toMatch(/1 {2}invalid_json: line 3: /);
      expect(r.stdout).toMatch(/1 {2}not_found: line 4: task nope not found/);
      expect(r.stdout).toMatch(/time: {6}\d+\.\d\d s, [\d.]+ events\/s/);
    });

    it('honours 429 Retry-After and exits 0 when everything succeeded', async () => {
      let calls = 0;
      const limited = http.createServer((req, res) => {
        req.resume();
        calls += 1;
        if (calls === 2) {
          res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' });
          res.end(JSON.stringify({ error: 'rate_limited', reason: 'more than 1 requests a minute' }));
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"recorded":true}');
      });
      await new Promise<void>((r) => limited.listen(0, '127.0.0.1', () => r()));
      try {
        const file = path.join(tmp, 'three.jsonl');
        await writeFile(file, '{"type":"agent_health_check"}\n'.repeat(3));
        const r = await cli([
          'replay',
          file,
          '--url',
          `http://127.0.0.1:${(limited.address() as AddressInfo).port}`,
          '--json',
        ]);
        expect(r.code).toBe(0);
        expect(JSON.parse(r.stdout)).toMatchObject({
          processed: 3,
          succeeded: 3,
          failed: 0,
          rate_limited: 1,
          retried: 1,
        });
        expect(calls).toBe(4);
        expect(r.stderr).toContain('rate limited (429): waiting 1.0s');
      } finally {
        limited.close();
      }
    });
  });

  describe('with AUTH_TOKEN', () => {
    const token = 'cli-token-0123456789abcdef';
    let secure: LocalApp;
    beforeAll(async () => {
      secure = await startApp({ AUTH_TOKEN: token });
    });
    afterAll(async () => {
      await secure.close();
    });

    it('exits 4 without the token and works with it from the environment or --token', async () => {
      const refused = await cli(['agents', '--url', secure.url]);
      expect(refused.code).toBe(4);
      expect(refused.stderr).toContain('requires a token');
      expect((await cli(['agents', '--url', secure.url, '--token', 'wrong-token-0000000000'])).code).toBe(4);
      expect((await cli(['agents', '--url', secure.url], { env: { AUTH_TOKEN: token } })).code).toBe(0);
      const sent = await cli([
        'send',
        '--url',
        secure.url,
        '--token',
        token,
        '-t',
        'agent_state_change',
        '--agent',
        'a1',
        '--state',
        'available',
      ]);
      expect(sent.code).toBe(0);
      const tail = background(['tail', '--url', secure.url, '--lines', '0'], { AUTH_TOKEN: token });
      await eventually(() => tail.out.stderr.includes('following'), 'authenticated tail');
      tail.child.kill('SIGINT');
      expect(await tail.exited).toBe(0);
    });
  });

  it('start runs the coordinator with the dashboard, and stops on SIGTERM', async () => {
    const server = background([
      'start',
      '--port',
      '0',
      '--store',
      'memory',
      '--agents',
      'examples/agents.json',
      '--log-level',
      'silent',
    ]);
    const started = await eventually(
      () => /listening on (http:\/\/[^\s]+)/.exec(server.out.stdout)?.[1],
      'the listening line',
    );
    expect(server.out.stdout).toContain('dashboard:');
    const page = await fetch(`${started}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('agent-coordinator');
    const agents = await cli(['agents', '--url', started, '--json']);
    expect(
      JSON.parse(agents.stdout)
        .map((a: { agent_id: string }) => a.agent_id)
        .sort(),
    ).toEqual(['ana', 'coordinator', 'npa', 'wpa']);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    const bad = await cli(['start', '--store', 'paper']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('STORE');
  });
});
