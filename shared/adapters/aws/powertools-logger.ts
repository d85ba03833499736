/**
 * The core's `Logger` port over Powertools for AWS Lambda's Logger: one JSON line per entry
 * with the service, the Lambda request id, function name and cold-start flag (`addContext`),
 * and a correlation id per invocation. Fields are redacted the way the core's own logger does
 * (`SENSITIVE_FIELDS` and secret-like keys, at any depth) before Powertools sees them.
 */
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { redact } from '../../core/logger';
import type { Logger, LogLevel } from '../../core/ports';

export interface PowertoolsLoggerOptions {
  serviceName?: string;
  level?: LogLevel | 'silent';
  sensitiveFields?: readonly string[];
  /** Keys on every line (e.g. `runtime: 'aws'`). */
  base?: Record<string, unknown>;
  /** An existing Powertools logger (tests), instead of a new one. */
  logger?: PowertoolsLogger;
}

/**
 * Children share their parent's Powertools logger (and add their fields to each entry), so the
 * context set per invocation reaches loggers the core made at construction time too.
 */
export class PowertoolsLoggerAdapter implements Logger {
  readonly powertools: PowertoolsLogger;
  private readonly sensitive: ReadonlySet<string>;
  private readonly fields: Record<string, unknown>;

  constructor(
    options: PowertoolsLoggerOptions = {},
    inherited?: { sensitive: ReadonlySet<string>; fields: Record<string, unknown> },
  ) {
    this.sensitive =
      inherited?.sensitive ?? new Set((options.sensitiveFields ?? []).map((f) => f.toLowerCase()));
    this.fields = inherited?.fields ?? {};
    this.powertools =
      options.logger ??
      new PowertoolsLogger({
        serviceName: options.serviceName ?? 'agent-coordinator',
        logLevel: (options.level ?? 'info').toUpperCase() as 'INFO',
        ...(options.base ? { persistentKeys: this.clean(options.base) } : {}),
      });
  }

  /** Per invocation: the Lambda context (request id, cold start) and the correlation id. */
  startInvocation(context: Context | undefined, correlationId: string | undefined): void {
    if (context) this.powertools.addContext(context);
    this.powertools.setCorrelationId(correlationId ?? context?.awsRequestId);
  }

  debug(message: string, fields?: Record<string, unknown>): void {
    this.powertools.debug(message, this.clean(fields));
  }
  info(message: string, fields?: Record<string, unknown>): void {
    this.powertools.info(message, this.clean(fields));
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.powertools.warn(message, this.clean(fields));
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.powertools.error(message, this.clean(fields));
  }

  child(fields: Record<string, unknown>): Logger {
    return new PowertoolsLoggerAdapter(
      { logger: this.powertools },
      { sensitive: this.sensitive, fields: { ...this.fields, ...fields } },
    );
  }

  private clean(fields: Record<string, unknown> | undefined): Record<string, unknown> {
    const all = fields ? { ...this.fields, ...fields } : this.fields;
    return redact(all, this.sensitive) as Record<string, unknown>;
  }
}
