/**
 * The dashboard's routes on the local server, as raw handlers (they stream or serve files):
 *   GET /                 the dashboard page (static; holds no data, so it needs no token)
 *   GET /dashboard/*      its script, style sheet and icon
 *   GET /stream           the live feed (server-sent events), authenticated like the API
 *   GET /stats            the statistics as JSON, authenticated like the API
 * With AUTH_TOKEN set, /stream and /stats take `Authorization: Bearer` or `x-api-key`, checked
 * in constant time by the API's own helper; the page sends the token it asks the operator for.
 */
import { existsSync, readFileSync } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { authorized, secretDigest } from '../../http/api';
import type { RawHandler } from '../local-server';
import type { LocalRuntime } from '../local';
import type { LiveFeed } from './feed';

const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard/dashboard.js': { file: 'dashboard.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard/dashboard.css': { file: 'dashboard.css', type: 'text/css; charset=utf-8' },
  '/dashboard/favicon.svg': { file: 'favicon.svg', type: 'image/svg+xml' },
};

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/**
 * Where the dashboard's files are: next to this module in the source tree, or found from a
 * bundle (dist/, .esbuild/) by walking up to the package root.
 */
export function findAssetsDir(start = __dirname): string {
  const direct = path.join(start, 'index.html');
  if (existsSync(direct) && existsSync(path.join(start, 'dashboard.js'))) return start;
  let dir = start;
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'shared', 'runtime', 'dashboard');
    if (existsSync(path.join(candidate, 'index.html'))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error(
    `dashboard files not found from ${start}: expected shared/runtime/dashboard/index.html in the package`,
  );
}

export function dashboardHandlers(
  runtime: LocalRuntime,
  feed: LiveFeed,
  assetsDir = findAssetsDir(),
): RawHandler[] {
  const files = new Map(
    Object.entries(ASSETS).map(([route, a]) => [
      route,
      { body: readFileSync(path.join(assetsDir, a.file)), type: a.type },
    ]),
  );
  const token = runtime.config.AUTH_TOKEN ? secretDigest(runtime.config.AUTH_TOKEN) : undefined;
  const allowed = (req: http.IncomingMessage, res: http.ServerResponse): boolean => {
    if (!token || authorized({ headers: req.headers }, token)) return true;
    sendJson(
      res,
      401,
      {
        error: 'unauthorized',
        reason: 'missing or wrong credentials: send Authorization: Bearer <token> or x-api-key',
      },
      { 'www-authenticate': 'Bearer' },
    );
    return false;
  };

  const staticFiles: RawHandler = (req, res, url) => {
    const file = files.get(url.pathname);
    if (!file || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
    res.writeHead(200, {
      'content-type': file.type,
      'content-length': String(file.body.length),
      'cache-control': 'no-cache',
      ...SECURITY_HEADERS,
    });
    res.end(req.method === 'HEAD' ? undefined : file.body);
    return true;
  };

  const stream: RawHandler = (req, res, url) => {
    if (url.pathname !== '/stream' || req.method !== 'GET') return false;
    if (allowed(req, res)) feed.addClient(req, res);
    return true;
  };

  const stats: RawHandler = (req, res, url) => {
    if (url.pathname !== '/stats' || req.method !== 'GET') return false;
    if (allowed(req, res)) sendJson(res, 200, feed.stats());
    return true;
  };

  return [staticFiles, stream, stats];
}

function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}
