/**
 * The core's `Telemetry` port on OpenTelemetry: each span through `@opentelemetry/api` (so
 * the store, bus and LLM spans nest under the coordinator's), each metric on one instrument
 * per name (`METRICS`: counters for counts, histograms for milliseconds, a gauge for the queue
 * depth), exported over OTLP/HTTP by default. Loaded only when telemetry is switched on (see
 * enabled.ts): a runtime without it never requires this file.
 */
import type http from 'node:http';
import type https from 'node:https';
import {
  context,
  SpanStatusCode,
  trace,
  type Attributes,
  type Counter,
  type Gauge,
  type Histogram,
  type Meter,
  type Tracer,
} from '@opentelemetry/api';
import type * as ContextAsyncHooks from '@opentelemetry/context-async-hooks';
import type * as MetricsExporter from '@opentelemetry/exporter-metrics-otlp-http';
import type * as TraceExporter from '@opentelemetry/exporter-trace-otlp-http';
import type * as Resources from '@opentelemetry/resources';
import type { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import type * as SdkMetrics from '@opentelemetry/sdk-metrics';
import type { BasicTracerProvider, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type * as SdkTrace from '@opentelemetry/sdk-trace-base';
import { createRequire } from 'node:module';
import { METRICS, type MetricName, type MetricUnit, type SpanAttributes } from '../../core/ports';
import { signalEnabled } from './enabled';
import type { AnnotatingTelemetry } from './instrument';

export interface OtelTelemetryOptions {
  /** The standard `OTEL_*` variables (default `process.env`). */
  env?: Record<string, string | undefined>;
  /** `service.name` when `OTEL_SERVICE_NAME` is not set (default `agent-coordinator`). */
  serviceName?: string;
  /** Recorded as the `coordinator.runtime` resource attribute (local, aws, azure, gcp). */
  runtime?: string;
  /** Where spans go instead of OTLP (tests, or an embedding application's own processors). */
  spanProcessors?: SpanProcessor[];
  /** Where metrics go instead of OTLP. */
  metricReaders?: MetricReader[];
}

const INSTRUMENTATION = 'agent-coordinator';
const UNITS: Record<MetricUnit, string> = { Count: '1', Milliseconds: 'ms' };
/** A level rather than a sum: the queue depth is what a drain or sweep saw. */
const GAUGES = new Set<MetricName>([METRICS.queueDepth]);

export class OtelTelemetry implements AnnotatingTelemetry {
  private readonly tracer: Tracer;
  private readonly meter: Meter;
  private readonly instruments = new Map<string, Counter | Histogram | Gauge>();

  constructor(
    readonly tracerProvider: BasicTracerProvider,
    readonly meterProvider: MeterProvider,
  ) {
    this.tracer = tracerProvider.getTracer(INSTRUMENTATION);
    this.meter = meterProvider.getMeter(INSTRUMENTATION);
  }

  span<T>(name: string, attributes: SpanAttributes, fn: () => Promise<T>): Promise<T> {
    return this.tracer.startActiveSpan(name, { attributes: defined(attributes) }, async (span) => {
      try {
        return await fn();
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        span.recordException(error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
        const code = (err as { code?: unknown }).code;
        if (typeof code === 'string') span.setAttribute('error.type', code);
        throw err;
      } finally {
        span.end();
      }
    });
  }

  annotate(attributes: SpanAttributes): void {
    trace.getActiveSpan()?.setAttributes(defined(attributes));
  }

  metric(name: MetricName, value: number, unit: MetricUnit, dimensions: Record<string, string> = {}): void {
    let instrument = this.instruments.get(name);
    if (!instrument) {
      const options = { unit: UNITS[unit] };
      instrument = GAUGES.has(name)
        ? this.meter.createGauge(name, options)
        : unit === 'Milliseconds'
          ? this.meter.createHistogram(name, options)
          : this.meter.createCounter(name, options);
      this.instruments.set(name, instrument);
    }
    if ('add' in instrument) instrument.add(value, dimensions);
    else instrument.record(value, dimensions);
  }

  /** Exports what is buffered (call at the end of a serverless invocation). */
  async flush(): Promise<void> {
    await settle([this.tracerProvider.forceFlush(), this.meterProvider.forceFlush()]);
  }

  /** Flushes and stops the exporters (when the process stops). */
  async shutdown(): Promise<void> {
    await settle([this.tracerProvider.shutdown(), this.meterProvider.shutdown()]);
  }
}

/** An unreachable collector loses telemetry; it never fails the coordinator (or its shutdown). */
async function settle(work: Array<Promise<void>>): Promise<void> {
  await Promise.allSettled(work);
}

let contextManagerSet = false;

/** An OpenTelemetry telemetry from the standard variables (OTLP/HTTP unless told otherwise). */
export function createOtelTelemetry(options: OtelTelemetryOptions = {}): OtelTelemetry {
  const env = options.env ?? process.env;
  const { defaultResource, detectResources, envDetector, resourceFromAttributes } =
    sdk<typeof Resources>('@opentelemetry/resources');
  const { BasicTracerProvider, BatchSpanProcessor } = sdk<typeof SdkTrace>('@opentelemetry/sdk-trace-base');
  const { MeterProvider, PeriodicExportingMetricReader } = sdk<typeof SdkMetrics>(
    '@opentelemetry/sdk-metrics',
  );
  const { AsyncLocalStorageContextManager } = sdk<typeof ContextAsyncHooks>(
    '@opentelemetry/context-async-hooks',
  );
  const resource = defaultResource()
    .merge(detectResources({ detectors: [envDetector] }))
    .merge(
      resourceFromAttributes({
        'service.name': env.OTEL_SERVICE_NAME || options.serviceName || 'agent-coordinator',
        ...(options.runtime ? { 'coordinator.runtime': options.runtime } : {}),
      }),
    );
  const headers = parseHeaders(env.OTEL_EXPORTER_OTLP_HEADERS);
  const transport = { ...(headers ? { headers } : {}), httpAgentOptions: agentFor };
  const spanProcessors =
    options.spanProcessors ??
    (signalEnabled(env, 'TRACES')
      ? [
          new BatchSpanProcessor(
            new (sdk<typeof TraceExporter>('@opentelemetry/exporter-trace-otlp-http').OTLPTraceExporter)({
              ...endpoint(env, 'TRACES', 'v1/traces'),
              ...(headers ? { headers } : {}),
            }),
          ),
        ]
      : []);
  const readers =
    options.metricReaders ??
    (signalEnabled(env, 'METRICS')
      ? [
          new PeriodicExportingMetricReader({
            exporter: new (sdk<typeof MetricsExporter>(
              '@opentelemetry/exporter-metrics-otlp-http',
            ).OTLPMetricExporter)({ ...endpoint(env, 'METRICS', 'v1/metrics'), ...transport }),
            exportIntervalMillis: positive(env.OTEL_METRIC_EXPORT_INTERVAL) ?? 60_000,
          }),
        ]
      : []);
  // Spans nest across awaits only with a context manager; an application that registered its
  // own keeps it (the call is then refused, which is what we want). Once per process.
  if (!contextManagerSet) {
    const manager = new AsyncLocalStorageContextManager();
    if (context.setGlobalContextManager(manager)) manager.enable();
    contextManagerSet = true;
  }
  return new OtelTelemetry(
    new BasicTracerProvider({ resource, spanProcessors }),
    new MeterProvider({ resource, readers }),
  );
}

/**
 * The SDK, exporters and resources, resolved from node_modules when telemetry starts. A
 * bundler cannot follow this require, so bundles (Lambda, the CLI) never carry them: the
 * exporters' ESM builds do not even bundle against @opentelemetry/api 1.9. An application
 * that bundles everything provides them at run time (node_modules, or a Lambda layer).
 */
function sdk<T>(id: string): T {
  return createRequire(__filename)(id) as T;
}

/** The signal's URL from the variables given (the exporters would read only `process.env`). */
function endpoint(
  env: Record<string, string | undefined>,
  signal: 'TRACES' | 'METRICS',
  path: string,
): { url?: string } {
  const specific = env[`OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`];
  if (specific) return { url: specific };
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  return base ? { url: `${base.replace(/\/+$/, '')}/${path}` } : {};
}

/**
 * The exporters' HTTP agent, made with `require` (their default loads node:http with a dynamic
 * `import()`, which a CommonJS bundle or a test runner's module registry may not offer).
 */
function agentFor(protocol: string): http.Agent | https.Agent {
  const options = { keepAlive: true };
  return protocol === 'http:'
    ? new (require('node:http') as typeof http).Agent(options)
    : new (require('node:https') as typeof https).Agent(options);
}

function parseHeaders(value: string | undefined): Record<string, string> | undefined {
  if (!value) return undefined;
  const headers: Record<string, string> = {};
  for (const pair of value.split(',')) {
    const at = pair.indexOf('=');
    if (at > 0)
      headers[decodeURIComponent(pair.slice(0, at).trim())] = decodeURIComponent(pair.slice(at + 1).trim());
  }
  return headers;
}

const positive = (v: string | undefined) => {
  const n = Number(v);
  return v && Number.isFinite(n) && n > 0 ? n : undefined;
};

function defined(attributes: SpanAttributes): Attributes {
  const out: Attributes = {};
  for (const [k, v] of Object.entries(attributes)) if (v !== undefined) out[k] = v;
  return out;
}
