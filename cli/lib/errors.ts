/** Exit codes scripts can rely on, and the error that carries one. */
export const EXIT = {
  /** Everything worked. */
  ok: 0,
  /** The server answered but refused or failed at least one event (details on stderr). */
  failed: 1,
  /** Bad command line: unknown command or option, missing or unreadable file, bad value. */
  usage: 2,
  /** The server could not be reached (refused, timed out, name not found) or the stream broke. */
  unreachable: 3,
  /** The server refused the credentials (401): set --token or AUTH_TOKEN. */
  unauthorized: 4,
  /** Interrupted (Ctrl-C) before the work was done. */
  interrupted: 130,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    readonly exitCode: ExitCode,
    message: string,
  ) {
    super(message);
  }
}

export const usageError = (message: string) => new CliError(EXIT.usage, message);
