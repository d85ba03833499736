/** OpenTelemetry for the coordinator: the `Telemetry` implementation and the port decorators. */
export { otelEnabled, signalEnabled } from './enabled';
export { instrumentBus, instrumentLlmClient, instrumentStore, type AnnotatingTelemetry } from './instrument';
export { createOtelTelemetry, OtelTelemetry, type OtelTelemetryOptions } from './otel-telemetry';
