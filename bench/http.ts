/**
 * `npm run bench:http`: `npm start` over HTTP, as a client sees it. The coordinator runs in its
 * own process (the embedded LevelDB store, the dashboard's live feed, a journal of what it
 * published), exactly what `npm start` runs; this process is the load: N concurrent keep-alive
 * clients each sending a coordination request and completing the task it was assigned.
 * Prints requests per second, latency percentiles and every non-2xx answer, for 1, 16 and 64
 * clients. The rate limit is off for the run (RATE_LIMIT_PER_MINUTE=0): one client address
 * would otherwise be held to 6,000 requests a minute, which is the point of the limit.
 * Then the same clients load a bare Node HTTP server that parses each body and answers at once
 * (no store, no core): the machine's own limit for this load in the same run, so the table's
 * figures read as a ratio of it, whatever else the machine is doing that minute. Each run also
 * reads the server process's CPU time (user + system, from /proc on Linux) and prints it per
 * coordination request with its completion: what the server spends on one, whatever the load
 * generator beside it takes of the machine.
 *   --quick   fewer requests
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { machine } from './index';
import { fmt, percentile, print, section, table } from './lib/table';

const QUICK = process.argv.includes('--quick');
const root = path.resolve(__dirname, '..');

interface Server {
  url: URL;
  child: ChildProcess;
}

/**
 * The baseline: Node's HTTP server, each body read and parsed, a request answered as assigned to
 * one agent and a completion as completed, nothing stored.
 */
const BARE_SERVER = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const answer = body.type === 'coordination_request'
      ? { task_id: body.task_id, status: 'assigned', assigned_agents: ['agent-0'] }
      : { task_id: body.task_id, status: 'completed' };
    const data = JSON.stringify(answer);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
    res.end(data);
  });
});
server.listen(0, '127.0.0.1', () => console.log('listening on http://127.0.0.1:' + server.address().port));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

async function startServer(dataDir: string, bare = false): Promise<Server> {
  // --profile: the server writes a CPU profile (node --cpu-prof) into .bench-profiles/ when it stops.
  const profile =
    process.argv.includes('--profile') && !bare
      ? ['--cpu-prof', `--cpu-prof-dir=${path.join(root, '.bench-profiles')}`]
      : [];
  const script = bare ? ['-e', BARE_SERVER] : [path.join(root, 'scripts/start.js')];
  const child = spawn(process.execPath, [...profile, ...script], {
    cwd: root,
    env: {
      ...process.env,
      PORT: '0',
      DATA_DIR: dataDir,
      RATE_LIMIT_PER_MINUTE: '0',
      LOG_LEVEL: 'warn',
      SWEEP_INTERVAL: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const url = await new Promise<URL>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(new URL(m[1]!));
    });
    child.stderr!.on('data', (chunk: Buffer) => process.stderr.write(chunk));
    child.on('exit', (code) => reject(new Error(`npm start exited with ${code} before listening`)));
  });
  return { url, child };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

function post(url: URL, body: object): Promise<{ status: number; body: string }> {
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: '/events',
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

/** The CPU seconds (user + system, every thread) a process has used, from /proc; undefined elsewhere. */
function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined || process.platform !== 'linux') return undefined;
  try {
    // Fields after the command name (which is in parentheses and may hold spaces): utime is the 14th field, stime the 15th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticksPerSecond = 100; // USER_HZ, 100 on Linux
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return undefined;
  }
}

interface Run {
  clients: number;
  requests: number;
  perSecond: number;
  httpPerSecond: number;
  p50: number;
  p99: number;
  max: number;
  errors: Map<number, number>;
  /** Server CPU time per coordination request (with its completion), in microseconds. */
  serverCpuUs?: number;
}

async function load(
  url: URL,
  clients: number,
  requests: number,
  label: string,
  serverPid?: number,
): Promise<Run> {
  const latencies: number[] = [];
  const errors = new Map<number, number>();
  let next = 0;
  let calls = 0;
  const note = (status: number) => {
    calls += 1;
    if (status < 200 || status >= 300) errors.set(status, (errors.get(status) ?? 0) + 1);
  };
  const client = async () => {
    while (next < requests) {
      const i = next++;
      const taskId = `${label}-${i}`;
      const started = performance.now();
      const res = await post(url, {
        type: 'coordination_request',
        task_id: taskId,
        task_type: `cap${i % 4}`,
        agent_id: 'bench',
      });
      latencies.push(performance.now() - started);
      note(res.status);
      if (res.status !== 200) continue;
      const result = JSON.parse(res.body) as { status?: string; assigned_agents?: string[] };
      for (const agentId of result.status === 'assigned' ? (result.assigned_agents ?? []) : []) {
        note((await post(url, { type: 'task_completion', task_id: taskId, agent_id: agentId })).status);
      }
    }
  };
  const cpuBefore = cpuSeconds(serverPid);
  const started = performance.now();
  await Promise.all(Array.from({ length: clients }, client));
  const seconds = (performance.now() - started) / 1000;
  const cpuAfter = cpuSeconds(serverPid);
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    clients,
    requests,
    perSecond: requests / seconds,
    httpPerSecond: calls / seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? 0,
    errors,
    ...(cpuBefore !== undefined && cpuAfter !== undefined
      ? { serverCpuUs: ((cpuAfter - cpuBefore) * 1e6) / requests }
      : {}),
  };
}

const row = (r: Run, limit?: Run): string[] => [
  String(r.clients),
  String(r.requests),
  fmt(r.perSecond, 0),
  limit ? `${fmt(r.perSecond / limit.perSecond, 2)}x` : '-',
  fmt(r.httpPerSecond, 0),
  fmt(r.p50, 2),
  fmt(r.p99, 2),
  fmt(r.max, 1),
  r.serverCpuUs === undefined ? '-' : fmt(r.serverCpuUs, 0),
  r.errors.size === 0 ? '0' : [...r.errors].map(([status, count]) => `${count} x ${status}`).join(', '),
];

async function stop(server: Server): Promise<void> {
  server.child.kill('SIGTERM');
  await new Promise((r) => server.child.once('exit', r));
}

/** The bare server under the same clients and requests: the machine's limit for this load. */
async function baseline(n: number): Promise<Map<number, Run>> {
  const server = await startServer('', true);
  try {
    await load(server.url, 64, Math.min(500, n), 'warmup');
    const runs = new Map<number, Run>();
    for (const clients of [1, 16, 64])
      runs.set(
        clients,
        await load(server.url, clients, clients === 1 ? n / 4 : n, `b${clients}`, server.child.pid),
      );
    return runs;
  } finally {
    await stop(server);
  }
}

export async function main(): Promise<void> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'ac-bench-http-'));
  const server = await startServer(dataDir);
  try {
    for (let a = 0; a < 20; a++) {
      await post(server.url, {
        type: 'agent_state_change',
        agent_id: `agent-${a}`,
        new_state: 'available',
        capabilities: [`cap${a % 4}`],
        max_concurrent_tasks: 50,
      });
    }
    section('npm start over HTTP (LevelDB store, dashboard feed on, journal on; keep-alive clients)');
    print(machine());
    const n = QUICK ? 500 : 4000;
    // As many clients as the largest run: every run's keep-alive sockets are open before it starts.
    await load(server.url, 64, Math.min(500, n), 'warmup');
    const runs: Run[] = [];
    for (const clients of [1, 16, 64])
      runs.push(await load(server.url, clients, clients === 1 ? n / 4 : n, `c${clients}`, server.child.pid));
    await stop(server);
    const limits = await baseline(n);
    const rows = [
      ...runs.map((r) => row(r, limits.get(r.clients))),
      ...[...limits.values()].map((r) => ['bare ' + String(r.clients), ...row(r).slice(1)]),
    ];
    print(
      table(
        [
          'clients',
          'coordination requests',
          'requests/s (each completed)',
          'of the bare server',
          'HTTP calls/s',
          'p50 ms',
          'p99 ms',
          'max ms',
          'server CPU µs / request',
          'non-2xx',
        ],
        rows,
      ),
    );
    print(
      '\n"bare N": the same clients against a bare Node HTTP server (each body parsed, answered at once, ' +
        'nothing stored), run right after: the machine\'s own limit for this load. "of the bare server" is ' +
        'the coordinator over it, at the same number of clients. "server CPU": the server process\'s CPU time ' +
        '(user + system, all its threads) per coordination request and its completion (two HTTP calls); at ' +
        '3,000 requests a second one core gives each 333 µs.',
    );
  } finally {
    if (server.child.exitCode === null && server.child.signalCode === null) await stop(server);
    agent.destroy();
    await rm(dataDir, { recursive: true, force: true });
  }
}
