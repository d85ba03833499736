/**
 * The first minutes of a new user: a mistyped command, a busy port, a data directory another
 * coordinator holds, a broken agents file. Each ends in one line that says what to do, never a
 * stack trace or raw zod issues.
 */
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { run } from '../../cli/index';
import { didYouMean, editDistance } from '../../cli/lib/suggest';
import { ConfigError } from '../../shared/core/errors';
import { createLocalRuntime, openLevelStore } from '../../shared/runtime/local';
import { startLocalApp } from '../../shared/runtime/local-main';

const ROOT = path.resolve(__dirname, '../..');
const BIN = path.join(ROOT, 'bin', 'agent-coordinator.js');

async function cliInProcess(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    stdin: process.stdin,
    env: {},
    signal: new AbortController().signal,
  });
  return { code, stdout, stderr };
}

function cli(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const clean = { ...process.env };
    for (const k of ['PORT', 'AUTH_TOKEN', 'DATA_DIR', 'AGENTS_FILE', 'STORE']) delete clean[k];
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...clean, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    setTimeout(() => child.kill('SIGTERM'), 30_000).unref();
  });
}

const BASE_ENV = { LOG_LEVEL: 'silent', HOST: '127.0.0.1', SWEEP_INTERVAL: '0' };

describe('did you mean', () => {
  it('measures a swap of two neighbours as one edit', () => {
    expect(editDistance('strat', 'start')).toBe(1);
    expect(editDistance('tial', 'tail')).toBe(1);
    expect(editDistance('agent', 'agents')).toBe(1);
    expect(didYouMean('strat', ['start', 'send', 'tasks'])).toBe('start');
    expect(didYouMean('frobnicate', ['start', 'send', 'tasks'])).toBeUndefined();
  });

  it('suggests the command for a typo and exits 2', async () => {
    const r = await cliInProcess(['strat']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command "strat": did you mean "start"?');
    const far = await cliInProcess(['frobnicate']);
    expect(far.code).toBe(2);
    expect(far.stderr).toContain('unknown command "frobnicate" (commands: start, send');
  });
});

describe('start-up errors', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), 'ac-friction-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  describe('a busy port', () => {
    let holder: http.Server;
    let port: number;
    beforeAll(async () => {
      holder = http.createServer();
      await new Promise<void>((r) => holder.listen(0, '127.0.0.1', () => r()));
      port = (holder.address() as AddressInfo).port;
    });
    afterAll(async () => {
      await new Promise<void>((r) => holder.close(() => r()));
    });

    it('fails to start with one line naming the port', async () => {
      await expect(startLocalApp({ ...BASE_ENV, STORE: 'memory', PORT: String(port) })).rejects.toThrow(
        `port ${port} is in use: set PORT or stop the other process`,
      );
    });

    it('the CLI prints that line, no stack trace, and exits 1', async () => {
      const r = await cli(['start', '--store', 'memory', '--port', String(port)], BASE_ENV);
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toBe(`error: port ${port} is in use: set PORT or stop the other process`);
    });
  });

  it('a data directory another coordinator holds: one line naming DATA_DIR', async () => {
    const dataDir = path.join(tmp, 'held');
    const holder = await openLevelStore({ DATA_DIR: dataDir });
    try {
      // Another process first: a second open inside this one would drop the POSIX lock
      // (closing any descriptor of a file releases the process's locks on it).
      const r = await cli(['start', '--port', '0', '--data-dir', dataDir], BASE_ENV);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toEqual([
        `error: failed to start: DATA_DIR ${dataDir} is in use by another coordinator: stop it, or set DATA_DIR to another folder`,
      ]);
      await expect(openLevelStore({ DATA_DIR: dataDir })).rejects.toThrow(
        `DATA_DIR ${dataDir} is in use by another coordinator: stop it, or set DATA_DIR to another folder`,
      );
    } finally {
      await holder.close();
    }
  });

  describe('a bad AGENTS_FILE', () => {
    const runtimeWith = (file: string) =>
      createLocalRuntime({ ...BASE_ENV, STORE: 'memory', AGENTS_FILE: file });

    it('names the file, the agent and the field', async () => {
      const file = path.join(tmp, 'agents.json');
      await writeFile(
        file,
        JSON.stringify({
          agents: [
            { agent_id: 'nutrition-1', capabilities: ['nutrition_analysis'] },
            { agent_id: 'workout-1', capabilities: 'workout_planning' },
          ],
        }),
      );
      const err = (await runtimeWith(file).catch((e: unknown) => e)) as Error;
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.message).toMatch(
        new RegExp(
          `^AGENTS_FILE ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: agent #1 \\("workout-1"\\), field "capabilities": .*expected array`,
        ),
      );
      expect(err.message).not.toContain('\n');
      expect(err.message).not.toContain('"code"');
    });

    it('says when the status is not one of the states, or the file is not JSON or missing', async () => {
      const bad = path.join(tmp, 'status.json');
      await writeFile(
        bad,
        JSON.stringify({ agents: [{ agent_id: 'a', capabilities: [], status: 'asleep' }] }),
      );
      await expect(runtimeWith(bad)).rejects.toThrow(/agent #0 \("a"\), field "status": /);
      const notJson = path.join(tmp, 'broken.json');
      await writeFile(notJson, '{"agents": [');
      await expect(runtimeWith(notJson)).rejects.toThrow(`AGENTS_FILE ${notJson}: not valid JSON`);
      await expect(runtimeWith(path.join(tmp, 'nope.json'))).rejects.toThrow(
        /nope\.json: cannot read it: no such file$/,
      );
      const wrongShape = path.join(tmp, 'list.json');
      await writeFile(wrongShape, '[]');
      await expect(runtimeWith(wrongShape)).rejects.toThrow(
        /list\.json: .*expected \{"agents": \[\.\.\.\]\}/,
      );
    });
  });
});

describe('installing', () => {
  it('every dependency with an install script is reviewed in allowScripts', () => {
    const r = spawnSync('npm', ['install-scripts', 'ls'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(0);
    expect(r.stdout + r.stderr).toContain('No packages with unreviewed install scripts');
    const { allowScripts } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      allowScripts: Record<string, boolean>;
    };
    // Allowed: the ones that fetch or check a native binary. Denied: the ones that only print.
    expect(allowScripts).toMatchObject({ esbuild: true, '@swc/core': true, 'classic-level': true });
    expect(allowScripts).toMatchObject({ 'aws-sdk': false, 'es5-ext': false, serverless: false });
  });
});

describe('the docs agree with each other', () => {
  const read = (f: string) => readFileSync(path.join(ROOT, f), 'utf8');

  it("the README's throughput is docs/performance.md's measured figure", () => {
    const measured = /\| memory store, rules router \| ([\d,]+) \|/.exec(read('docs/performance.md'))?.[1];
    expect(measured).toBeDefined();
    const stated = /\| throughput, in-memory store[^|]*\| about ([\d,]+) \|/.exec(read('README.md'))?.[1];
    expect(stated).toBeDefined();
    const n = (s: string) => Number(s.replace(/,/g, ''));
    // "about" rounds to tens.
    expect(Math.abs(n(stated!) - n(measured!))).toBeLessThan(10);
  });

  it('instructions is optional in task_message, as the coordinator sends it', () => {
    expect(read('README.md')).toContain('deadline_at, instructions?, decision');
    expect(read('docs/contract.md')).toMatch(/`instructions` is optional/);
  });

  it('there is a changelog with an Unreleased section and 0.1.0', () => {
    const changelog = read('CHANGELOG.md');
    expect(changelog).toContain('## [Unreleased]');
    expect(changelog).toMatch(/## \[0\.1\.0\] - \d{4}-\d{2}-\d{2}/);
  });
});
