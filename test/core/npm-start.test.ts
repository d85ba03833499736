/**
 * `npm start` as a user runs it (scripts/start.js, the embedded LevelDB store in a data
 * directory), driven by the README's walk-through exactly as written, then killed and
 * restarted: agents and tasks are still there.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');

function start(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['scripts/start.js'], {
    cwd: root,
    env: { ...process.env, PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(out);
      if (m) resolve({ child, url: m[1]! });
    });
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    child.on('exit', (code) => reject(new Error(`npm start exited with ${code}: ${out}`)));
  });
}

function walkThrough(): string {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const section = readme.split('## Walk-through')[1]!;
  const block = /```bash\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error('README has no bash block under "Walk-through"');
  return block[1]!;
}

test('the README walk-through works as written against npm start, and state survives a restart', async () => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'ac-start-'));
  let server = await start(dataDir);
  try {
    const script = walkThrough().replaceAll('http://127.0.0.1:8787', server.url);
    // stdin is not a socket: bash would take itself for a remote shell and source bashrc.
    const run = spawnSync('bash', ['-euo', 'pipefail', '-c', script], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('"assigned_agents": [\n    "nutrition-1"\n  ]');
    expect(run.stdout).toContain('"target_agent": "nutrition-1"');
    expect(run.stdout).toMatch(/"status": "completed"/);
    expect(run.stdout).toContain('[\n  "meal-plan-42"\n]');

    // A crash, not a clean stop: SIGKILL, then start again on the same data directory.
    server.child.kill('SIGKILL');
    await new Promise((r) => server.child.once('exit', r));
    server = await start(dataDir);
    const agents = (await (await fetch(`${server.url}/agents`)).json()) as {
      agents: Array<{ agent_id: string }>;
    };
    expect(agents.agents.map((a) => a.agent_id).sort()).toEqual(['analytics-1', 'nutrition-1', 'workout-1']);
    const task = (await (await fetch(`${server.url}/tasks/meal-plan-42`)).json()) as {
      status: string;
      history: unknown[];
    };
    expect(task.status).toBe('completed');
    expect(task.history).toHaveLength(1);
  } finally {
    server.child.kill('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  }
});
