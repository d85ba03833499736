/**
 * OpenTelemetry through the local runtime: a coordination request makes the core's spans
 * (normalize, route, publish) with the store, bus and LLM calls nested in them, and metric
 * points under the METRICS names; first into in-memory exporters, then over OTLP/HTTP to a
 * collector served here on loopback from the standard OTEL_* variables. With telemetry off,
 * no OpenTelemetry module is loaded at all.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { METRICS, type LlmClient, type LlmRequest } from '../../shared/core/ports';
import { createOtelTelemetry } from '../../shared/adapters/otel/otel-telemetry';
import { otelEnabled } from '../../shared/adapters/otel/enabled';
import { createLocalRuntime, type LocalRuntime } from '../../shared/runtime/local';

const ROOT = path.resolve(__dirname, '../..');
const SECRET = 'do-not-export-this-task-data';
const BASE_ENV = { STORE: 'memory', LOG_LEVEL: 'silent', SWEEP_INTERVAL: '0' };

/** An LLM that always picks the first agent it is offered, with token counts. */
const fakeLlm: LlmClient = {
  provider: 'fake',
  model: 'fake-model-1',
  complete: async (_request: LlmRequest) => ({
    toolInput: {
      action: 'assign_task',
      target_agents: ['nutrition-1'],
      task_distribution: { 'nutrition-1': 'analyse the meal log' },
      reasoning: 'the first capable agent',
    },
    usage: { input_tokens: 321, output_tokens: 45 },
    stopReason: 'tool_use',
    model: 'fake-model-1',
  }),
};

async function coordinate(runtime: LocalRuntime): Promise<void> {
  for (const agent_id of ['nutrition-1', 'nutrition-2'])
    await runtime.coordinator.handle(
      { type: 'agent_state_change', agent_id, new_state: 'available', capabilities: ['nutrition_analysis'] },
      { source: 'test', id: `up-${agent_id}` },
    );
  const [outcome] = await runtime.coordinator.handle(
    {
      type: 'coordination_request',
      task_id: 'meal-plan-42',
      task_type: 'nutrition_analysis',
      priority: 'high',
      task_data: { request: SECRET },
    },
    { source: 'test', id: 'req-1' },
  );
  expect(outcome?.status).toBe('done');
}

/** The same request as coordinate(), as source for a probe process. */
const COORDINATE = `
  for (const agent_id of ['nutrition-1', 'nutrition-2'])
    await runtime.coordinator.handle(
      { type: 'agent_state_change', agent_id, new_state: 'available', capabilities: ['nutrition_analysis'] },
      { source: 'probe', id: 'up-' + agent_id },
    );
  const [outcome] = await runtime.coordinator.handle(
    { type: 'coordination_request', task_id: 'meal-plan-42', task_type: 'nutrition_analysis', task_data: { request: ${JSON.stringify(SECRET)} } },
    { source: 'probe', id: 'req-1' },
  );
  if (outcome.status !== 'done') throw new Error(JSON.stringify(outcome));`;

/**
 * Runs \`body\` (the inside of an async function, with createLocalRuntime in scope) in a real
 * Node process: the local runtime bundled with its dependencies external, as \`npm start\`
 * runs it. Resolves to what the body returned; rejects with the process's stderr.
 */
async function probe(body: string, env: Record<string, string>): Promise<string> {
  const { bundleTs } = require('../../scripts/bundle-ts') as {
    bundleTs: (entry: string, out: string) => string;
  };
  const id = `otel-probe-${process.pid}-${(probeCount += 1)}`;
  const entry = path.join(ROOT, '.esbuild', `${id}.ts`);
  const out = path.join(ROOT, '.esbuild', `${id}.cjs`);
  mkdirSync(path.dirname(entry), { recursive: true });
  writeFileSync(
    entry,
    `import { createLocalRuntime } from ${JSON.stringify(path.join(ROOT, 'shared/runtime/local'))};
     export async function main(): Promise<string> { ${body} }`,
  );
  try {
    bundleTs(entry, out);
    const clean = { ...process.env };
    for (const k of Object.keys(clean)) if (k.startsWith('OTEL_')) delete clean[k];
    const child = spawn(
      process.execPath,
      ['-e', `require(${JSON.stringify(out)}).main().then((r) => process.stdout.write(r))`],
      { env: { ...clean, ...env } },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const code = await new Promise<number | null>((r) => child.on('close', r));
    clearTimeout(timer);
    if (code !== 0 || stderr) throw new Error(`probe exited ${code}: ${stderr}`);
    return stdout;
  } finally {
    rmSync(entry, { force: true });
    rmSync(out, { force: true });
  }
}
let probeCount = 0;

const CORE_SPANS = ['coordinator.normalize', 'coordinator.route', 'coordinator.publish'];
const PORT_SPANS = ['store.getAgent', 'store.putAgent', 'store.listAgents', 'store.putTask', 'bus.publish'];

describe('OpenTelemetry', () => {
  it('is off unless the standard variables ask for it', () => {
    expect(otelEnabled({})).toBe(false);
    expect(otelEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toBe(true);
    expect(otelEnabled({ OTEL_TRACES_EXPORTER: 'otlp' })).toBe(true);
    expect(otelEnabled({ OTEL_TRACES_EXPORTER: 'none' })).toBe(false);
    expect(otelEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x', OTEL_SDK_DISABLED: 'true' })).toBe(false);
  });

  it('spans and metric points of a coordination request, into in-memory exporters', async () => {
    const spans = new InMemorySpanExporter();
    const metrics = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const telemetry = createOtelTelemetry({
      runtime: 'local',
      spanProcessors: [new SimpleSpanProcessor(spans)],
      metricReaders: [
        new PeriodicExportingMetricReader({ exporter: metrics, exportIntervalMillis: 3_600_000 }),
      ],
    });
    const runtime = await createLocalRuntime(
      { ...BASE_ENV, ROUTER: 'openai', FAST_PATH: 'false' },
      { telemetry, llmClient: fakeLlm },
    );
    try {
      await coordinate(runtime);
      await telemetry.flush();
      const finished = spans.getFinishedSpans();
      const names = new Set(finished.map((s) => s.name));
      for (const name of [...CORE_SPANS, ...PORT_SPANS, 'llm.complete']) expect(names).toContain(name);

      const byId = new Map(finished.map((s) => [s.spanContext().spanId, s]));
      const parent = (s: ReadableSpan) => byId.get(s.parentSpanContext?.spanId ?? '')?.name;
      const llm = finished.find((s) => s.name === 'llm.complete')!;
      expect(parent(llm)).toBe('coordinator.route');
      expect(llm.attributes).toMatchObject({
        'gen_ai.system': 'fake',
        'gen_ai.request.model': 'fake-model-1',
        'gen_ai.usage.input_tokens': 321,
        'gen_ai.usage.output_tokens': 45,
      });
      const publish = finished.find((s) => s.name === 'bus.publish')!;
      expect(parent(publish)).toBe('coordinator.publish');
      expect(publish.attributes).toMatchObject({
        'bus.name': 'local+a2a',
        'bus.events': 1,
        'bus.event_types': 'Task Assignment',
      });
      const put = finished.find((s) => s.name === 'store.putTask')!;
      expect(put.attributes).toMatchObject({
        'store.operation': 'putTask',
        'store.kind': 'task',
        'store.key': 'meal-plan-42',
      });
      // What an exporter sees never carries task data.
      expect(JSON.stringify(finished.map((s) => s.attributes))).not.toContain(SECRET);

      const points = new Map<string, number>();
      for (const batch of metrics.getMetrics())
        for (const scope of batch.scopeMetrics)
          for (const m of scope.metrics) points.set(m.descriptor.name, m.dataPoints.length);
      for (const name of [
        METRICS.decisions,
        METRICS.deliveries,
        METRICS.llmInputTokens,
        METRICS.assignmentLatency,
      ])
        expect(points.get(name)).toBeGreaterThan(0);
    } finally {
      await runtime.close();
    }
  });

  it('exports over OTLP/HTTP to the endpoint OTEL_EXPORTER_OTLP_ENDPOINT names', async () => {
    const received: Array<{ path: string; type: string; body: string }> = [];
    const collector = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push({ path: req.url ?? '', type: req.headers['content-type'] ?? '', body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', () => r()));
    const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
    try {
      // In a real Node process: the exporters load node:http with import(), which jest's
      // module registry does not offer.
      const out = await probe(
        `const runtime = await createLocalRuntime({ ...process.env, ...${JSON.stringify(BASE_ENV)} });
         ${COORDINATE}
         await runtime.close(); // flushes the batch span processor and the metric reader
         return 'closed';`,
        { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SERVICE_NAME: 'coordinator-under-test' },
      );
      expect(out).toBe('closed');
      const traces = received.filter((r) => r.path === '/v1/traces');
      const metrics = received.filter((r) => r.path === '/v1/metrics');
      expect(traces.length).toBeGreaterThan(0);
      expect(metrics.length).toBeGreaterThan(0);
      for (const r of received) expect(r.type).toBe('application/json');
      const spanNames = traces.flatMap((r) => [...r.body.matchAll(/"name":"([^"]+)"/g)].map((m) => m[1]));
      for (const name of [...CORE_SPANS, ...PORT_SPANS]) expect(spanNames).toContain(name);
      expect(traces.map((r) => r.body).join()).toContain('coordinator-under-test');
      expect(traces.map((r) => r.body).join()).not.toContain(SECRET);
      const metricNames = metrics.flatMap((r) => [...r.body.matchAll(/"name":"([^"]+)"/g)].map((m) => m[1]));
      for (const name of [METRICS.decisions, METRICS.deliveries, METRICS.assignmentLatency])
        expect(metricNames).toContain(name);
    } finally {
      await new Promise<void>((r) => collector.close(() => r()));
    }
  });

  it('loads no OpenTelemetry module when it is off (and does when it is on)', async () => {
    const body = `const runtime = await createLocalRuntime({ ...process.env, ...${JSON.stringify(BASE_ENV)} });
      ${COORDINATE}
      const loaded = Object.keys(require.cache).filter((k) => k.includes('@opentelemetry'));
      await runtime.close();
      return String(loaded.length);`;
    expect(await probe(body, {})).toBe('0');
    // On, pointed at a closed port: the modules load; the lost export fails nothing.
    const on = await probe(body, {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9',
      OTEL_EXPORTER_OTLP_TIMEOUT: '500',
    });
    expect(Number(on)).toBeGreaterThan(0);
  });
});
