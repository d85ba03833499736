/**
 * Agent Cards: fetching one (bounded in size and time; HTTPS or loopback only unless allowed),
 * validating it, and turning it into what the registry keeps: capabilities from the skills and
 * the A2A endpoint (interface URL, protocol binding, security scheme, push support). The
 * validation and mapping are pure functions; `fetchAgentCard` is the only part that does I/O.
 */
import { createHash } from 'node:crypto';
import { CoordinatorError, errorMessage, RouterError, ValidationError } from '../../core/errors';
import { readBounded } from '../openai/bounded-body';
import type { A2aEndpoint, A2aSecurity } from './endpoint';
import { AgentCardV03, AgentCardV1, issueMessage, issuePath, type SecuritySchemeV1 } from './wire';

/** Where capabilities come from: skill ids, skill tags, or both (the default). */
export type SkillSource = 'ids' | 'tags';

export interface CardPolicy {
  /** Plain `http://` to hosts other than loopback (never for production). */
  allowInsecure: boolean;
  /** Skill fields mapped to capabilities. */
  skillMapping: readonly SkillSource[];
}

export const DEFAULT_CARD_POLICY: CardPolicy = { allowInsecure: false, skillMapping: ['ids', 'tags'] };

/** The bindings the coordinator's client speaks, in the card's order of preference. */
const BINDINGS = ['JSONRPC', 'HTTP+JSON'] as const;

export interface ResolvedCard {
  /** Capabilities from the card's skills (before merging with explicit ones). */
  capabilities: string[];
  a2a: A2aEndpoint;
}

/** Permanent: the card is wrong and will stay wrong; `path` names the field (`skills[2].id`). */
export class AgentCardError extends ValidationError {
  constructor(cardUrl: string, reason: string, path = '') {
    super(`invalid agent card ${cardUrl}: ${reason}`, path ? `agent_card.${path}` : 'agent_card_url');
  }
}

/** Retryable: the card could not be read now (network, 5xx, timeout). */
export class AgentCardUnavailableError extends CoordinatorError {
  override readonly retryable = true;
  override readonly code: string = 'AGENT_CARD_UNAVAILABLE';
}

export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** `https:`, or `http:` to loopback, unless insecure URLs are allowed. Returns the parsed URL. */
export function checkUrl(raw: string, allowInsecure: boolean, what: string, cardUrl = raw, path = ''): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AgentCardError(cardUrl, `${what} is not a URL: ${raw.slice(0, 200)}`, path);
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && (allowInsecure || isLoopbackHost(url.hostname))) return url;
  throw new AgentCardError(
    cardUrl,
    `${what} must be https (or http to loopback; set A2A_ALLOW_INSECURE_URLS=true to allow plain http): ${url.protocol}//${url.host}`,
    path,
  );
}

/** A base URL (`https://agent.example`) names its well-known card; a full card URL is kept. */
export function cardLocation(raw: string): string {
  const url = new URL(raw);
  if (url.pathname === '' || url.pathname === '/') url.pathname = '/.well-known/agent-card.json';
  return url.toString();
}

/** Capabilities from skills: ids and/or tags, trimmed, unique, in card order. */
export function skillCapabilities(
  skills: ReadonlyArray<{ id: string; tags?: string[] | undefined }>,
  mapping: readonly SkillSource[],
): string[] {
  const out: string[] = [];
  for (const s of skills) {
    if (mapping.includes('ids')) out.push(s.id);
    if (mapping.includes('tags')) out.push(...(s.tags ?? []));
  }
  return [...new Set(out.map((c) => c.trim()).filter(Boolean))].slice(0, 256);
}

/** Explicit capabilities first, then the card's, without duplicates. */
export function mergeCapabilities(
  explicit: readonly string[] | undefined,
  fromCard: readonly string[],
): string[] {
  return [...new Set([...(explicit ?? []), ...fromCard])];
}

/**
 * Validates a card (v1.0 `supportedInterfaces`, or v0.3 `url`) and maps it. Throws
 * `AgentCardError` naming the field for anything the coordinator cannot use.
 */
export function parseAgentCard(
  json: unknown,
  cardUrl: string,
  policy: CardPolicy,
  fetchedAt: string,
  sha256: string,
): ResolvedCard {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new AgentCardError(cardUrl, 'the card is not a JSON object');
  }
  const isV1 = 'supportedInterfaces' in json || !('url' in json);
  return isV1
    ? fromV1(json, cardUrl, policy, fetchedAt, sha256)
    : fromV03(json, cardUrl, policy, fetchedAt, sha256);
}

function fromV1(json: object, cardUrl: string, policy: CardPolicy, fetchedAt: string, sha256: string) {
  const parsed = AgentCardV1.safeParse(json);
  if (!parsed.success) throw new AgentCardError(cardUrl, issueMessage(parsed.error), issuePath(parsed.error));
  const card = parsed.data;
  const index = card.supportedInterfaces.findIndex(
    (i) =>
      (BINDINGS as readonly string[]).includes(i.protocolBinding.toUpperCase()) &&
      (!i.protocolVersion || /^(1\.|0\.3)/.test(i.protocolVersion)),
  );
  if (index < 0) {
    throw new AgentCardError(
      cardUrl,
      `supportedInterfaces: no JSONRPC or HTTP+JSON interface of protocol version 1.x or 0.3 (found ${card.supportedInterfaces
        .map((i) => `${i.protocolBinding}@${i.protocolVersion ?? '?'}`)
        .join(', ')})`,
      'supportedInterfaces',
    );
  }
  const chosen = card.supportedInterfaces[index]!;
  const path = `supportedInterfaces[${index}].url`;
  checkUrl(chosen.url, policy.allowInsecure, 'the interface url', cardUrl, path);
  const required = card.securityRequirements?.flatMap((r) => Object.keys(r.schemes ?? {})) ?? [];
  const security = pickScheme(
    cardUrl,
    required,
    Object.entries(card.securitySchemes ?? {}).map(([name, s]) => [name, v1Scheme(name, s)] as const),
  );
  const capabilities = skillCapabilities(card.skills, policy.skillMapping);
  return {
    capabilities,
    a2a: endpoint(cardUrl, card, chosen.url, chosen.protocolBinding, chosen.protocolVersion ?? '1.0', {
      security,
      tenant: chosen.tenant,
      fetchedAt,
      sha256,
      capabilities,
    }),
  };
}

function fromV03(json: object, cardUrl: string, policy: CardPolicy, fetchedAt: string, sha256: string) {
  const parsed = AgentCardV03.safeParse(json);
  if (!parsed.success) throw new AgentCardError(cardUrl, issueMessage(parsed.error), issuePath(parsed.error));
  const card = parsed.data;
  const binding = (card.preferredTransport ?? 'JSONRPC').toUpperCase();
  if (!(BINDINGS as readonly string[]).includes(binding)) {
    throw new AgentCardError(
      cardUrl,
      `preferredTransport: ${card.preferredTransport} is not JSONRPC or HTTP+JSON`,
      'preferredTransport',
    );
  }
  checkUrl(card.url, policy.allowInsecure, 'the interface url', cardUrl, 'url');
  const required = card.security?.flatMap((r) => Object.keys(r)) ?? [];
  const security = pickScheme(
    cardUrl,
    required,
    Object.entries(card.securitySchemes ?? {}).map(
      ([name, s]) =>
        [
          name,
          {
            name,
            type: s.type,
            ...(s.scheme ? { scheme: s.scheme } : {}),
            ...(s.in ? { location: s.in } : {}),
            ...(s.name ? { param_name: s.name } : {}),
          } satisfies A2aSecurity,
        ] as const,
    ),
  );
  const capabilities = skillCapabilities(card.skills, policy.skillMapping);
  return {
    capabilities,
    a2a: endpoint(cardUrl, card, card.url, binding, card.protocolVersion ?? '0.3', {
      security,
      fetchedAt,
      sha256,
      capabilities,
    }),
  };
}

function v1Scheme(name: string, s: SecuritySchemeV1): A2aSecurity | undefined {
  if (s.httpAuthSecurityScheme)
    return { name, type: 'http', scheme: s.httpAuthSecurityScheme.scheme } as const;
  if (s.apiKeySecurityScheme) {
    return {
      name,
      type: 'apiKey',
      location: s.apiKeySecurityScheme.location,
      param_name: s.apiKeySecurityScheme.name,
    } as const;
  }
  if (s.oauth2SecurityScheme) return { name, type: 'oauth2' } as const;
  if (s.openIdConnectSecurityScheme) return { name, type: 'openIdConnect' } as const;
  if (s.mtlsSecurityScheme) return { name, type: 'mutualTLS' } as const;
  return undefined;
}

/**
 * The scheme to authenticate with: the first required one the card describes, else none. A
 * requirement naming a scheme the card does not describe is a card error.
 */
function pickScheme(
  cardUrl: string,
  required: readonly string[],
  schemes: ReadonlyArray<readonly [string, A2aSecurity | undefined]>,
): A2aSecurity | undefined {
  if (required.length === 0) return undefined;
  const byName = new Map(schemes);
  const name = required[0]!;
  const scheme = byName.get(name);
  if (!scheme) {
    throw new AgentCardError(
      cardUrl,
      `securitySchemes: the required scheme "${name}" is not described`,
      `securitySchemes.${name}`,
    );
  }
  return scheme;
}

function endpoint(
  cardUrl: string,
  card: {
    name: string;
    version?: string | undefined;
    capabilities?: { pushNotifications?: boolean | undefined } | undefined;
    skills: Array<{ id: string }>;
  },
  url: string,
  binding: string,
  protocolVersion: string,
  extra: {
    security: A2aSecurity | undefined;
    tenant?: string | undefined;
    fetchedAt: string;
    sha256: string;
    capabilities: string[];
  },
): A2aEndpoint {
  return {
    card_url: cardUrl,
    card_name: card.name,
    ...(card.version ? { card_version: card.version } : {}),
    card_sha256: extra.sha256,
    fetched_at: extra.fetchedAt,
    card_capabilities: extra.capabilities,
    interface_url: url,
    protocol_binding: binding.toUpperCase() === 'HTTP+JSON' ? 'HTTP+JSON' : 'JSONRPC',
    protocol_version: /^0\.3/.test(protocolVersion) ? '0.3' : '1.0',
    ...(extra.tenant ? { tenant: extra.tenant } : {}),
    ...(extra.security ? { security: extra.security } : {}),
    push_notifications: card.capabilities?.pushNotifications === true,
    skills: card.skills.map((s) => s.id).slice(0, 256),
  };
}

// ---------------------------------------------------------------- fetching

export interface CardFetchOptions extends CardPolicy {
  timeoutMs: number;
  maxBytes: number;
  fetch?: typeof fetch;
  now?: () => number;
}

export const DEFAULT_CARD_FETCH: Omit<CardFetchOptions, keyof CardPolicy> = {
  timeoutMs: 5000,
  maxBytes: 64 * 1024,
};

/** Reads at most `maxBytes` of a body; past it the body is cancelled and `undefined` returned. */
export async function readCapped(res: Response, maxBytes: number): Promise<string | undefined> {
  try {
    return (await readBounded(res, maxBytes, 'a2a')).text;
  } catch (err) {
    // The bounded reader's only own failure: the reply passed the cap.
    if (err instanceof RouterError) return undefined;
    throw err;
  }
}

/**
 * Fetches and validates the card at `rawUrl` (a card URL, or an agent's base URL). Permanent
 * `AgentCardError` for a bad URL, an oversized or malformed card, a 4xx; retryable
 * `AgentCardUnavailableError` for a timeout, a network error or a 5xx.
 */
export async function fetchAgentCard(rawUrl: string, options: CardFetchOptions): Promise<ResolvedCard> {
  checkUrl(rawUrl, options.allowInsecure, 'agent_card_url');
  const url = cardLocation(rawUrl);
  const doFetch = options.fetch ?? fetch;
  const signal = AbortSignal.timeout(options.timeoutMs);
  let text: string | undefined;
  try {
    const res = await doFetch(url, {
      headers: { accept: 'application/json, application/a2a+json', 'A2A-Version': '1.0' },
      redirect: 'error',
      signal,
    });
    if (res.status >= 500 || res.status === 429) {
      await res.body?.cancel().catch(() => undefined);
      throw new AgentCardUnavailableError(`agent card ${url}: HTTP ${res.status}`);
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      throw new AgentCardError(url, `HTTP ${res.status}`);
    }
    text = await readCapped(res, options.maxBytes);
  } catch (err) {
    if (err instanceof CoordinatorError) throw err;
    const reason = signal.aborted ? `no answer within ${options.timeoutMs} ms` : errorMessage(err);
    throw new AgentCardUnavailableError(`agent card ${url}: ${reason}`, { cause: err });
  }
  if (text === undefined) throw new AgentCardError(url, `the card is larger than ${options.maxBytes} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new AgentCardError(url, `the card is not JSON: ${errorMessage(err)}`);
  }
  const sha256 = createHash('sha256').update(text).digest('hex');
  const now = options.now ?? Date.now;
  return parseAgentCard(json, url, options, new Date(now()).toISOString(), sha256);
}
