/**
 * What stands in for credentials when AUTH_TOKEN is off (the default on loopback): a web page
 * in the operator's browser must not be able to drive or read the coordinator.
 *
 * - CSRF: a page can send a cross-site POST without a CORS preflight only with `text/plain`,
 *   a form type or no content type at all. Without a token, POST must carry a JSON media type
 *   (`application/json`, the CloudEvents media types, or `*\/*+json` for a binary-mode
 *   CloudEvent), and a request whose `Origin` is not this server is refused.
 * - DNS rebinding: a page on `attacker.example` re-pointed at 127.0.0.1 is same-origin for the
 *   browser, but its requests still say `Host: attacker.example`. The local server accepts only
 *   the names it is bound to (loopback names and the configured HOST) on its own port.
 */
import type { ApiRequest, ApiResponse } from './api';

/** An HTTP answer decided before the request reaches a route (415, 403, 421, ...). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly reason: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(reason);
    this.name = 'HttpError';
  }
}

export const MEDIA_JSON = 'application/json';
export const MEDIA_CE = 'application/cloudevents+json';
export const MEDIA_CE_BATCH = 'application/cloudevents-batch+json';
/** What `POST /events` takes, as advertised in a 415's `Accept-Post`. */
export const ACCEPTED_POST_TYPES = [MEDIA_JSON, MEDIA_CE, MEDIA_CE_BATCH] as const;

type Headers = ApiRequest['headers'];

function first(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The media type of `Content-Type`, lower-cased and without parameters; undefined when absent. */
export function mediaType(headers: Headers): string | undefined {
  const raw = first(headers, 'content-type');
  if (raw === undefined) return undefined;
  const type = raw.split(';')[0]!.trim().toLowerCase();
  return type === '' ? undefined : type;
}

/** `application/json` or any structured-syntax `+json` type (RFC 6839). */
export function isJsonMediaType(type: string | undefined): boolean {
  return (
    type !== undefined && (type === MEDIA_JSON || /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+\+json$/.test(type))
  );
}

/** True when the request carries binary-mode CloudEvent attributes (`ce-*` headers). */
export function isBinaryCloudEvent(headers: Headers): boolean {
  return first(headers, 'ce-specversion') !== undefined || first(headers, 'ce-id') !== undefined;
}

/** 415 unless a POST declares a media type `POST /events` reads. */
export function checkContentType(req: Pick<ApiRequest, 'headers' | 'method'>): void {
  if (req.method.toUpperCase() !== 'POST') return;
  const type = mediaType(req.headers);
  const accepted =
    (type !== undefined && (ACCEPTED_POST_TYPES as readonly string[]).includes(type)) ||
    (isBinaryCloudEvent(req.headers) && isJsonMediaType(type));
  if (accepted) return;
  throw new HttpError(
    415,
    'unsupported_media_type',
    `${type ? `Content-Type ${type}` : 'a missing Content-Type'} is not accepted: send ${ACCEPTED_POST_TYPES.join(', ')} (or a binary-mode CloudEvent whose content type is JSON)`,
    { 'accept-post': ACCEPTED_POST_TYPES.join(', ') },
  );
}

/**
 * 403 when `Origin` names another site than the one the request was sent to (`Host`). Browsers
 * send `Origin` on every cross-origin fetch and on every POST; same-origin requests (the
 * dashboard served by this server) match `Host`. `Origin: null` (sandboxed frames, files) is
 * refused too.
 */
export function checkOrigin(headers: Headers): void {
  const origin = first(headers, 'origin');
  if (origin === undefined) return;
  const host = first(headers, 'host')?.toLowerCase();
  let originHost: string | undefined;
  try {
    originHost = origin === 'null' ? undefined : new URL(origin).host.toLowerCase();
  } catch {
    originHost = undefined;
  }
  if (originHost !== undefined && host !== undefined && originHost === withoutDefaultPort(host)) return;
  throw new HttpError(
    403,
    'cross_origin_refused',
    `cross-site request refused: Origin ${truncate(origin, 100)} is not this server${host ? ` (${truncate(host, 100)})` : ''}; without AUTH_TOKEN only same-origin browser requests are accepted`,
  );
}

/** `URL.host` drops the scheme's default port; so must the Host header before comparing. */
function withoutDefaultPort(host: string): string {
  return host.endsWith(':80') || host.endsWith(':443') ? host.slice(0, host.lastIndexOf(':')) : host;
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

/** The `Host` values the local server answers to: loopback names and its HOST, on its port. */
export function allowedHosts(boundHost: string, port: number): Set<string> {
  const names = new Set(LOOPBACK_NAMES);
  const configured = boundHost.toLowerCase();
  names.add(configured.includes(':') && !configured.startsWith('[') ? `[${configured}]` : configured);
  const out = new Set<string>();
  for (const name of names) {
    out.add(`${name}:${port}`);
    if (port === 80) out.add(name);
  }
  return out;
}

/** 421 when `Host` is not a name this server is bound to (DNS rebinding). */
export function checkHost(headers: Headers, allowed: ReadonlySet<string>): void {
  const host = first(headers, 'host')?.toLowerCase();
  if (host !== undefined && allowed.has(host)) return;
  throw new HttpError(
    421,
    'misdirected_request',
    `Host ${host === undefined ? '(missing)' : truncate(host, 100)} is not this server: without AUTH_TOKEN it answers only to ${[...allowed].join(', ')}`,
  );
}

export function httpErrorResponse(err: HttpError): ApiResponse {
  return {
    status: err.status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...err.headers },
    body: JSON.stringify({ error: err.error, reason: err.reason }),
  };
}

const truncate = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n)}...` : s);
