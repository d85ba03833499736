/** Command-line parsing on Node's own `util.parseArgs`, with errors that say what to do. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { usageError } from './errors';

export type Options = NonNullable<ParseArgsConfig['options']>;

/** Options every command that talks to a server takes. */
export const CONNECTION_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  timeout: { type: 'string' },
} as const satisfies Options;

export const CONNECTION_HELP = `Connection:
  --url URL        coordinator address (default: $AGENT_COORDINATOR_URL, else http://127.0.0.1:$PORT or :8787)
  --token TOKEN    bearer token (default: $AGENT_COORDINATOR_TOKEN, else $AUTH_TOKEN); prefer the
                   environment, a token on the command line shows in the process list
  --timeout SECS   per-request timeout (default 30)`;

export function parse<O extends Options>(
  command: string,
  argv: string[],
  options: O,
  allowPositionals = false,
) {
  try {
    return parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals,
      strict: true,
    });
  } catch (err) {
    const message = (err as Error).message.replace(
      /\. To specify a positional argument starting with a '-'.*$/s,
      '',
    );
    throw usageError(`${message}\nRun "agent-coordinator ${command} --help" for usage.`);
  }
}

export function intOption(
  value: string | undefined,
  name: string,
  fallback: number,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw usageError(`--${name} must be a whole number from ${min} to ${max}, got "${value}"`);
  return n;
}

export function numberOption(value: string | undefined, name: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min)
    throw usageError(`--${name} must be a number of at least ${min}, got "${value}"`);
  return n;
}

export function oneOf<T extends string>(
  value: string | undefined,
  name: string,
  allowed: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value))
    throw usageError(`--${name} must be one of ${allowed.join(', ')}, got "${value}"`);
  return value as T;
}

export function jsonOption(value: string | undefined, name: string): unknown {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value);
  } catch (err) {
    throw usageError(`--${name} must be JSON: ${(err as Error).message}`);
  }
}
