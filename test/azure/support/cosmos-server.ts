/**
 * A local server speaking the subset of the Cosmos DB REST protocol (gateway mode) that
 * `CosmosStateStore` uses, so the real `@azure/cosmos` client can be tested without Azure:
 *
 * - `GET /`: the database account (the client's endpoint discovery)
 * - `GET /dbs/{db}/colls/{coll}`: the container (its partition key definition)
 * - `POST .../docs`: create (409 if the id exists in the partition) or query
 *   (`x-ms-documentdb-isquery`), with `x-ms-documentdb-partitionkey`
 * - `GET|PUT .../docs/{id}`: read (404) and replace (`If-Match`: 412 on a stale ETag)
 * - `PATCH .../docs/{id}`: partial document update, body `{ condition?, operations }` (or the bare
 *   array of operations, as the client sends one it was given): 404 on no document, 412 on a stale
 *   `If-Match` or when the condition (`FROM c WHERE ...`, `cosmos-predicate.ts`) does not select
 *   the document, 400 on a malformed body, a condition outside the supported subset or an
 *   operation that cannot apply (`cosmos-patch.ts`); all operations apply or none. Like the
 *   other writes it answers with the stored document and its new ETag.
 *
 * Every request's master-key signature is verified (401 otherwise), ETags change on each write,
 * and faults can be injected (`failNext`). Queries are parsed from a small SQL subset:
 * `SELECT [TOP n] * FROM c WHERE c.f <op> v [AND ...] [ORDER BY c.f [ASC|DESC]]` with `op` one of
 * `= != < <= > >=`, compared as Cosmos DB does: a missing property or values of different types
 * compare as undefined, so the document is not selected (strings compare ordinally).
 * `documentsRead` counts the documents each read and query returned (what its RU charge grows with).
 */
import { createHmac, randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { applyOperations, PatchError, validateOperations } from './cosmos-patch';
import { parsePredicate, PredicateError, selects, type Expr } from './cosmos-predicate';

type Doc = Record<string, unknown> & { id: string };

export interface CosmosServerOptions {
  key?: string;
  /** An Entra ID access token the server accepts (`type=aad`), as for a managed identity. */
  aadToken?: string;
  /** Serve HTTPS with this key and certificate (the SDK sends bearer tokens only over TLS). */
  tls?: { key: string; cert: string };
  database?: string;
  container?: string;
}

export interface Fault {
  status: number;
  /** Which requests fail: a predicate on method and path (default all). */
  match?: (method: string, path: string) => boolean;
  headers?: Record<string, string>;
}

export class CosmosTestServer {
  readonly key: string;
  readonly aadToken: string | undefined;
  private readonly tls: { key: string; cert: string } | undefined;
  readonly database: string;
  readonly container: string;
  private readonly partitionKeyPath = '/pk';
  /** partition key value -> id -> document */
  readonly partitions = new Map<string, Map<string, Doc>>();
  /** Every request: its partition key, a query's or patch's body, and the status answered. */
  readonly requests: Array<{
    method: string;
    path: string;
    partitionKey?: string;
    query?: string;
    patch?: string;
    status?: number;
  }> = [];
  private faults: Array<Fault & { remaining: number }> = [];
  private etagSeq = 0;
  /** Documents returned by point reads and queries since the last reset. */
  documentsRead = 0;
  private server?: http.Server;
  endpoint = '';

  constructor(options: CosmosServerOptions = {}) {
    this.key = options.key ?? Buffer.from('local-cosmos-test-key-0123456789').toString('base64');
    this.aadToken = options.aadToken;
    this.tls = options.tls;
    this.database = options.database ?? 'agent-coordinator';
    this.container = options.container ?? 'state';
  }

  async start(): Promise<this> {
    const handler: http.RequestListener = (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          this.handle(req, Buffer.concat(chunks).toString('utf8'), res);
        } catch (err) {
          send(res, 500, { code: 'InternalServerError', message: (err as Error).message });
        }
      });
    };
    this.server = this.tls ? https.createServer(this.tls, handler) : http.createServer(handler);
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.endpoint = `${this.tls ? 'https' : 'http'}://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** The next `count` matching requests fail with `status` (429, 503, ...). */
  failNext(count: number, fault: Fault): void {
    this.faults.push({ ...fault, remaining: count });
  }

  clearFaults(): void {
    this.faults = [];
  }

  reset(): void {
    this.partitions.clear();
    this.requests.length = 0;
    this.documentsRead = 0;
    this.clearFaults();
  }

  documents(): Doc[] {
    return [...this.partitions.values()].flatMap((p) => [...p.values()]);
  }

  // ------------------------------------------------------------------ protocol

  private handle(req: http.IncomingMessage, body: string, res: http.ServerResponse): void {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://x');
    const segments = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const header = (name: string) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    const pkHeader = header('x-ms-documentdb-partitionkey');
    const partitionKey = pkHeader ? (JSON.parse(pkHeader) as unknown[])[0] : undefined;
    const entry: (typeof this.requests)[number] = {
      method,
      path: url.pathname,
      ...(typeof partitionKey === 'string' ? { partitionKey } : {}),
      ...(header('x-ms-documentdb-isquery') ? { query: body } : {}),
      ...(method === 'PATCH' ? { patch: body } : {}),
    };
    this.requests.push(entry);
    this.respond(method, url, segments, header, partitionKey, body, res);
    entry.status = res.statusCode;
  }

  private respond(
    method: string,
    url: URL,
    segments: string[],
    header: (name: string) => string | undefined,
    partitionKey: unknown,
    body: string,
    res: http.ServerResponse,
  ): void {
    const { resourceType, resourceLink } = resourceOf(segments);
    if (!this.authorized(method, resourceType, resourceLink, header('authorization'), header('x-ms-date'))) {
      return send(res, 401, {
        code: 'Unauthorized',
        message: "The input authorization token can't serve the request.",
      });
    }
    const fault = this.faults.find((f) => f.remaining > 0 && (!f.match || f.match(method, url.pathname)));
    if (fault) {
      fault.remaining -= 1;
      return send(
        res,
        fault.status,
        {
          code: fault.status === 429 ? 'TooManyRequests' : 'ServiceUnavailable',
          message: `injected fault ${fault.status}`,
        },
        fault.headers,
      );
    }

    if (segments.length === 0) return send(res, 200, this.account());
    const [dbs, db, colls, coll, docs, id] = segments;
    if (dbs !== 'dbs' || colls !== 'colls' || db !== this.database || coll !== this.container) {
      return send(res, 404, { code: 'NotFound', message: `Resource Not Found: ${url.pathname}` });
    }
    if (segments.length === 4 && method === 'GET') return send(res, 200, this.containerResource());
    if (docs !== 'docs') return send(res, 404, { code: 'NotFound', message: 'Resource Not Found' });
    if (typeof partitionKey !== 'string') {
      return send(res, 400, {
        code: 'BadRequest',
        message: 'x-ms-documentdb-partitionkey is required by this server',
      });
    }
    const partition = this.partition(partitionKey);

    if (id === undefined && method === 'POST') {
      if (header('x-ms-cosmos-is-query-plan-request')) {
        // The client asks for a plan in parallel but only uses it for cross-partition queries.
        return send(res, 400, {
          code: 'BadRequest',
          message: 'query plans are not served by this test server',
        });
      }
      if (header('x-ms-documentdb-isquery') === 'true')
        return this.query(
          partition,
          body,
          Number(header('x-ms-max-item-count') ?? -1),
          header('x-ms-continuation'),
          res,
        );
      const doc = JSON.parse(body) as Doc;
      if (doc.pk !== partitionKey)
        return send(res, 400, {
          code: 'BadRequest',
          message: "PartitionKey extracted from document doesn't match the one specified in the header",
        });
      if (partition.has(doc.id))
        return send(res, 409, {
          code: 'Conflict',
          message: 'Entity with the specified id already exists in the system.',
        });
      const stored = this.stamp(doc);
      partition.set(doc.id, stored);
      return send(res, 201, stored, { etag: stored._etag as string });
    }
    if (id !== undefined && method === 'GET') {
      const doc = partition.get(id);
      if (!doc)
        return send(res, 404, {
          code: 'NotFound',
          message: 'Entity with the specified id does not exist in the system.',
        });
      this.documentsRead += 1;
      return send(res, 200, doc, { etag: doc._etag as string });
    }
    if (id !== undefined && method === 'PUT') {
      const current = partition.get(id);
      if (!current)
        return send(res, 404, {
          code: 'NotFound',
          message: 'Entity with the specified id does not exist in the system.',
        });
      const ifMatch = header('if-match');
      if (ifMatch && ifMatch !== current._etag) {
        return send(res, 412, {
          code: 'PreconditionFailed',
          message: 'Operation cannot be performed because one of the specified precondition is not met.',
        });
      }
      const doc = JSON.parse(body) as Doc;
      if (doc.id !== id || doc.pk !== partitionKey)
        return send(res, 400, { code: 'BadRequest', message: 'id or partition key changed' });
      const stored = this.stamp(doc);
      partition.set(id, stored);
      return send(res, 200, stored, { etag: stored._etag as string });
    }
    if (id !== undefined && method === 'PATCH')
      return this.patch(partition, id, body, header('if-match'), res);
    return send(res, 405, { code: 'MethodNotAllowed', message: `${method} ${url.pathname}` });
  }

  private query(
    partition: Map<string, Doc>,
    body: string,
    maxItems: number,
    continuation: string | undefined,
    res: http.ServerResponse,
  ): void {
    const spec = JSON.parse(body) as { query: string; parameters?: Array<{ name: string; value: unknown }> };
    let parsed: ParsedQuery;
    try {
      parsed = parseQuery(spec.query, new Map((spec.parameters ?? []).map((p) => [p.name, p.value])));
    } catch (err) {
      return send(res, 400, { code: 'BadRequest', message: (err as Error).message });
    }
    let rows = [...partition.values()].filter((d) =>
      parsed.where.every(([field, op, value]) => matches(d[field], op, value)),
    );
    if (parsed.orderBy) {
      const [field, dir] = parsed.orderBy;
      rows.sort((a, b) => compare(a[field], b[field]) * (dir === 'DESC' ? -1 : 1));
    }
    if (parsed.top !== undefined) rows = rows.slice(0, parsed.top);
    const start = continuation ? Number(continuation) : 0;
    const end = maxItems > 0 ? start + maxItems : rows.length;
    const page = rows.slice(start, end);
    this.documentsRead += page.length;
    const headers: Record<string, string> = { 'x-ms-item-count': String(page.length) };
    if (end < rows.length) headers['x-ms-continuation'] = String(end);
    send(res, 200, { _rid: 'local', Documents: page, _count: page.length }, headers);
  }

  /** Patch Document: the body is checked first, then the document, its ETag and the condition. */
  private patch(
    partition: Map<string, Doc>,
    id: string,
    body: string,
    ifMatch: string | undefined,
    res: http.ServerResponse,
  ): void {
    const badRequest = (message: string) => send(res, 400, { code: 'BadRequest', message });
    let operations: ReturnType<typeof validateOperations>;
    let condition: Expr | undefined;
    try {
      const spec = JSON.parse(body) as unknown;
      const request = (Array.isArray(spec) ? { operations: spec } : spec) as {
        operations?: unknown;
        condition?: unknown;
      } | null;
      if (request === null || typeof request !== 'object')
        return badRequest('Invalid patch request: check syntax of patch specification');
      operations = validateOperations(request.operations, this.partitionKeyPath);
      if (request.condition !== undefined) {
        if (typeof request.condition !== 'string')
          return badRequest('Invalid patch request: condition must be a string');
        condition = parsePredicate(request.condition);
      }
    } catch (err) {
      if (err instanceof SyntaxError) return badRequest(`Invalid patch request: ${err.message}`);
      if (err instanceof PatchError) return badRequest(err.message);
      if (err instanceof PredicateError)
        return badRequest(`Invalid patch request: condition not supported: ${err.message}`);
      throw err;
    }
    const current = partition.get(id);
    if (!current)
      return send(res, 404, {
        code: 'NotFound',
        message: 'Entity with the specified id does not exist in the system.',
      });
    if ((ifMatch && ifMatch !== current._etag) || (condition && !selects(condition, current)))
      return send(res, 412, {
        code: 'PreconditionFailed',
        message: 'One of the specified pre-condition is not met.',
      });
    let patched: Doc;
    try {
      patched = applyOperations(current, operations);
    } catch (err) {
      if (err instanceof PatchError) return badRequest(err.message);
      throw err;
    }
    const stored = this.stamp(patched);
    partition.set(id, stored);
    send(res, 200, stored, { etag: stored._etag as string });
  }

  private partition(value: string): Map<string, Doc> {
    let p = this.partitions.get(value);
    if (!p) this.partitions.set(value, (p = new Map()));
    return p;
  }

  private stamp(doc: Doc): Doc {
    this.etagSeq += 1;
    const rid = Buffer.from(`${doc.pk}/${doc.id}`).toString('base64');
    return {
      ...doc,
      _rid: rid,
      _self: `dbs/${this.database}/colls/${this.container}/docs/${rid}/`,
      _etag: `"${this.etagSeq.toString(16).padStart(8, '0')}-${randomUUID()}"`,
      _attachments: 'attachments/',
      _ts: Math.floor(Date.now() / 1000),
    };
  }

  private authorized(
    method: string,
    type: string,
    link: string,
    auth: string | undefined,
    date: string | undefined,
  ): boolean {
    if (!auth) return false;
    // `type=master&ver=1.0&sig=<base64>`, URL-encoded as a whole (the signature may hold '+').
    const params = new Map(
      decodeURIComponent(auth)
        .split('&')
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as const),
    );
    // Entra ID: `type=aad&ver=1.0&sig=<access token>`.
    if (params.get('type') === 'aad')
      return this.aadToken !== undefined && params.get('sig') === this.aadToken;
    if (params.get('type') !== 'master' || !date) return false;
    const payload = `${method.toLowerCase()}\n${type.toLowerCase()}\n${link}\n${date.toLowerCase()}\n\n`;
    const expected = createHmac('sha256', Buffer.from(this.key, 'base64')).update(payload).digest('base64');
    return params.get('sig') === expected;
  }

  private account(): Record<string, unknown> {
    const location = [{ name: 'Local', databaseAccountEndpoint: `${this.endpoint}/` }];
    return {
      _self: '',
      id: 'local',
      _rid: 'local.documents.azure.com',
      writableLocations: location,
      readableLocations: location,
      enableMultipleWriteLocations: false,
      userConsistencyPolicy: { defaultConsistencyLevel: 'Session' },
      systemReplicationPolicy: { minReplicaSetSize: 1, maxReplicasetSize: 1 },
      readPolicy: { primaryReadCoefficient: 1, secondaryReadCoefficient: 1 },
      queryEngineConfiguration: '{}',
    };
  }

  private containerResource(): Record<string, unknown> {
    return {
      id: this.container,
      _rid: 'local-coll',
      _self: `dbs/${this.database}/colls/${this.container}/`,
      partitionKey: { paths: [this.partitionKeyPath], kind: 'Hash', version: 2 },
      defaultTtl: -1,
      indexingPolicy: {
        indexingMode: 'consistent',
        automatic: true,
        includedPaths: [{ path: '/*' }],
        excludedPaths: [],
      },
    };
  }
}

/** The resource type and link the master-key signature covers. */
function resourceOf(segments: string[]): { resourceType: string; resourceLink: string } {
  if (segments.length === 0) return { resourceType: '', resourceLink: '' };
  // A resource (dbs/x/colls/y/docs/z) is signed with its own link, a feed (.../docs) with its parent's.
  if (segments.length % 2 === 0)
    return { resourceType: segments[segments.length - 2]!, resourceLink: segments.join('/') };
  return { resourceType: segments[segments.length - 1]!, resourceLink: segments.slice(0, -1).join('/') };
}

interface ParsedQuery {
  top?: number;
  where: Array<[string, Operator, unknown]>;
  orderBy?: [string, 'ASC' | 'DESC'];
}

function parseQuery(sql: string, params: Map<string, unknown>): ParsedQuery {
  const m =
    /^\s*SELECT\s+(?:TOP\s+(@\w+|\d+)\s+)?\*\s+FROM\s+c(?:\s+WHERE\s+(.+?))?(?:\s+ORDER\s+BY\s+c\.(\w+)(?:\s+(ASC|DESC))?)?\s*$/i.exec(
      sql,
    );
  if (!m) throw new Error(`Syntax not supported by the test server: ${sql}`);
  const value = (token: string): unknown => {
    if (token.startsWith('@')) {
      if (!params.has(token)) throw new Error(`parameter ${token} is not defined`);
      return params.get(token);
    }
    if (/^'.*'$/.test(token)) return token.slice(1, -1);
    if (/^-?\d+(\.\d+)?$/.test(token)) return Number(token);
    throw new Error(`unsupported value ${token}`);
  };
  const where: Array<[string, Operator, unknown]> = [];
  if (m[2]) {
    for (const cond of m[2].split(/\s+AND\s+/i)) {
      const c = /^c\.(\w+)\s*(=|!=|<=|>=|<|>)\s*(@\w+|'[^']*'|-?\d+)$/.exec(cond.trim());
      if (!c) throw new Error(`unsupported condition ${cond}`);
      where.push([c[1]!, c[2] as Operator, value(c[3]!)]);
    }
  }
  const out: ParsedQuery = { where };
  if (m[1]) out.top = Number(value(m[1]));
  if (m[3]) out.orderBy = [m[3], (m[4]?.toUpperCase() as 'ASC' | 'DESC') ?? 'ASC'];
  return out;
}

type Operator = '=' | '!=' | '<' | '<=' | '>' | '>=';

/**
 * A WHERE comparison as Cosmos DB evaluates it: equality is false across types; an ordering
 * comparison of a missing property or of values of different types is undefined (not selected).
 */
function matches(actual: unknown, op: Operator, expected: unknown): boolean {
  if (op === '=') return actual === expected;
  if (actual === undefined) return false;
  if (op === '!=') return actual !== expected;
  if (typeof actual !== typeof expected || (typeof actual !== 'string' && typeof actual !== 'number'))
    return false;
  const a = actual as string | number;
  const b = expected as string | number;
  return op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : a >= b;
}

function compare(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  return String(a) < String(b) ? -1 : 1;
}

function send(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'x-ms-request-charge': '1',
    'x-ms-activity-id': randomUUID(),
    'x-ms-session-token': '0:1#1',
    ...headers,
    'content-length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}
