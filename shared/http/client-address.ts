/**
 * The caller's address as the platform saw it, for rate limiting when no credential identifies
 * the caller. Only what the platform writes counts: a client can put anything in the first
 * `X-Forwarded-For` entry, but not in what a front end appends or overwrites.
 *
 * - Azure Functions: `HttpRequest` carries no peer address. The App Service front end sets
 *   `client-ip` (`ip:port`) and overwrites any value a client sent; it also appends the same
 *   address as the last `X-Forwarded-For` entry. `x-azure-clientip` is Front Door's and is not
 *   used: without Front Door in front, a client can send it.
 * - Cloud Run / Cloud Functions (2nd gen): Google's front end adds the client address as the
 *   right-most `X-Forwarded-For` entry. The functions framework's `req.ip` (express with
 *   `trust proxy`) is the left-most, client-written one, so it is not used.
 */
import { isIP } from 'node:net';

type Headers = Record<string, string | string[] | undefined>;

function headerValue(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/** The right-most entry of `X-Forwarded-For` (all its header lines joined), port dropped. */
export function rightmostForwardedFor(headers: Headers): string | undefined {
  const raw = headerValue(headers, 'x-forwarded-for');
  if (!raw) return undefined;
  const entries = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const last = entries[entries.length - 1];
  return last ? stripPort(last) : undefined;
}

/** Azure: the front end's `client-ip`, else the last `X-Forwarded-For` entry. */
export function azureClientAddress(headers: Headers): string | undefined {
  const clientIp = headerValue(headers, 'client-ip')?.split(',')[0]?.trim();
  return clientIp ? stripPort(clientIp) : rightmostForwardedFor(headers);
}

/** GCP: the right-most `X-Forwarded-For` entry, else the socket's peer. */
export function gcpClientAddress(headers: Headers, socketAddress?: string): string | undefined {
  return rightmostForwardedFor(headers) ?? socketAddress;
}

/** `1.2.3.4:5678` -> `1.2.3.4`, `[::1]:80` -> `::1`; a bare IPv6 address is left alone. */
export function stripPort(address: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (bracketed) return bracketed[1]!;
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(address);
  return v4 ? v4[1]! : address;
}

/**
 * The rate limit's key for an address: IPv4 (also IPv4-mapped IPv6) as is; other IPv6
 * addresses by their /64, the block one subscriber gets, so rotating through it is one caller.
 */
export function addressKey(address: string | undefined): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (isIP(address) !== 6) return address;
  return `${expandIpv6(address).slice(0, 4).join(':')}::/64`;
}

function expandIpv6(address: string): string[] {
  const [head, tail] = address.toLowerCase().split('%')[0]!.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...fill, ...right].map((h) => h.replace(/^0+(?=.)/, ''));
}
