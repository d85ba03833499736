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
  noopTelemetry,
  systemClock,
  type Clock,
  type EventBus,
  type LlmClient,
  type Logger,
  type PayloadStore,
  type Router,
  type StateStore,
  type Telemetry,
} from '../core/ports';
import { createA2a, type A2aParts } from '../adapters/a2a/gateway';
import { otelEnabled } from '../adapters/otel/enabled';
import { instrumentBus, instrumentLlmClient, instrumentStore } from '../adapters/otel/instrument';
import type { AssignmentFeed, HttpApi } from '../http/api';

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
  /** `overrides.telemetry`, else OpenTelemetry when the standard OTEL_* variables ask for it, else none. */
  telemetry: Telemetry;
}

export function runtimeBase(
  env: Record<string, string | undefined>,
  overrides: { clock?: Clock; logger?: Logger; telemetry?: Telemetry },
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
  const telemetry = overrides.telemetry ?? telemetryFromEnv(env, runtime);
  return { config, clock: overrides.clock ?? systemClock, logger, telemetry };
}

/**
 * OpenTelemetry when OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_TRACES_EXPORTER=otlp, ...) is set.
 * Required here, not imported: a runtime without it never loads an OpenTelemetry module.
 */
function telemetryFromEnv(env: Record<string, string | undefined>, runtime: string): Telemetry {
  if (!otelEnabled(env)) return noopTelemetry;
  const { createOtelTelemetry } =
    require('../adapters/otel/otel-telemetry') as typeof import('../adapters/otel/otel-telemetry');
  return createOtelTelemetry({ env, runtime });
}

/** The LLM client with each call a span, when telemetry is on. */
export function instrumentedLlmClient<C extends LlmClient | undefined>(client: C, telemetry?: Telemetry): C {
  return client && telemetry && telemetry !== noopTelemetry
    ? (instrumentLlmClient(client, telemetry) as C)
    : client;
}

/** Exports what telemetry still buffers and stops it (a process that is shutting down). */
export async function shutdownTelemetry(telemetry: Telemetry | undefined): Promise<void> {
  await (telemetry as { shutdown?: () => Promise<void> } | undefined)?.shutdown?.();
}

export interface CoreParts extends Omit<RuntimeBase, 'telemetry'> {
  store: StateStore;
  bus: EventBus;
  router: Router;
  telemetry?: Telemetry;
  /** The claim-check bucket (PAYLOAD_BUCKET), when the runtime has one. */
  payloads?: PayloadStore;
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
  const { bus, router, clock, logger, config, telemetry } = parts;
  // With telemetry on, every store call and publish of the coordinator is a span.
  const traced = telemetry !== undefined && telemetry !== noopTelemetry;
  const store = traced ? instrumentStore(parts.store, telemetry) : parts.store;
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
    bus: traced ? instrumentBus(a2a.wrap(bus), telemetry) : a2a.wrap(bus),
    router,
    clock,
    logger,
    settings: coreSettings(config),
    ...(telemetry ? { telemetry } : {}),
    ...(parts.payloads ? { payloads: parts.payloads } : {}),
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
  // Required here, not imported: a runtime without an HTTP entry point (Lambda) never loads the
  // HTTP API and the CloudEvents SDK it reads requests with.
  const { createHttpApi } = require('../http/api') as typeof import('../http/api');
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
