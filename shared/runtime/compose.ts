/**
 * What every composition root does the same way: parse the configuration, check the router is
 * one this runtime offers, make the clock and the logger, and wire the coordinator (and the
 * HTTP API, for runtimes with an HTTP entry point) from the parts the runtime chose.
 */
import { coreSettings, loadConfig, type Config } from '../core/config';
import { Coordinator } from '../core/coordinator/coordinator';
import { ConfigError } from '../core/errors';
import { createJsonLogger } from '../core/logger';
import {
  systemClock,
  type Clock,
  type EventBus,
  type LlmClient,
  type Logger,
  type Router,
  type StateStore,
  type Telemetry,
} from '../core/ports';
import { createHttpApi, type AssignmentFeed, type HttpApi } from '../http/api';

/** What a caller may hand any runtime instead of letting it build its own. */
export interface CoreOverrides {
  store?: StateStore;
  bus?: EventBus;
  llmClient?: LlmClient;
  router?: Router;
  clock?: Clock;
  logger?: Logger;
  telemetry?: Telemetry;
}

export interface RuntimeBase {
  config: Config;
  clock: Clock;
  logger: Logger;
}

export function runtimeBase(
  env: Record<string, string | undefined>,
  overrides: { clock?: Clock; logger?: Logger },
  runtime: string,
  routers: ReadonlyArray<Config['ROUTER']>,
): RuntimeBase {
  const config = loadConfig(env);
  if (!routers.includes(config.ROUTER)) {
    throw new ConfigError(
      `ROUTER=${config.ROUTER} is not available in the ${runtime} runtime: use ${routers.join(' or ')}`,
    );
  }
  const logger =
    overrides.logger ??
    createJsonLogger({
      level: config.LOG_LEVEL,
      sensitiveFields: config.SENSITIVE_FIELDS,
      base: { runtime },
    });
  return { config, clock: overrides.clock ?? systemClock, logger };
}

export interface CoreParts extends RuntimeBase {
  store: StateStore;
  bus: EventBus;
  router: Router;
  telemetry?: Telemetry;
}

export function coordinatorFor(parts: CoreParts): Coordinator {
  const { store, bus, router, clock, logger, config, telemetry } = parts;
  return new Coordinator({
    store,
    bus,
    router,
    clock,
    logger,
    settings: coreSettings(config),
    ...(telemetry ? { telemetry } : {}),
  });
}

/** The HTTP API over a coordinator, with the runtime's limits and credentials. */
export function httpApiFor(
  parts: RuntimeBase,
  coordinator: Coordinator,
  source: string,
  assignments?: AssignmentFeed,
): HttpApi {
  const { config, clock } = parts;
  return createHttpApi({
    coordinator,
    maxBodyBytes: config.MAX_MESSAGE_BYTES,
    rateLimitPerMinute: config.RATE_LIMIT_PER_MINUTE,
    source,
    clock,
    ...(assignments ? { assignments } : {}),
    ...(config.AUTH_TOKEN ? { authToken: config.AUTH_TOKEN } : {}),
  });
}
