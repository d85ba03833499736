/**
 * Without AUTH_TOKEN (the default on loopback) a web page in the operator's browser must not
 * drive or read the coordinator: cross-site simple POSTs (text/plain, forms, no type) get 415,
 * a foreign Origin 403, a foreign Host (DNS rebinding) 421, on the API and the dashboard's
 * routes alike. The dashboard itself, same-origin, still works (test/ops covers it in a browser).
 */
import { nullLogger } from '../../shared/core/logger';
import { startLocalApp, type LocalApp } from '../../shared/runtime/local-main';
import { request } from './support';

let app: LocalApp;
let host: string;
beforeAll(async () => {
  app = await startLocalApp(
    { STORE: 'memory', PORT: '0', LOG_LEVEL: 'silent', SWEEP_INTERVAL: '0' },
    { logger: nullLogger },
  );
  host = new URL(app.url).host;
});
afterAll(async () => app.close());

const offline = JSON.stringify({ type: 'agent_state_change', agent_id: 'victim', new_state: 'offline' });
const register = JSON.stringify({
  type: 'agent_state_change',
  agent_id: 'victim',
  new_state: 'available',
  capabilities: ['x'],
});

test('a cross-site text/plain, form or untyped POST is refused with 415 and changes nothing', async () => {
  expect(
    (await request(app.url, 'POST', '/events', { 'content-type': 'application/json' }, register)).status,
  ).toBe(200);
  for (const type of [
    'text/plain',
    'text/plain;charset=UTF-8',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
  ]) {
    const res = await request(app.url, 'POST', '/events', { 'content-type': type }, offline);
    expect(res.status).toBe(415);
    expect(res.json).toMatchObject({
      error: 'unsupported_media_type',
      reason: expect.stringContaining(type.split(';')[0]!),
    });
    expect(res.headers['accept-post']).toContain('application/cloudevents+json');
  }
  const untyped = await request(app.url, 'POST', '/events', {}, offline);
  expect(untyped.status).toBe(415);
  expect(untyped.json.reason).toMatch(/missing Content-Type/);
  expect((await app.runtime.store.getAgent('victim'))?.status).toBe('available');
  // The JSON media types are taken, parameters and case aside.
  const ok = await request(
    app.url,
    'POST',
    '/events',
    { 'content-type': 'Application/JSON; charset=utf-8' },
    register,
  );
  expect(ok.status).toBe(200);
});

test('a foreign Origin is refused with 403 on every route; the same origin is accepted', async () => {
  for (const origin of ['https://attacker.example', 'http://127.0.0.1:1', 'null']) {
    const post = await request(
      app.url,
      'POST',
      '/events',
      { 'content-type': 'application/json', origin },
      offline,
    );
    expect(post.status).toBe(403);
    expect(post.json).toMatchObject({
      error: 'cross_origin_refused',
      reason: expect.stringContaining('cross-site'),
    });
    for (const path of ['/tasks', '/agents', '/stats', '/stream']) {
      expect((await request(app.url, 'GET', path, { origin })).status).toBe(403);
    }
  }
  expect((await app.runtime.store.getAgent('victim'))?.status).toBe('available');
  const same = await request(app.url, 'GET', '/stats', { origin: `http://${host}` });
  expect(same.status).toBe(200);
  const samePost = await request(
    app.url,
    'POST',
    '/events',
    { 'content-type': 'application/json', origin: `http://${host}` },
    JSON.stringify({ type: 'agent_health_check' }),
  );
  expect(samePost.status).toBe(200);
});

test('a foreign Host (DNS rebinding) is refused with 421, the dashboard routes included; loopback names pass', async () => {
  const port = new URL(app.url).port;
  for (const path of [
    '/tasks',
    '/agents',
    '/stats',
    '/stream',
    '/',
    '/dashboard/dashboard.js',
    '/openapi.json',
  ]) {
    const res = await request(app.url, 'GET', path, { host: `attacker.example:${port}` });
    expect(res.status).toBe(421);
    expect(res.json).toMatchObject({
      error: 'misdirected_request',
      reason: expect.stringContaining('attacker.example'),
    });
  }
  const post = await request(
    app.url,
    'POST',
    '/events',
    { host: 'attacker.example', 'content-type': 'application/json' },
    offline,
  );
  expect(post.status).toBe(421);
  // Another port on a loopback name is another server.
  expect((await request(app.url, 'GET', '/tasks', { host: `127.0.0.1:${Number(port) + 1}` })).status).toBe(
    421,
  );
  expect((await app.runtime.store.getAgent('victim'))?.status).toBe('available');
  for (const name of ['localhost', '127.0.0.1', 'LOCALHOST']) {
    expect((await request(app.url, 'GET', '/tasks', { host: `${name}:${port}` })).status).toBe(200);
  }
  expect((await request(app.url, 'GET', '/', { host: `localhost:${port}` })).text).toMatch(/<html/i);
});

test('GET /tasks/%ZZ (bad percent-encoding) is a 400 with a reason, not a 500', async () => {
  const res = await request(app.url, 'GET', '/tasks/%ZZ');
  expect(res.status).toBe(400);
  expect(res.json).toMatchObject({
    error: 'invalid_message',
    reason: expect.stringMatching(/percent-encoding/),
  });
  expect((await request(app.url, 'GET', '/tasks/%E0%A4%A')).status).toBe(400);
  expect((await request(app.url, 'GET', '/tasks/no%20such')).status).toBe(404);
});

describe('with AUTH_TOKEN the token is what protects', () => {
  const token = 'a-very-long-shared-secret-1234';
  let secured: LocalApp;
  beforeAll(async () => {
    secured = await startLocalApp(
      { STORE: 'memory', PORT: '0', LOG_LEVEL: 'silent', SWEEP_INTERVAL: '0', AUTH_TOKEN: token },
      { logger: nullLogger },
    );
  });
  afterAll(async () => secured.close());

  test('Host, Origin and media type are not checked; a request without the token is still refused', async () => {
    const headers = {
      host: 'coordinator.example.com',
      origin: 'https://ops.example.com',
      'content-type': 'text/plain',
    };
    const body = JSON.stringify({ type: 'agent_health_check' });
    expect((await request(secured.url, 'POST', '/events', headers, body)).status).toBe(401);
    const ok = await request(
      secured.url,
      'POST',
      '/events',
      { ...headers, authorization: `Bearer ${token}` },
      body,
    );
    expect(ok.status).toBe(200);
  });
});
