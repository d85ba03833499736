/**
 * The rate limit keys on what a caller cannot choose: the accepted token, else the address the
 * platform saw. Junk credentials, rotated X-Forwarded-For entries and floods of new callers do
 * not get around it.
 */
import { HttpRequest, InvocationContext } from '@azure/functions';
import type { Request } from '@google-cloud/functions-framework';
import { httpHandler as azureHttp } from '../../azure/functions/http';
import { toApiRequest } from '../../gcp/http';
import { MemoryStateStore } from '../../shared/adapters/local/memory-store';
import { nullLogger } from '../../shared/core/logger';
import { RateLimiter } from '../../shared/http/api';
import {
  addressKey,
  azureClientAddress,
  gcpClientAddress,
  stripPort,
} from '../../shared/http/client-address';
import { createAzureRuntime } from '../../shared/runtime/azure';
import { createLocalRuntime } from '../../shared/runtime/local';
import { startLocalServer } from '../../shared/runtime/local-server';
import { FakeSender } from '../azure/support/service-bus-fakes';
import { request } from './support';

async function boot(env: Record<string, string>) {
  const runtime = await createLocalRuntime(
    { STORE: 'memory', PORT: '0', LOG_LEVEL: 'silent', ...env },
    { logger: nullLogger },
  );
  const server = await startLocalServer(runtime);
  return { runtime, server, close: () => server.close() };
}

test('a new junk Authorization header on every request does not evade the limit (auth off: the peer address)', async () => {
  const { server, close } = await boot({ RATE_LIMIT_PER_MINUTE: '3' });
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await request(server.url, 'GET', '/agents', {
        authorization: `Bearer junk-${i}`,
        'x-api-key': `k${i}`,
      });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
  } finally {
    await close();
  }
});

test('with auth on, guesses are limited by address and the accepted token is one caller of its own', async () => {
  const token = 'a-very-long-shared-secret-1234';
  const { server, close } = await boot({ RATE_LIMIT_PER_MINUTE: '3', AUTH_TOKEN: token });
  try {
    const guesses: number[] = [];
    for (let i = 0; i < 5; i++)
      guesses.push((await request(server.url, 'GET', '/agents', { 'x-api-key': `guess-${i}` })).status);
    expect(guesses).toEqual([401, 401, 401, 429, 429]);
    const good: number[] = [];
    // Either header, the same token: the same caller.
    const ways: Array<Record<string, string>> = [
      { authorization: `Bearer ${token}` },
      { 'x-api-key': token },
      { authorization: `Bearer ${token}` },
      { 'x-api-key': token },
    ];
    for (const headers of ways) good.push((await request(server.url, 'GET', '/agents', headers)).status);
    expect(good).toEqual([200, 200, 200, 429]);
  } finally {
    await close();
  }
});

test('the caller table is bounded by LRU eviction: a flood of new callers does not reset a limited one', () => {
  let now = 1_000_000;
  const limiter = new RateLimiter(2, { now: () => now });
  expect([limiter.take('abuser'), limiter.take('abuser')]).toEqual([0, 0]);
  expect(limiter.take('abuser')).toBeGreaterThan(0);
  for (let i = 0; i < 10_050; i++) {
    limiter.take(`new-${i}`);
    // The abuser keeps sending: it stays the most recently seen and stays limited.
    if (i % 1000 === 0) expect(limiter.take('abuser')).toBeGreaterThan(0);
  }
  expect(limiter.take('abuser')).toBeGreaterThan(0);
  expect(limiter.size).toBeLessThanOrEqual(10_000);
  // The least recently seen went first.
  expect(limiter.take('new-0')).toBe(0);
  now += 60_000;
  expect(limiter.take('abuser')).toBe(0);
});

test('addresses: ports dropped, IPv4-mapped IPv6 as IPv4, other IPv6 by /64', () => {
  expect(stripPort('203.0.113.7:50123')).toBe('203.0.113.7');
  expect(stripPort('[2001:db8::1]:443')).toBe('2001:db8::1');
  expect(stripPort('2001:db8::1')).toBe('2001:db8::1');
  expect(addressKey('::ffff:198.51.100.4')).toBe('198.51.100.4');
  expect(addressKey('2001:db8:1:2:aaaa::1')).toBe(addressKey('2001:db8:1:2:ffff:1:2:3'));
  expect(addressKey('2001:db8:1:2::1')).not.toBe(addressKey('2001:db8:1:3::1'));
  expect(addressKey(undefined)).toBe('unknown');
});

test("Azure: the address is the front end's client-ip (else the last X-Forwarded-For entry), not the client-written first", async () => {
  expect(
    azureClientAddress({ 'client-ip': '203.0.113.9:51000', 'x-forwarded-for': '6.6.6.6, 203.0.113.9:51000' }),
  ).toBe('203.0.113.9');
  expect(azureClientAddress({ 'x-forwarded-for': '6.6.6.6, 203.0.113.9:51000' })).toBe('203.0.113.9');
  const runtime = createAzureRuntime(
    { LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '2' },
    { store: new MemoryStateStore(), sender: new FakeSender(), rejectedSender: new FakeSender() },
  );
  const handle = azureHttp(() => runtime);
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) {
    const res = await handle(
      new HttpRequest({
        method: 'GET',
        url: 'https://coordinator.azurewebsites.net/api/agents',
        params: { path: 'agents' },
        headers: {
          'x-forwarded-for': `10.0.0.${i}, 203.0.113.9:5100${i}`,
          'client-ip': `203.0.113.9:5100${i}`,
        },
      }),
      new InvocationContext({ functionName: 'api' }),
    );
    statuses.push(res.status ?? 200);
  }
  expect(statuses).toEqual([200, 200, 429, 429]);
});

test("GCP: the address is the right-most X-Forwarded-For entry (added by Google's front end), not req.ip", () => {
  const req = {
    method: 'GET',
    url: '/agents',
    originalUrl: '/agents',
    headers: { 'x-forwarded-for': '6.6.6.6, 198.51.100.20' },
    ip: '6.6.6.6',
    socket: { remoteAddress: '169.254.1.1' },
  } as unknown as Request;
  expect(toApiRequest(req).remoteAddress).toBe('198.51.100.20');
  expect(gcpClientAddress({}, '127.0.0.1')).toBe('127.0.0.1');
});
