/**
 * Cold start: each deployable bundle's size and its module init time in a fresh Node process
 * (the time `require` takes, measured inside the child), plus the whole process's wall time,
 * each the median of several runs, against bare `node -e ''`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { median } from './table';

export interface ColdStart {
  name: string;
  file?: string;
  bytes?: number;
  /** Median time of `require(bundle)` in a fresh process, ms. */
  initMs?: number;
  /** Median wall time of the whole process (spawn, init, exit), ms. */
  wallMs: number;
  error?: string;
}

/** A harmless environment: enough for composition roots that read config at import. */
const CHILD_ENV: Record<string, string> = {
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '/tmp',
  NODE_ENV: 'production',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  TABLE_NAME: 'bench-table',
  EVENT_BUS_NAME: 'bench-bus',
  STORE: 'memory',
  LOG_LEVEL: 'error',
};

const CHILD = `const t=process.hrtime.bigint();try{require(process.argv[1]);}catch(e){process.stdout.write(JSON.stringify({error:String(e&&e.message||e).split('\\n')[0]}));process.exit(0);}process.stdout.write(JSON.stringify({ms:Number(process.hrtime.bigint()-t)/1e6}));process.exit(0);`;

function runOnce(args: string[]): { wall: number; out: string } {
  const started = performance.now();
  const r = spawnSync(process.execPath, args, { env: CHILD_ENV, encoding: 'utf8', timeout: 30_000 });
  return { wall: performance.now() - started, out: r.stdout ?? '' };
}

export function bareNode(runs: number): ColdStart {
  const walls: number[] = [];
  for (let i = 0; i < runs; i++) walls.push(runOnce(['-e', '']).wall);
  return { name: "node -e ''", wallMs: median(walls) };
}

export function measureBundle(name: string, file: string, runs: number): ColdStart {
  const walls: number[] = [];
  const inits: number[] = [];
  for (let i = 0; i < runs; i++) {
    const { wall, out } = runOnce(['-e', CHILD, file]);
    let parsed: { ms?: number; error?: string } = {};
    try {
      parsed = JSON.parse(out) as typeof parsed;
    } catch {
      parsed = { error: `no output (${out.slice(0, 80)})` };
    }
    if (parsed.error) return { name, file, bytes: statSync(file).size, wallMs: wall, error: parsed.error };
    walls.push(wall);
    inits.push(parsed.ms ?? NaN);
  }
  return { name, file, bytes: statSync(file).size, initMs: median(inits), wallMs: median(walls) };
}

/** Every `index.js` under dist/ (one per function bundle). */
export function findBundles(distDir: string): Array<{ name: string; file: string }> {
  const found: Array<{ name: string; file: string }> = [];
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name === 'index.js')
        found.push({ name: path.relative(distDir, path.dirname(full)), file: full });
    }
  };
  walk(distDir);
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

/** Runs `node scripts/build.mjs`; returns an error message when the build failed. */
export function buildBundles(root: string): string | undefined {
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'build.mjs')], {
    cwd: root,
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (r.status === 0) return undefined;
  return (r.stderr || r.stdout || `exit ${r.status}`).trim().split('\n').slice(0, 3).join(' / ');
}
