/**
 * The package as a user gets it: `npm pack` (which runs `prepack`, the builds), the tarball
 * installed into an empty folder (from npm's cache first; the registry only for what the cache
 * lacks), then `npx agent-coordinator --help`, `npx agent-coordinator start` answering /health,
 * `require('agent-coordinator')` with the core's exports and no cloud SDK loaded, and the type
 * declarations compiling a consumer. Everything lives in a temporary folder removed at the end.
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const NPX = process.platform === 'win32' ? 'npx.cmd' : 'npx';

jest.setTimeout(480_000);

/** npm with no update check, no audit, no funding calls: only the install itself may reach the registry. */
function npmEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('npm_')) delete env[k];
  for (const k of ['PORT', 'AUTH_TOKEN', 'DATA_DIR', 'STORE', 'AGENTS_FILE', 'OTEL_EXPORTER_OTLP_ENDPOINT'])
    delete env[k];
  return {
    ...env,
    npm_config_update_notifier: 'false',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_loglevel: 'error',
    NO_COLOR: '1',
    ...extra,
  };
}

function npm(args: string[], cwd: string, timeout: number, extra: Record<string, string> = {}) {
  return spawnSync(NPM, args, { cwd, env: npmEnv(extra), encoding: 'utf8', timeout });
}

const failure = (r: SpawnSyncReturns<string>) =>
  `exit ${r.status}${r.signal ? ` (${r.signal})` : ''}\n${r.stdout}\n${r.stderr}`.slice(-4000);

describe('the packed package', () => {
  let tmp: string;
  let project: string;
  let tarball: string;
  let files: string[];

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), 'ac-package-'));
    const packed = npm(['pack', '--json', '--pack-destination', tmp], ROOT, 240_000);
    if (packed.status !== 0) throw new Error(`npm pack failed: ${failure(packed)}`);
    const info = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{
      filename: string;
      files: Array<{ path: string }>;
    }>;
    tarball = path.join(tmp, path.basename(info[0]!.filename));
    files = info[0]!.files.map((f) => f.path);

    project = path.join(tmp, 'project');
    await rm(project, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(project));
    await writeFile(
      path.join(project, 'package.json'),
      JSON.stringify({ name: 'uses-agent-coordinator', version: '1.0.0', private: true }),
    );
    // Offline first (everything from npm's cache); if the cache lacks a package's metadata,
    // once more preferring the cache and asking the registry only for what is missing.
    let install = npm(['install', '--offline', tarball], project, 240_000);
    if (install.status !== 0 && /ENOTCACHED/.test(install.stderr))
      install = npm(['install', '--prefer-offline', tarball], project, 300_000);
    if (install.status !== 0) throw new Error(`npm install of the tarball failed: ${failure(install)}`);
  });

  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('ships the builds and the declarations, not the tests or the sources', () => {
    for (const f of [
      'bin/agent-coordinator.js',
      'dist/cli/index.js',
      'dist/local/index.js',
      'dist/lib/shared/lib/index.js',
      'dist/lib/shared/lib/aws.js',
      'dist/types/shared/lib/index.d.ts',
      'dist/types/shared/core/ports.d.ts',
      'shared/runtime/dashboard/index.html',
      'package.json',
      'README.md',
    ])
      expect(files).toContain(f);
    expect(files.filter((f) => /(^|\/)test\/|\.test\.|\.map$/.test(f))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files.filter((f) => /^dist\/(aws|azure|gcp)\//.test(f))).toEqual([]);
  });

  it('npx agent-coordinator --help works in the folder it was installed into', () => {
    const r = spawnSync(NPX, ['agent-coordinator', '--help'], {
      cwd: project,
      env: npmEnv({ npm_config_offline: 'true' }),
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: agent-coordinator <command>');
    const typo = spawnSync(NPX, ['agent-coordinator', 'strat'], {
      cwd: project,
      env: npmEnv({ npm_config_offline: 'true' }),
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(typo.status).toBe(2);
    expect(typo.stderr).toContain('did you mean "start"?');
  });

  it('npx agent-coordinator start serves /health with the embedded store, and stops on SIGTERM', async () => {
    const dataDir = path.join(tmp, 'data');
    const child = spawn(NPX, ['agent-coordinator', 'start', '--port', '0'], {
      cwd: project,
      env: npmEnv({ npm_config_offline: 'true', DATA_DIR: dataDir, HOST: '127.0.0.1', LOG_LEVEL: 'warn' }),
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      const until = Date.now() + 60_000;
      let url: string | undefined;
      while (!url) {
        url = /listening on (http:\/\/\S+)/.exec(stdout)?.[1];
        if (child.exitCode !== null) throw new Error(`start exited ${child.exitCode}: ${stderr}`);
        if (Date.now() > until) throw new Error(`start did not listen: ${stdout}\n${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const health = await fetch(`${url}/health`);
      expect(health.status).toBe(200);
      expect(stdout).toContain(`store: level (${dataDir})`);
      expect(existsSync(path.join(dataDir, 'state'))).toBe(true);
    } finally {
      // npx runs node as its child: signal the whole group this test started.
      if (child.pid && child.exitCode === null) process.kill(-child.pid, 'SIGTERM');
    }
    await exited;
    expect(stderr).not.toMatch(/Error|at \S+ \(/);
  });

  it("require('agent-coordinator') gives the core and the local runtime, and loads no cloud SDK", () => {
    const script = `
      const m = require('agent-coordinator');
      const loaded = Object.keys(require.cache).filter((k) => /node_modules[\\\\/](@aws-sdk|@azure|@google-cloud|@opentelemetry)[\\\\/]/.test(k));
      const aws = require('agent-coordinator/aws');
      console.log(JSON.stringify({
        exports: Object.keys(m),
        kinds: { Coordinator: typeof m.Coordinator, normalize: typeof m.normalize, createLocalRuntime: typeof m.createLocalRuntime, METRICS: typeof m.METRICS },
        cloud: loaded.length,
        aws: typeof aws.createAwsRuntime,
        awsLoadsSdk: Object.keys(require.cache).some((k) => k.includes('@aws-sdk')),
        otel: typeof require('agent-coordinator/otel').createOtelTelemetry,
      }));`;
    const r = spawnSync(process.execPath, ['-e', script], {
      cwd: project,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as {
      exports: string[];
      kinds: Record<string, string>;
      cloud: number;
      aws: string;
      awsLoadsSdk: boolean;
      otel: string;
    };
    expect(out.kinds).toEqual({
      Coordinator: 'function',
      normalize: 'function',
      createLocalRuntime: 'function',
      METRICS: 'object',
    });
    for (const name of ['ConfigError', 'RulesRouter', 'LlmRouter', 'loadConfig', 'noopTelemetry', 'LocalBus'])
      expect(out.exports).toContain(name);
    expect(out.cloud).toBe(0);
    expect(out.aws).toBe('function');
    expect(out.awsLoadsSdk).toBe(true);
    expect(out.otel).toBe('function');
  });

  it('its type declarations compile a TypeScript consumer', async () => {
    await writeFile(
      path.join(project, 'consumer.ts'),
      [
        "import { createLocalRuntime, METRICS, type StateStore, type Telemetry } from 'agent-coordinator';",
        "import { createAwsRuntime } from 'agent-coordinator/aws';",
        'export async function embed(store: StateStore, telemetry: Telemetry): Promise<string> {',
        "  const runtime = await createLocalRuntime({ STORE: 'memory' }, { store });",
        '  telemetry.metric(METRICS.decisions, 1, "Count");',
        '  void createAwsRuntime;',
        '  return runtime.router.name;',
        '}',
        '',
      ].join('\n'),
    );
    await writeFile(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
          typeRoots: [path.join(ROOT, 'node_modules', '@types')],
        },
        files: ['consumer.ts'],
      }),
    );
    const tsc = spawnSync(
      process.execPath,
      [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project],
      {
        cwd: project,
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);
  });
});
