/** Agent Cards: validation and skill mapping (pure), and fetching from real SDK agents. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AgentCardError,
  AgentCardUnavailableError,
  DEFAULT_CARD_POLICY,
  fetchAgentCard,
  mergeCapabilities,
  parseAgentCard,
  skillCapabilities,
} from '../../shared/adapters/a2a/card';
import { createLocalRuntime } from '../../shared/runtime/local';
import { startTestAgent, type TestAgent } from './support/agents';

const NOW = '2026-12-01T10:00:00.000Z';
const fetchOptions = { ...DEFAULT_CARD_POLICY, timeoutMs: 2000, maxBytes: 64 * 1024 };

const v1Card = (over: Record<string, unknown> = {}) => ({
  name: 'Nutrition',
  supportedInterfaces: [
    { url: 'https://agents.example/a2a', protocolBinding: 'JSONRPC', protocolVersion: '1.0' },
  ],
  capabilities: { pushNotifications: true },
  skills: [
    { id: 'nutrition_analysis', tags: ['meal_planning', 'diet'] },
    { id: 'recipes', tags: ['diet'] },
  ],
  ...over,
});

describe('parseAgentCard', () => {
  test('maps skill ids and tags to capabilities and keeps the interface', () => {
    const r = parseAgentCard(
      v1Card(),
      'https://agents.example/.well-known/agent-card.json',
      DEFAULT_CARD_POLICY,
      NOW,
      'h',
    );
    expect(r.capabilities).toEqual(['nutrition_analysis', 'meal_planning', 'diet', 'recipes']);
    expect(r.a2a).toMatchObject({
      interface_url: 'https://agents.example/a2a',
      protocol_binding: 'JSONRPC',
      protocol_version: '1.0',
      push_notifications: true,
      skills: ['nutrition_analysis', 'recipes'],
      card_sha256: 'h',
      fetched_at: NOW,
    });
    expect(r.a2a.security).toBeUndefined();
  });

  test('the mapping is configurable: ids only, tags only', () => {
    expect(skillCapabilities(v1Card().skills, ['ids'])).toEqual(['nutrition_analysis', 'recipes']);
    expect(skillCapabilities(v1Card().skills, ['tags'])).toEqual(['meal_planning', 'diet']);
    expect(mergeCapabilities(['coordination', 'diet'], ['diet', 'recipes'])).toEqual([
      'coordination',
      'diet',
      'recipes',
    ]);
  });

  test('takes the first interface whose binding the client speaks, and the required scheme', () => {
    const r = parseAgentCard(
      v1Card({
        supportedInterfaces: [
          { url: 'https://agents.example/grpc', protocolBinding: 'GRPC', protocolVersion: '1.0' },
          { url: 'https://agents.example/rest', protocolBinding: 'HTTP+JSON', protocolVersion: '1.0' },
        ],
        securitySchemes: { key: { apiKeySecurityScheme: { location: 'header', name: 'X-Key' } } },
        securityRequirements: [{ schemes: { key: { list: [] } } }],
      }),
      'https://agents.example/card',
      DEFAULT_CARD_POLICY,
      NOW,
      'h',
    );
    expect(r.a2a.protocol_binding).toBe('HTTP+JSON');
    expect(r.a2a.interface_url).toBe('https://agents.example/rest');
    expect(r.a2a.security).toEqual({ name: 'key', type: 'apiKey', location: 'header', param_name: 'X-Key' });
  });

  test('reads a v0.3 card too', () => {
    const r = parseAgentCard(
      {
        name: 'Old',
        url: 'https://old.example/a2a',
        protocolVersion: '0.3.0',
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
        security: [{ bearer: [] }],
        skills: [{ id: 'workout_planning', tags: [] }],
      },
      'https://old.example/card',
      DEFAULT_CARD_POLICY,
      NOW,
      'h',
    );
    expect(r.a2a).toMatchObject({
      protocol_version: '0.3',
      protocol_binding: 'JSONRPC',
      push_notifications: false,
    });
    expect(r.a2a.security).toEqual({ name: 'bearer', type: 'http', scheme: 'bearer' });
    expect(r.capabilities).toEqual(['workout_planning']);
  });

  test.each([
    [{ ...v1Card(), name: undefined }, 'agent_card.name'],
    [v1Card({ skills: [{ id: 'ok' }, { id: 7 }] }), 'agent_card.skills[1].id'],
    [v1Card({ supportedInterfaces: [] }), 'agent_card.supportedInterfaces'],
    [
      v1Card({ supportedInterfaces: [{ url: 'https://x.example', protocolBinding: 'GRPC' }] }),
      'agent_card.supportedInterfaces',
    ],
    [
      v1Card({ supportedInterfaces: [{ url: 'http://agents.example/a2a', protocolBinding: 'JSONRPC' }] }),
      'agent_card.supportedInterfaces[0].url',
    ],
    [
      v1Card({ securityRequirements: [{ schemes: { oauth: { list: [] } } }] }),
      'agent_card.securitySchemes.oauth',
    ],
  ])('a card failing validation is a permanent error naming the field (%#)', (card, path) => {
    let error: unknown;
    try {
      parseAgentCard(card, 'https://agents.example/card', DEFAULT_CARD_POLICY, NOW, 'h');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(AgentCardError);
    expect((error as AgentCardError).path).toBe(path);
    expect((error as AgentCardError).retryable).toBe(false);
    expect((error as Error).message).toContain('invalid agent card https://agents.example/card');
  });

  test('plain http beyond loopback only when allowed', () => {
    const card = v1Card({
      supportedInterfaces: [{ url: 'http://agents.internal/a2a', protocolBinding: 'JSONRPC' }],
    });
    expect(() => parseAgentCard(card, 'u', DEFAULT_CARD_POLICY, NOW, 'h')).toThrow(/A2A_ALLOW_INSECURE_URLS/);
    const r = parseAgentCard(card, 'u', { ...DEFAULT_CARD_POLICY, allowInsecure: true }, NOW, 'h');
    expect(r.a2a.interface_url).toBe('http://agents.internal/a2a');
  });
});

describe('fetchAgentCard from real A2A agents', () => {
  const agents: TestAgent[] = [];
  const servers: http.Server[] = [];
  afterAll(async () => {
    await Promise.all(agents.map((a) => a.close()));
    await Promise.all(
      servers.map((s) => new Promise<void>((r) => (s.closeAllConnections(), s.close(() => r())))),
    );
  });
  const agent = async (o: Parameters<typeof startTestAgent>[0]) => {
    const a = await startTestAgent(o);
    agents.push(a);
    return a;
  };

  test('a served card is fetched, by its URL or the agent base URL, and hashed', async () => {
    const a = await agent({ skills: [{ id: 'analytics', tags: ['reports'] }], push: false });
    const byCard = await fetchAgentCard(a.cardUrl, fetchOptions);
    const byBase = await fetchAgentCard(a.url, fetchOptions);
    expect(byCard.capabilities).toEqual(['analytics', 'reports']);
    expect(byCard.a2a.interface_url).toBe(`${a.url}/a2a/jsonrpc`);
    expect(byCard.a2a.push_notifications).toBe(false);
    expect(byBase.a2a.card_url).toBe(a.cardUrl);
    expect(byBase.a2a.card_sha256).toMatch(/^[0-9a-f]{64}$/);
    a.setSkills([{ id: 'analytics' }, { id: 'forecasting' }]);
    const changed = await fetchAgentCard(a.cardUrl, fetchOptions);
    expect(changed.a2a.card_sha256).not.toBe(byCard.a2a.card_sha256);
  });

  test('an oversized card is refused (permanent), without reading it all', async () => {
    const a = await agent({ cardPadding: 200 * 1024 });
    await expect(fetchAgentCard(a.cardUrl, fetchOptions)).rejects.toThrow(/larger than 65536 bytes/);
    await expect(fetchAgentCard(a.cardUrl, fetchOptions)).rejects.toBeInstanceOf(AgentCardError);
  });

  test('a malformed card is a permanent error naming the field', async () => {
    const a = await agent({ cardOverride: { name: 'broken', supportedInterfaces: [{ url: 42 }] } });
    const err = await fetchAgentCard(a.cardUrl, fetchOptions).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentCardError);
    expect((err as AgentCardError).path).toBe('agent_card.supportedInterfaces[0].url');
  });

  test('an agent that does not answer in time is retryable; an insecure URL is refused up front', async () => {
    const held: http.ServerResponse[] = [];
    const silent = http.createServer((_req, res) => void held.push(res));
    servers.push(silent);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as AddressInfo).port;
    const err = await fetchAgentCard(`http://127.0.0.1:${port}/card.json`, {
      ...fetchOptions,
      timeoutMs: 200,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentCardUnavailableError);
    expect((err as AgentCardUnavailableError).retryable).toBe(true);
    await expect(fetchAgentCard('http://agents.example/card.json', fetchOptions)).rejects.toBeInstanceOf(
      AgentCardError,
    );
    await expect(fetchAgentCard('ftp://agents.example/card.json', fetchOptions)).rejects.toThrow(
      /must be https/,
    );
  });
});

test('A2A_SECRETS that is not a JSON object fails the start without repeating the value', async () => {
  const err = await createLocalRuntime({
    STORE: 'memory',
    LOG_LEVEL: 'silent',
    A2A_SECRETS: '{"a": sekret',
  }).catch((e: unknown) => e);
  expect((err as Error).message).toMatch(/^invalid configuration: A2A_SECRETS/);
  expect((err as Error).message).not.toContain('sekret');
});
