// The telemetry port: spans and metrics, and the metric names.

export type SpanAttributes = Record<string, string | number | boolean | undefined>;

/** Metric names, the same on every runtime (EMF on AWS, OpenTelemetry elsewhere). */
export const METRICS = {
  /** A decision executed; dimensions `router`, `path`, `action`. */
  decisions: 'coordinator.decisions',
  /** An LLM answer not taken; dimension `reason`. */
  fallbacks: 'coordinator.llm.fallbacks',
  llmLatency: 'coordinator.llm.latency',
  llmInputTokens: 'coordinator.llm.input_tokens',
  llmOutputTokens: 'coordinator.llm.output_tokens',
  /** Queued tasks seen by a drain or sweep. */
  queueDepth: 'coordinator.queue.depth',
  /** Milliseconds from a task's creation to its assignment. */
  assignmentLatency: 'coordinator.assignment.latency',
  /** Deliveries by outcome; dimension `outcome` (`done`, `retry`, `dead_letter`). */
  deliveries: 'coordinator.deliveries',
} as const;
export type MetricName = (typeof METRICS)[keyof typeof METRICS];
export type MetricUnit = 'Count' | 'Milliseconds';

/**
 * Spans and metrics. Off by default (`noopTelemetry`); runtimes plug in OpenTelemetry or
 * Powertools. Implementations must be cheap when nothing listens.
 */
export interface Telemetry {
  /** Runs `fn` inside a span; the span ends when `fn` settles and records its error. */
  span<T>(name: string, attributes: SpanAttributes, fn: () => Promise<T>): Promise<T>;
  metric(name: MetricName, value: number, unit: MetricUnit, dimensions?: Record<string, string>): void;
}

export const noopTelemetry: Telemetry = {
  span: (_name, _attributes, fn) => fn(),
  metric: () => undefined,
};
