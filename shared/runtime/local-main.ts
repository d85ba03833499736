/** `npm start`: the coordinator on this machine, with the embedded defaults. */
import { errorMessage } from '../core/errors';
import { createLocalRuntime } from './local';
import { startLocalServer } from './local-server';

export async function main(env: Record<string, string | undefined> = process.env): Promise<void> {
  const runtime = await createLocalRuntime(env);
  const running = await startLocalServer(runtime);
  const { config } = runtime;
  process.stdout.write(
    `agent-coordinator listening on ${running.url}\n` +
      `  store: ${runtime.store.name}${config.STORE === 'level' ? ` (${config.DATA_DIR})` : ''}, router: ${runtime.router.name}, auth: ${config.AUTH_TOKEN ? 'on' : 'off'}\n` +
      `  try: curl ${running.url}/health\n`,
  );
  const stop = async (signal: string) => {
    process.stdout.write(`\n${signal}: shutting down\n`);
    await running.close();
    await runtime.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`agent-coordinator failed to start: ${errorMessage(err)}\n`);
    process.exit(1);
  });
}
