/**
 * `agent-coordinator/otel`: OpenTelemetry for an embedding application, which may pass its
 * own span processors and metric readers (`createOtelTelemetry`) as `telemetry` to a runtime,
 * and the decorators that make store calls, publishes and LLM calls spans.
 */
export * from '../adapters/otel/index';
