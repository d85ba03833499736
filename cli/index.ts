/**
 * `agent-coordinator`: the command line for the local runtime and any coordinator's HTTP API.
 * One file per command in commands/; Node built-ins only (util.parseArgs, fetch).
 */
import { agents } from './commands/agents';
import { replay } from './commands/replay';
import { send } from './commands/send';
import { start } from './commands/start';
import { tail } from './commands/tail';
import { tasks } from './commands/tasks';
import { CliError, EXIT } from './lib/errors';
import type { Command, Io } from './lib/io';
import { didYouMean } from './lib/suggest';

export const COMMANDS: Command[] = [start, send, agents, tasks, tail, replay];

const VERSION = '0.1.0';

export const HELP = `agent-coordinator: run and operate an agent coordinator

Usage: agent-coordinator <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(8)} ${c.summary}`).join('\n')}

Run "agent-coordinator <command> --help" for a command's options.

Every command but start talks to a coordinator's HTTP API: --url (default
$AGENT_COORDINATOR_URL, else http://127.0.0.1:8787) and --token (default $AUTH_TOKEN).

Exit codes:
  0    success
  1    the server refused or failed at least one event / the thing asked for was not found
  2    usage error (unknown command or option, bad value, unreadable file)
  3    the server could not be reached, or the stream broke
  4    the server refused the token (401)
  130  interrupted (Ctrl-C)

Options:
  -h, --help     show this help
  -v, --version  print the version`;

export async function run(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    const topic = name === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    io.stdout.write(`${topic ? topic.help : HELP}\n`);
    return EXIT.ok;
  }
  if (name === '-v' || name === '--version') {
    io.stdout.write(`${VERSION}\n`);
    return EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    const names = COMMANDS.map((c) => c.name);
    const guess = didYouMean(name, names);
    io.stderr.write(
      `error: unknown command "${name}"${guess ? `: did you mean "${guess}"?` : ` (commands: ${names.join(', ')})`}\n` +
        `Run "agent-coordinator --help" for usage.\n`,
    );
    return EXIT.usage;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof CliError) {
      io.stderr.write(`error: ${err.message}\n`);
      return err.exitCode;
    }
    io.stderr.write(`error: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT.failed;
  }
}

/** The process entry point (bin/agent-coordinator.js). */
export async function main(): Promise<void> {
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    interrupts += 1;
    // A second Ctrl-C leaves at once, whatever is in progress.
    if (interrupts > 1) process.exit(EXIT.interrupted);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const code = await run(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    signal: controller.signal,
  });
  process.exitCode = code;
  // Let stdout drain, then leave even if a keep-alive socket lingers.
  process.stdout.write('', () => process.exit(code));
}
