/** `agent-coordinator start`: the local runtime, as `npm start` runs it, with flags for its settings. */
import { ConfigError } from '../../shared/core/errors';
import { parse } from '../lib/args';
import { CliError, EXIT } from '../lib/errors';
import type { Command } from '../lib/io';

const FLAGS = {
  port: 'PORT',
  host: 'HOST',
  store: 'STORE',
  'data-dir': 'DATA_DIR',
  agents: 'AGENTS_FILE',
  router: 'ROUTER',
  'log-level': 'LOG_LEVEL',
} as const;

export const start: Command = {
  name: 'start',
  summary: 'run the coordinator on this machine (API + dashboard)',
  help: `Usage: agent-coordinator start [options]

Runs the local coordinator: the HTTP API, the live dashboard at /, and the feed at /stream.
Flags override the environment variables named in brackets; everything else (AUTH_TOKEN,
RATE_LIMIT_PER_MINUTE, OPENAI_*, ...) is read from the environment as documented in the README.

Options:
  --port N           port to listen on [PORT, default 8787; 0 picks a free one]
  --host HOST        address to listen on [HOST, default 127.0.0.1]; a non-loopback
                     address requires AUTH_TOKEN
  --store KIND       level (embedded, on disk) or memory [STORE, default level]
  --data-dir DIR     where the level store keeps its files [DATA_DIR, default ./.coordinator-data]
  --agents FILE      register the agents in FILE at start-up [AGENTS_FILE], e.g. examples/agents.json
  --router KIND      rules or openai [ROUTER, default rules]
  --log-level LEVEL  debug, info, warn, error or silent [LOG_LEVEL, default info]
  -h, --help         show this help

Stops on Ctrl-C (SIGINT) or SIGTERM. Exit codes: 0 stopped, 2 invalid settings, 1 failed to start.

Example:
  agent-coordinator start --store memory --agents examples/agents.json`,

  async run(argv, io) {
    const { values } = parse(
      'start',
      argv,
      Object.fromEntries(Object.keys(FLAGS).map((k) => [k, { type: 'string' as const }])),
    );
    if (values.help) {
      io.stdout.write(`${start.help}\n`);
      return EXIT.ok;
    }
    const env = { ...io.env };
    for (const [flag, name] of Object.entries(FLAGS)) {
      const value = (values as Record<string, unknown>)[flag];
      if (typeof value === 'string') env[name] = value;
    }
    // Loaded on demand: the other commands do not need the runtime (stores, routers).
    const { main } =
      require('../../shared/runtime/local-main') as typeof import('../../shared/runtime/local-main.js');
    try {
      await main(env);
    } catch (err) {
      if (err instanceof ConfigError) throw new CliError(EXIT.usage, err.message);
      const code = (err as { code?: string }).code;
      // The runtime's own one-line message: "port 8787 is in use: set PORT or stop the other process".
      if (code === 'EADDRINUSE' || code === 'EACCES') throw new CliError(EXIT.failed, (err as Error).message);
      throw new CliError(EXIT.failed, `failed to start: ${(err as Error).message}`);
    }
    // The server keeps the process alive; main() exits it on SIGINT/SIGTERM.
    return new Promise<number>(() => undefined);
  },
};
