/**
 * The test server's Patch Document, through the real @azure/cosmos client: what the Cosmos
 * store's atomic slot changes rely on (conditional patch, 412, 400, ETags), and the filter
 * predicate's parser and three-valued logic on their own.
 */
import { CosmosClient, ErrorResponse, type Container, type PatchOperation } from '@azure/cosmos';
import { applyOperations, PatchError, validateOperations } from './support/cosmos-patch';
import { parsePredicate, PredicateError, selects } from './support/cosmos-predicate';
import { CosmosTestServer } from './support/cosmos-server';

const server = new CosmosTestServer();
let client: CosmosClient;
let container: Container;

beforeAll(async () => {
  await server.start();
  client = new CosmosClient({ endpoint: server.endpoint, key: server.key });
  container = client.database(server.database).container(server.container);
});
afterAll(async () => {
  client?.dispose();
  await server.stop();
});
beforeEach(() => server.reset());

const seed = async () => {
  const { resource } = await container.items.create({
    id: 'doc',
    pk: 'p',
    n: 1,
    tags: ['a', 'b'],
    nested: { 'odd/name': 'x', deep: { s: 'it\'s "quoted"' } },
  });
  return resource!;
};
const item = () => container.item('doc', 'p');
const statusOf = (err: unknown) => (err as ErrorResponse).code;
const patchFails = async (body: Parameters<ReturnType<typeof item>['patch']>[0]) => {
  const err = await item()
    .patch(body)
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ErrorResponse);
  return err as ErrorResponse;
};

describe('PATCH on the Cosmos-protocol test server', () => {
  test('operations apply in order, answer the stored document with a new ETag, and are signed like any write', async () => {
    const created = await seed();
    const response = await item().patch({
      condition: 'FROM c WHERE c.n = 1 AND ARRAY_CONTAINS(c.tags, "b")',
      operations: [
        { op: 'add', path: '/tags/-', value: 'c' },
        { op: 'add', path: '/tags/0', value: 'first' },
        { op: 'incr', path: '/n', value: 41 },
        { op: 'incr', path: '/counter', value: -1 },
        { op: 'set', path: '/nested/odd~1name', value: 'y' },
        { op: 'replace', path: '/nested/deep/s', value: 'plain' },
        { op: 'remove', path: '/tags/2' },
        { op: 'set', path: '/tags/1', value: 'A' },
      ],
    });
    expect(response.statusCode).toBe(200);
    expect(response.resource).toMatchObject({
      id: 'doc',
      n: 42,
      counter: -1,
      tags: ['first', 'A', 'c'],
      nested: { 'odd/name': 'y', deep: { s: 'plain' } },
    });
    expect(response.etag).toBe(response.resource!._etag);
    expect(response.etag).not.toBe(created._etag);
    const { resource: read } = await item().read();
    expect(read).toEqual(response.resource);
    expect(server.requests.at(-2)).toMatchObject({ method: 'PATCH', partitionKey: 'p', status: 200 });
  });

  test('the bare array of operations (what the client sends when given one) is accepted', async () => {
    await seed();
    const { resource } = await item().patch([{ op: 'set', path: '/n', value: 7 }]);
    expect(resource).toMatchObject({ n: 7 });
    expect(JSON.parse(server.requests.at(-1)!.patch!)).toEqual([{ op: 'set', path: '/n', value: 7 }]);
  });

  test('a condition that does not select the document, or a stale If-Match, is 412 and changes nothing', async () => {
    const created = await seed();
    const before = server.documents()[0];
    for (const condition of [
      'FROM c WHERE c.n = 2',
      'FROM c WHERE NOT ARRAY_CONTAINS(c.tags, "a")',
      'FROM c WHERE c.missing = 1 OR c.n < 1',
      // undefined is not false: NOT of a comparison across types is still undefined
      "FROM c WHERE NOT (c.n = '1')",
      'FROM c WHERE c.tags[2] = "b"',
    ]) {
      const err = await patchFails({ condition, operations: [{ op: 'incr', path: '/n', value: 1 }] });
      expect([condition, statusOf(err)]).toEqual([condition, 412]);
    }
    await item().patch({ operations: [{ op: 'incr', path: '/n', value: 1 }] });
    const stale = await item()
      .patch([{ op: 'incr', path: '/n', value: 1 }], {
        accessCondition: { type: 'IfMatch', condition: created._etag },
      })
      .catch((e: unknown) => e);
    expect(statusOf(stale)).toBe(412);
    expect(server.documents()[0]).toMatchObject({ n: 2 });
    expect(before).toMatchObject({ n: 1 });
  });

  test('a condition that selects the document lets the patch through', async () => {
    await seed();
    for (const condition of [
      'FROM c WHERE c.tags[1] = "b" AND c.n <= 1 AND c.n >= 1 AND c.n != 2',
      'from products p where p.nested["odd/name"] = \'x\' and not is_defined(p.nope)',
      "FROM c WHERE c.nested.deep.s = 'it\\'s \\\"quoted\\\"' OR c.n > 100",
      'FROM c AS d WHERE (d.n < 0 OR d.n = 1) AND d.n <> 3',
    ]) {
      const { statusCode } = await item().patch({
        condition,
        operations: [{ op: 'set', path: '/ok', value: true }],
      });
      expect([condition, statusCode]).toEqual([condition, 200]);
    }
  });

  test('malformed operations are 400 and change nothing', async () => {
    await seed();
    const eleven: PatchOperation[] = Array.from({ length: 11 }, (_, i) => ({
      op: 'set',
      path: `/f${i}`,
      value: i,
    }));
    const cases: Array<[PatchOperation[], RegExp]> = [
      [eleven, /can't exceed 10/],
      [[], /non-empty/],
      [[{ op: 'move', path: '/n', value: 1 } as unknown as PatchOperation], /unknown op/],
      [[{ op: 'set', path: 'n', value: 1 }], /JSON pointer/],
      [[{ op: 'incr', path: '/n', value: '1' }], /needs a number/],
      [[{ op: 'incr', path: '/tags', value: 1 }], /is not a number/],
      [[{ op: 'set', path: '/_etag', value: 'x' }], /system property/],
      [[{ op: 'set', path: '/pk', value: 'q' }], /pk can't be patched/],
      [[{ op: 'set', path: '/id', value: 'other' }], /id can't be patched/],
      [[{ op: 'remove', path: '/absent' }], /absent/],
      [[{ op: 'replace', path: '/absent', value: 1 }], /absent/],
      [[{ op: 'add', path: '/a/b', value: 1 }], /can't create path recursively/],
      [[{ op: 'add', path: '/tags/3', value: 'x' }], /out of array bounds/],
      [[{ op: 'remove', path: '/tags/2' }], /out of array bounds/],
      [[{ op: 'set', path: '/nested/bad~2escape', value: 1 }], /bad escape/],
      // The first operation is valid: all of them apply or none.
      [
        [
          { op: 'set', path: '/n', value: 99 },
          { op: 'remove', path: '/tags/5' },
        ],
        /out of array bounds/,
      ],
    ];
    for (const [operations, message] of cases) {
      const err = await patchFails({ operations });
      expect([operations, statusOf(err)]).toEqual([operations, 400]);
      expect(err.message).toMatch(message);
    }
    expect(server.documents()[0]).toMatchObject({ n: 1, tags: ['a', 'b'] });
  });

  test('a condition outside the supported subset is 400, never a silent match or mismatch', async () => {
    await seed();
    for (const [condition, message] of [
      ['SELECT c FROM c WHERE c.n = 1', /expected FROM/],
      ['FROM c WHERE c.n = 1 AND c.s = *', /unexpected character '\*'/],
      ['FROM c WHERE', /expected an operand/],
      ['FROM c WHERE c.n = 1 AND', /expected an operand/],
      ['FROM c WHERE c.n = 1 trailing', /expected the end of the condition/],
      ['FROM c WHERE x.n = 1', /identifier 'x' could not be resolved/],
      ['FROM c WHERE STARTSWITH(c.id, "d")', /function STARTSWITH .* not supported/],
      ['FROM c WHERE ARRAY_CONTAINS(c.tags, "a", true)', /takes 2 argument/],
      ['FROM c WHERE c.n + 1 = 2', /unexpected character '\+'/],
      ['FROM c WHERE c.n - 1 = 0', /expected the end/],
      ['FROM c WHERE c.n IN (1, 2)', /expected the end/],
      ['FROM c WHERE 0 < c.n < 2', /chained comparison/],
      ["FROM c WHERE c.id = 'unterminated", /unterminated string/],
      ["FROM c WHERE c.id = 'bad \\q escape'", /bad escape/],
      ['FROM c WHERE c.n = 1; DROP', /unexpected character ';'/],
      ['FROM c WHERE c.tags[-1] = "a"', /array index/],
    ] as const) {
      const err = await patchFails({ condition, operations: [{ op: 'set', path: '/n', value: 5 }] });
      expect([condition, statusOf(err)]).toEqual([condition, 400]);
      expect(err.message).toMatch(message);
    }
    const notAString = await patchFails({
      condition: 42 as unknown as string,
      operations: [{ op: 'set', path: '/n', value: 5 }],
    });
    expect(statusOf(notAString)).toBe(400);
    expect(server.documents()[0]).toMatchObject({ n: 1 });
  });

  test('a patch of a missing document is 404, a body checked before the document', async () => {
    const missing = await patchFails([{ op: 'set', path: '/n', value: 1 }]);
    expect(statusOf(missing)).toBe(404);
    const bad = await patchFails({ condition: 'FROM c WHERE nope(', operations: [] });
    expect(statusOf(bad)).toBe(400);
  });
});

describe('filter predicate and operations, on their own', () => {
  const doc = { s: 'x', n: 2, b: true, z: null, arr: [1, 'two', { k: [3] }], o: { k: 1 } };
  const is = (condition: string) => selects(parsePredicate(condition), doc);

  test('three-valued logic: only true selects', () => {
    expect(is('FROM c WHERE c.n = 2')).toBe(true);
    expect(is('FROM c WHERE c.n = "2"')).toBe(false); // undefined across types
    expect(is('FROM c WHERE NOT c.n = "2"')).toBe(false); // NOT undefined is undefined
    expect(is('FROM c WHERE c.n = "2" OR c.s = \'x\'')).toBe(true);
    expect(is('FROM c WHERE c.n = "2" AND c.s = \'y\'')).toBe(false);
    expect(is('FROM c WHERE NOT (c.n = "2" AND c.s = \'y\')')).toBe(true); // undefined AND false is false
    expect(is('FROM c WHERE c.o = 1 OR c.z = null')).toBe(true);
    expect(is('FROM c WHERE c.arr != c.arr')).toBe(false); // ordering operators on arrays: undefined
    expect(is('FROM c WHERE c.arr[2].k[0] = 3 AND c.arr[1] = "two"')).toBe(true);
    expect(is('FROM c WHERE ARRAY_CONTAINS(c.arr, 1) AND NOT ARRAY_CONTAINS(c.arr, "1")')).toBe(true);
    expect(is('FROM c WHERE NOT ARRAY_CONTAINS(c.o, 1)')).toBe(false); // not an array: undefined
    expect(is('FROM c WHERE c.b')).toBe(true);
    expect(is('FROM c WHERE c.s')).toBe(false); // a string is not true
    expect(is('FROM c WHERE c.n > -1 AND c.n < 0x10 AND c.n >= 2e0')).toBe(true);
    expect(is('FROM c WHERE IS_DEFINED(c.o.k) AND NOT IS_DEFINED(c.o.nope)')).toBe(true);
    expect(is('FROM c WHERE c.s = "\\u0078"')).toBe(true);
  });

  test('precedence: NOT binds tighter than AND, AND tighter than OR', () => {
    expect(is('FROM c WHERE c.n = 1 AND c.n = 5 OR c.s = "x"')).toBe(true);
    expect(is('FROM c WHERE c.n = 1 AND (c.n = 5 OR c.s = "x")')).toBe(false);
    expect(is('FROM c WHERE NOT c.n = 1 AND c.s = "x"')).toBe(true);
  });

  test('any id encoded as a JSON string is one constant', () => {
    for (const id of [
      'plain',
      "it's",
      'a"b',
      'back\\slash',
      'line\nbreak',
      '\u2028',
      '🧠',
      "' OR 1 = 1 OR c.s = '",
    ]) {
      const target = { ids: [id] };
      expect(
        selects(parsePredicate(`FROM c WHERE ARRAY_CONTAINS(c.ids, ${JSON.stringify(id)})`), target),
      ).toBe(true);
      expect(
        selects(parsePredicate(`FROM c WHERE c.ids[0] = ${JSON.stringify(id)}`), { ids: ['other'] }),
      ).toBe(false);
    }
  });

  test('parse errors are PredicateErrors; operation errors PatchErrors, leaving the input untouched', () => {
    expect(() => parsePredicate('FROM c WHERE c.n BETWEEN 1 AND 2')).toThrow(PredicateError);
    expect(() => parsePredicate('FROM c AS WHERE c.n = 1')).toThrow(PredicateError);
    const ops = validateOperations(
      [
        { op: 'set', path: '/n', value: 3 },
        { op: 'remove', path: '/arr/9' },
      ],
      '/pk',
    );
    expect(() => applyOperations(doc, ops)).toThrow(PatchError);
    expect(doc.n).toBe(2);
  });
});
