/**
 * docs/openapi.json is what the generator produces from today's zod schemas (so it cannot go
 * stale), the server serves it, and real answers of a running local server, success and error
 * ones, on every route, are valid against it (JSON Schema 2020-12, as OpenAPI 3.1 uses, checked
 * with ajv, which the cloudevents SDK already brings).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { nullLogger } from '../../shared/core/logger';
import { buildOpenApiDocument } from '../../shared/http/openapi';
import { startLocalApp, type LocalApp } from '../../shared/runtime/local-main';
import { request, type RawResponse } from './support';

const FILE = path.resolve(__dirname, '../../docs/openapi.json');
const checkedIn = readFileSync(FILE, 'utf8');
const doc = JSON.parse(checkedIn) as {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>
  >;
};

test('docs/openapi.json is what `npm run openapi` generates now', () => {
  // If this fails after a schema change: run `npm run openapi` and commit docs/openapi.json.
  // (The script also formats it as prettier wants; prettier cannot be loaded inside jest.)
  expect(doc).toEqual(JSON.parse(JSON.stringify(buildOpenApiDocument())));
});

describe('real answers of the local server are valid against the document', () => {
  const token = 'a-very-long-shared-secret-1234';
  let app: LocalApp;
  let secured: LocalApp;
  let limited: LocalApp;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(doc, 'https://agent-coordinator.local/openapi.json');
  const seen: string[] = [];

  beforeAll(async () => {
    const env = { STORE: 'memory', PORT: '0', LOG_LEVEL: 'silent', SWEEP_INTERVAL: '0' };
    [app, secured, limited] = await Promise.all([
      startLocalApp({ ...env, MAX_MESSAGE_BYTES: '8192' }, { logger: nullLogger }),
      startLocalApp({ ...env, AUTH_TOKEN: token }, { logger: nullLogger }),
      startLocalApp({ ...env, RATE_LIMIT_PER_MINUTE: '1' }, { logger: nullLogger }),
    ]);
  });
  afterAll(async () => Promise.all([app, secured, limited].map((a) => a?.close())));

  const pointer = (...parts: string[]) =>
    parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

  /** Finds the operation and status in the document and validates the body against it. */
  function conforms(route: string, method: string, res: RawResponse): void {
    const label = `${method.toUpperCase()} ${route} ${res.status}`;
    seen.push(label);
    const operation = doc.paths[route]?.[method];
    expect({ label, documented: Boolean(operation?.responses[String(res.status)]) }).toEqual({
      label,
      documented: true,
    });
    const type = String(res.headers['content-type']).split(';')[0]!;
    const schemaPath = pointer(
      'paths',
      route,
      method,
      'responses',
      String(res.status),
      'content',
      type,
      'schema',
    );
    const validate = ajv.compile({ $ref: `https://agent-coordinator.local/openapi.json#/${schemaPath}` });
    const valid = validate(res.json);
    expect({ label, errors: valid ? null : validate.errors }).toEqual({ label, errors: null });
  }

  const json = { 'content-type': 'application/json' };
  const post = (body: unknown, headers: Record<string, string> = json, base = app.url) =>
    request(base, 'POST', '/events', headers, typeof body === 'string' ? body : JSON.stringify(body));
  const get = (p: string, headers: Record<string, string> = {}, base = app.url) =>
    request(base, 'GET', p, headers);

  test('every route, success and error answers', async () => {
    const ok = async (res: Promise<RawResponse>, route: string, method = 'post', status = 200) => {
      const r = await res;
      expect([route, r.status, r.text.slice(0, 300)]).toEqual([route, status, expect.any(String)]);
      conforms(route, method, r);
      return r;
    };
    // One answer per message type, and both kinds of error event result.
    await ok(
      post({ type: 'agent_state_change', agent_id: 'oa-1', new_state: 'available', capabilities: ['c'] }),
      '/events',
    );
    await ok(
      post({ type: 'coordination_request', task_id: 'oa-t1', task_type: 'c', task_data: { n: 1 } }),
      '/events',
    );
    await ok(
      post({ type: 'task_assignment', task_id: 'oa-t2', agent_id: 'oa-1', task_type: 'c' }),
      '/events',
    );
    await ok(post({ type: 'agent_health_check' }), '/events');
    await ok(
      post({ type: 'task_completion', task_id: 'oa-t1', agent_id: 'oa-1', result: { done: true } }),
      '/events',
    );
    await ok(post({ type: 'error_event', agent_id: 'oa-1', task_id: 'oa-t2', error: 'boom' }), '/events');
    await ok(post({ type: 'error_event', agent_id: 'oa-1', error: 'no task' }), '/events');
    await ok(post({ type: 'sweep' }), '/events');
    await ok(post({ type: 'coordination_request', task_id: 'oa-t1', task_type: 'c' }), '/events');
    await ok(
      post({
        Records: [
          { messageId: 'm1', body: JSON.stringify({ type: 'agent_health_check' }) },
          { messageId: 'm2', body: 'nope' },
        ],
      }),
      '/events',
    );
    await ok(
      post(
        [
          { specversion: '1.0', id: 'b1', source: '/t', type: 'agent_health_check', data: {} },
          { specversion: '1.0', id: 'b2', type: 'sweep' },
        ],
        { 'content-type': 'application/cloudevents-batch+json' },
      ),
      '/events',
    );
    await ok(post('{"type":', json), '/events', 'post', 400);
    await ok(post({ type: 'task_completion', task_id: 'ghost', agent_id: 'oa-1' }), '/events', 'post', 404);
    await ok(
      post({ type: 'coordination_request', task_type: 'c', task_data: 'x'.repeat(9000) }),
      '/events',
      'post',
      413,
    );
    await ok(post('{}', { 'content-type': 'text/plain' }), '/events', 'post', 415);
    await ok(post('{}', { ...json, origin: 'https://evil.example' }), '/events', 'post', 403);
    await ok(post('{}', { ...json, host: 'evil.example' }), '/events', 'post', 421);
    await ok(post({ type: 'agent_health_check' }, json, secured.url), '/events', 'post', 401);

    await ok(get('/agents'), '/agents', 'get');
    await ok(get('/tasks'), '/tasks', 'get');
    await ok(get('/tasks?status=queued&limit=5'), '/tasks', 'get');
    await ok(get('/tasks?status=sleeping'), '/tasks', 'get', 400);
    await ok(get('/tasks/oa-t1'), '/tasks/{id}', 'get');
    await ok(get('/tasks/ghost'), '/tasks/{id}', 'get', 404);
    await ok(get('/tasks/%ZZ'), '/tasks/{id}', 'get', 400);
    await ok(get('/assignments?agent=oa-1'), '/assignments', 'get');
    await ok(get('/assignments?after=x'), '/assignments', 'get', 400);
    await ok(get('/health'), '/health', 'get');
    await ok(get('/stats'), '/stats', 'get');
    await ok(get('/agents', {}, secured.url), '/agents', 'get', 401);
    await ok(get('/agents', { origin: 'null' }), '/agents', 'get', 403);
    await ok(get('/agents', {}, limited.url), '/agents', 'get');
    await ok(get('/agents', {}, limited.url), '/agents', 'get', 429);
    const served = await ok(get('/openapi.json', {}, secured.url), '/openapi.json', 'get');
    // Served without credentials, and it is the checked-in document.
    expect(served.json).toEqual(doc);
    expect(seen.length).toBeGreaterThan(30);
    // And the check is not vacuous: a wrong body fails it.
    const wrong = ajv.compile({
      $ref: `https://agent-coordinator.local/openapi.json#/${pointer('paths', '/agents', 'get', 'responses', '200', 'content', 'application/json', 'schema')}`,
    });
    expect(wrong({ agents: [{ agent_id: 'x' }] })).toBe(false);
    expect(wrong({ agents: [] })).toBe(true);
  });
});
