/**
 * Structured JSON logs, one line per entry. Values under configured sensitive keys (and any
 * key that looks like a secret) are redacted at any depth, so task data never leaks a password
 * or token into logs.
 */
import type { Logger, LogLevel } from './ports';

const LEVELS: Record<LogLevel | 'silent', number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface JsonLoggerOptions {
  level?: LogLevel | 'silent';
  sensitiveFields?: readonly string[];
  /** Where lines go; defaults to stdout (stderr for warn and error). */
  write?: (line: string, level: LogLevel) => void;
  base?: Record<string, unknown>;
}

export const REDACTED = '[redacted]';

export function createJsonLogger(options: JsonLoggerOptions = {}): Logger {
  const threshold = LEVELS[options.level ?? 'info'];
  const sensitive = new Set((options.sensitiveFields ?? []).map((f) => f.toLowerCase()));
  const write =
    options.write ??
    ((line: string, level: LogLevel) =>
      (level === 'warn' || level === 'error' ? process.stderr : process.stdout).write(`${line}\n`));
  const make = (base: Record<string, unknown>): Logger => {
    const log = (level: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
      if (LEVELS[level] < threshold) return;
      const entry = { level, time: new Date().toISOString(), message, ...base, ...fields };
      write(JSON.stringify(redact(entry, sensitive)), level);
    };
    return {
      debug: log('debug'),
      info: log('info'),
      warn: log('warn'),
      error: log('error'),
      child: (fields) => make({ ...base, ...fields }),
    };
  };
  return make(options.base ?? {});
}

/** Keys that name a secret (`password`, `client_secret`, `access_token`), not `input_tokens`. */
const SECRET_LIKE = /^(.*[_-])?(passw(or)?d|secret|token|api[-_]?key|authorization|credentials?|cookie)$/i;

export function redact(value: unknown, sensitive: ReadonlySet<string>, depth = 0): unknown {
  if (depth > 20) return '[too deep]';
  if (Array.isArray(value)) return value.map((v) => redact(v, sensitive, depth + 1));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] =
        sensitive.has(k.toLowerCase()) || SECRET_LIKE.test(k) ? REDACTED : redact(v, sensitive, depth + 1);
    }
    return out;
  }
  return value;
}

export const nullLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => nullLogger,
};
