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
import { createA2a, type A2aParts } from '../adapters/a2a/gateway';
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
  return coordinatorWithA2a(parts).coordinator;
}

/**
 * The coordinator with A2A agents wired in: the runtime's bus wrapped by the A2A dispatch
 * adapter (assignments to agents registered from an Agent Card are also sent to them), and the
 * gateway for card registration, polling and push notifications, whose reports go back into
 * this coordinator.
 */
export function coordinatorWithA2a(parts: CoreParts): { coordinator: Coordinator; a2a: A2aParts } {
  const { store, bus, router, clock, logger, config, telemetry } = parts;
  let sequence = 0;
  const a2a = createA2a(config, {
    store,
    clock,
    logger,
    report: async (message) => {
      sequence += 1;
      const outcomes = await coordinator.handle(message, {
        source: 'a2a',
        id: `a2a-${message.type}-${clock.now()}-${sequence}`,
      });
      // A retry is thrown so the A2A state is not recorded as reported (a later poll or
      // notification reports it again); a permanent refusal is the coordinator's final word.
      for (const o of outcomes) if (o.status === 'retry') throw new Error(`${message.type}: ${o.error}`);
    },
  });
  const coordinator: Coordinator = new Coordinator({
    store,
    bus: a2a.wrap(bus),
    router,
    clock,
    logger,
    settings: coreSettings(config),
    ...(telemetry ? { telemetry } : {}),
    a2a: a2a.gateway,
  });
  return { coordinator, a2a };
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
