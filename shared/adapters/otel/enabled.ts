/**
 * Whether OpenTelemetry is asked for, from the standard variables only, so the check costs
 * nothing and loads no OpenTelemetry module. Off unless an OTLP endpoint or an `otlp` exporter
 * is named; `OTEL_SDK_DISABLED=true` turns it off whatever else is set.
 */
export function otelEnabled(env: Record<string, string | undefined>): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  const named = (v: string | undefined) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .includes('otlp');
  return Boolean(
    env.OTEL_EXPORTER_OTLP_ENDPOINT ||
    env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ||
    env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT ||
    named(env.OTEL_TRACES_EXPORTER) ||
    named(env.OTEL_METRICS_EXPORTER),
  );
}

/** Traces and metrics each follow their own `OTEL_*_EXPORTER` when set (`none` turns one off). */
export function signalEnabled(
  env: Record<string, string | undefined>,
  signal: 'TRACES' | 'METRICS',
): boolean {
  const exporter = env[`OTEL_${signal}_EXPORTER`]?.trim().toLowerCase();
  return exporter === undefined || exporter === '' || exporter.split(',').includes('otlp');
}
