/**
 * The core's `Telemetry` port on Lambda with Powertools for AWS Lambda:
 * - `metric()` is CloudWatch Embedded Metric Format through Powertools Metrics, namespace
 *   `AgentCoordinator` (the names are the core's `METRICS`). Values are kept until `flush()`,
 *   which the handler calls once per invocation: one EMF document per dimension set (EMF gives
 *   every metric of a document the same dimensions), each with the `service` dimension.
 * - `span()` is an X-Ray subsegment through Powertools Tracer when tracing is on (the tracer is
 *   loaded only then: it brings the X-Ray SDK), else it just runs the function.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import type { MetricName, MetricUnit as CoreMetricUnit, SpanAttributes, Telemetry } from '../../core/ports';

export const METRICS_NAMESPACE = 'AgentCoordinator';

/** What spans need of a Powertools tracer. */
export type SpanTracer = Pick<Tracer, 'getSegment' | 'setSegment' | 'isTracingEnabled'>;

export interface PowertoolsTelemetryOptions {
  namespace?: string;
  serviceName?: string;
  /** false: `metric()` records nothing (`POWERTOOLS_METRICS_DISABLED=true`). */
  metricsEnabled?: boolean;
  /** A Powertools tracer: spans become X-Ray subsegments. */
  tracer?: SpanTracer;
}

interface Pending {
  name: MetricName;
  value: number;
  unit: CoreMetricUnit;
}

const UNITS: Record<CoreMetricUnit, (typeof MetricUnit)[keyof typeof MetricUnit]> = {
  Count: MetricUnit.Count,
  Milliseconds: MetricUnit.Milliseconds,
};

export class PowertoolsTelemetry implements Telemetry {
  readonly namespace: string;
  readonly serviceName: string;
  private readonly tracer: PowertoolsTelemetryOptions['tracer'];
  private readonly metricsEnabled: boolean;
  /** Metric values of this invocation by dimension set (the key is the sorted dimensions' JSON). */
  private pending = new Map<string, { dimensions: Record<string, string>; values: Pending[] }>();

  constructor(options: PowertoolsTelemetryOptions = {}) {
    this.namespace = options.namespace ?? METRICS_NAMESPACE;
    this.serviceName = options.serviceName ?? 'agent-coordinator';
    this.tracer = options.tracer?.isTracingEnabled() ? options.tracer : undefined;
    this.metricsEnabled = options.metricsEnabled ?? true;
  }

  metric(
    name: MetricName,
    value: number,
    unit: CoreMetricUnit,
    dimensions: Record<string, string> = {},
  ): void {
    if (!this.metricsEnabled || !Number.isFinite(value)) return;
    const sorted = Object.fromEntries(Object.entries(dimensions).sort(([a], [b]) => a.localeCompare(b)));
    const key = JSON.stringify(sorted);
    let group = this.pending.get(key);
    if (!group) this.pending.set(key, (group = { dimensions: sorted, values: [] }));
    group.values.push({ name, value, unit });
  }

  /** Prints this invocation's metrics as EMF (stdout, where Lambda's log agent reads it) and forgets them. */
  flush(): void {
    const groups = [...this.pending.values()];
    this.pending = new Map();
    for (const { dimensions, values } of groups) {
      const metrics = new Metrics({ namespace: this.namespace, serviceName: this.serviceName });
      if (Object.keys(dimensions).length > 0) metrics.addDimensions(dimensions);
      for (const v of values) metrics.addMetric(v.name, UNITS[v.unit], v.value);
      metrics.publishStoredMetrics();
    }
  }

  async span<T>(name: string, attributes: SpanAttributes, fn: () => Promise<T>): Promise<T> {
    const tracer = this.tracer;
    const parent = tracer?.getSegment();
    if (!tracer || !parent) return fn();
    const sub = parent.addNewSubsegment(name);
    for (const [k, v] of Object.entries(attributes)) if (v !== undefined) sub.addAnnotation(k, v);
    tracer.setSegment(sub);
    try {
      return await fn();
    } catch (err) {
      sub.addError(err as Error);
      throw err;
    } finally {
      sub.close();
      tracer.setSegment(parent);
    }
  }
}
