/**
 * Starts the emulators of google-cloud-cli (Pub/Sub, Firestore) for a test file and stops their
 * whole process tree after. Without `gcloud` the suites are skipped by name, loudly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const GCLOUD = findGcloud();

// The Google clients probe the GCE metadata server (169.254.169.254) for credentials and the
// project; tests must stay on loopback, so that probe is off for every file using the emulators.
process.env.METADATA_SERVER_DETECTION = 'none';

function findGcloud(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'gcloud');
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** `describe`, or a named, warned skip when gcloud (and so the emulators) is missing. */
export function describeWithEmulators(name: string, fn: () => void): void {
  if (GCLOUD) {
    describe(name, fn);
    return;
  }
  console.warn(
    `SKIPPED "${name}": gcloud (google-cloud-cli) is not on PATH, so its Pub/Sub and Firestore emulators cannot start`,
  );
  describe.skip(`${name} [SKIPPED: gcloud not found]`, fn);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface Emulator {
  /** `127.0.0.1:port`, what `PUBSUB_EMULATOR_HOST` / `FIRESTORE_EMULATOR_HOST` take. */
  host: string;
  port: number;
  stop(): Promise<void>;
}

const ARGS = {
  pubsub: (hostPort: string) => [
    'beta',
    'emulators',
    'pubsub',
    'start',
    `--host-port=${hostPort}`,
    '--project=demo',
  ],
  firestore: (hostPort: string) => ['emulators', 'firestore', 'start', `--host-port=${hostPort}`],
};

/** Starts one emulator and resolves once it answers HTTP (both answer `GET /` with "Ok"). */
export async function startEmulator(kind: keyof typeof ARGS, timeoutMs = 45_000): Promise<Emulator> {
  if (!GCLOUD) throw new Error('gcloud not found');
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  // Own process group: gcloud (python) starts java; stopping must reach the whole tree.
  const child = spawn(GCLOUD, ARGS[kind](host), { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // If the test process ends without afterAll (a crash, a killed worker), java must not linger.
  const onExit = () => groupKill(child, 'SIGKILL');
  process.once('exit', onExit);
  const stop = async () => {
    await killTree(child, exited);
    process.removeListener('exit', onExit);
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`${kind} emulator exited early (${child.exitCode}):\n${output}`);
    if (await answers(`http://${host}/`)) return { host, port, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${kind} emulator not ready after ${timeoutMs} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await res.text();
    return res.ok;
  } catch {
    return false;
  }
}

function groupKill(child: ChildProcess, sig: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, sig);
  } catch {
    // already gone
  }
}

async function killTree(child: ChildProcess, exited: Promise<void>): Promise<void> {
  const signal = (sig: NodeJS.Signals) => groupKill(child, sig);
  if (child.exitCode !== null || child.signalCode !== null) {
    signal('SIGKILL'); // gcloud is gone; its java child may not be
    return;
  }
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
  // java may outlive its parent shell for a moment; make sure the group is gone.
  signal('SIGKILL');
}
