/**
 * `npm start` and `agent-coordinator start`: the coordinator on this machine with the
 * embedded defaults, its HTTP API, and the operator dashboard at `/` fed live over `/stream`.
 */
import { loadConfig } from '../core/config';
import { errorMessage } from '../core/errors';
import type { StateStore } from '../core/ports';
import { MemoryStateStore } from '../adapters/local/memory-store';
import { LiveFeed, type FeedOptions } from './dashboard/feed';
import { dashboardHandlers } from './dashboard/handlers';
import { ObservedStore } from './dashboard/observed-store';
import { createLocalRuntime, openLevelStore, type LocalRuntime, type LocalRuntimeOverrides } from './local';
import { startLocalServer, type RunningServer } from './local-server';

export interface LocalApp {
  runtime: LocalRuntime;
  server: RunningServer;
  feed: LiveFeed;
  url: string;
  close(): Promise<void>;
}

/** Builds the runtime over an observed store, starts the feed and the server. */
export async function startLocalApp(
  env: Record<string, string | undefined> = process.env,
  overrides: LocalRuntimeOverrides = {},
  feedOptions: FeedOptions = {},
): Promise<LocalApp> {
  const config = loadConfig(env);
  const base: StateStore =
    overrides.store ?? (config.STORE === 'memory' ? new MemoryStateStore() : await openLevelStore(config));
  const store = new ObservedStore(base);
  const runtime = await createLocalRuntime(env, { ...overrides, store });
  const feed = new LiveFeed(runtime, store, {
    ...(overrides.clock ? { clock: overrides.clock } : {}),
    ...feedOptions,
  });
  let server: RunningServer;
  try {
    await feed.start();
    server = await startLocalServer(runtime, dashboardHandlers(runtime, feed));
  } catch (err) {
    feed.stop();
    await runtime.close();
    throw startError(err, config.PORT);
  }
  // What the cloud runtimes' schedule does: stale agents go offline, overdue tasks requeue.
  const sweeper =
    config.SWEEP_INTERVAL > 0
      ? setInterval(() => {
          runtime.coordinator.sweep().then(
            (report) => runtime.logger.debug('sweep', report),
            (err: unknown) =>
              runtime.logger.warn('sweep failed; the next one retries', { error: errorMessage(err) }),
          );
        }, config.SWEEP_INTERVAL * 1000).unref()
      : undefined;
  return {
    runtime,
    server,
    feed,
    url: server.url,
    close: async () => {
      clearInterval(sweeper);
      feed.stop();
      await server.close();
      await runtime.close();
    },
  };
}

/** A listen error as one line that says what to do; the code stays for callers that map it. */
function startError(err: unknown, port: number): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== 'EADDRINUSE' && code !== 'EACCES') return err;
  const message =
    code === 'EADDRINUSE'
      ? `port ${port} is in use: set PORT or stop the other process`
      : `port ${port} needs privileges this process does not have: set PORT above 1023`;
  return Object.assign(new Error(message, { cause: err }), { code });
}

export async function main(env: Record<string, string | undefined> = process.env): Promise<LocalApp> {
  const app = await startLocalApp(env);
  const { config, store, router } = app.runtime;
  process.stdout.write(
    `agent-coordinator listening on ${app.url}\n` +
      `  dashboard: ${app.url}/${config.AUTH_TOKEN ? ' (it asks for AUTH_TOKEN)' : ''}\n` +
      `  store: ${store.name}${config.STORE === 'level' ? ` (${config.DATA_DIR})` : ''}, router: ${router.name}, auth: ${config.AUTH_TOKEN ? 'on' : 'off'}\n` +
      `  try: npx agent-coordinator send --type coordination_request --task-type nutrition_analysis --url ${app.url}\n`,
  );
  const stop = async (signal: string) => {
    process.stdout.write(`\n${signal}: shutting down\n`);
    await app.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  return app;
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`agent-coordinator failed to start: ${errorMessage(err)}\n`);
    process.exit(1);
  });
}
