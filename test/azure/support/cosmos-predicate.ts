/**
 * The filter predicate of a conditional patch (`FROM c WHERE <expression>`), parsed and
 * evaluated as Cosmos DB for NoSQL does for the subset the test server accepts:
 *
 *   FROM <alias> | FROM <container> [AS] <alias>, then WHERE and one expression of
 *   - `NOT`, `AND`, `OR` (that precedence) and parentheses;
 *   - `= != <> < <= > >=` between two operands (no chains);
 *   - operands: a property path from the alias (`c.a.b`, `c.a[0]`, `c["a b"]`), a constant
 *     (`'...'` or `"..."` with the query language's escapes, a number, `true`, `false`, `null`,
 *     `undefined`), `ARRAY_CONTAINS(array, value)` and `IS_DEFINED(expression)`.
 *
 * Anything else (another function, arithmetic, `IN`, `BETWEEN`, a third argument of
 * ARRAY_CONTAINS, a path from another alias, a stray token) is a `PredicateError`, which the
 * server answers with 400: a condition it cannot evaluate must fail loudly, never match by accident.
 *
 * Values follow the query language's three-valued logic: a missing property is `undefined`; `=`
 * across types, and `!= < <= > >=` across types or on arrays and objects, are `undefined`; `NOT`
 * of `undefined` is `undefined`; `AND` is false if either side is false, `OR` true if either is
 * true, and `undefined` otherwise. Only `true` selects the document.
 */

export class PredicateError extends Error {}

type Value = unknown;
type Comparison = '=' | '!=' | '<' | '<=' | '>' | '>=';

export type Expr =
  | { kind: 'const'; value: Value }
  | { kind: 'path'; steps: Array<string | number> }
  | { kind: 'not'; operand: Expr }
  | { kind: 'and' | 'or'; left: Expr; right: Expr }
  | { kind: 'compare'; op: Comparison; left: Expr; right: Expr }
  | { kind: 'call'; name: 'ARRAY_CONTAINS' | 'IS_DEFINED'; args: Expr[] };

type Token =
  | { type: 'ident'; text: string; at: number }
  | { type: 'string'; value: string; at: number }
  | { type: 'number'; value: number; at: number }
  | { type: 'punct'; text: string; at: number }
  | { type: 'end'; at: number };

const ESCAPES: Record<string, string> = {
  "'": "'",
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};
const FUNCTIONS = { ARRAY_CONTAINS: 2, IS_DEFINED: 1 } as const;
const KEYWORDS = new Set(['FROM', 'WHERE', 'AS', 'NOT', 'AND', 'OR', 'TRUE', 'FALSE', 'NULL', 'UNDEFINED']);

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (/\s/.test(ch)) {
      i += 1;
      continue;
    }
    const at = i;
    if (/[A-Za-z_]/.test(ch)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))!;
      tokens.push({ type: 'ident', text: m[0], at });
      i += m[0].length;
    } else if (/[0-9]/.test(ch)) {
      const m = /^(?:0x[0-9A-Fa-f]+|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i))!;
      tokens.push({ type: 'number', value: Number(m[0]), at });
      i += m[0].length;
    } else if (ch === "'" || ch === '"') {
      let value = '';
      i += 1;
      for (;;) {
        if (i >= text.length) throw new PredicateError(`unterminated string starting at ${at}`);
        const c = text[i]!;
        if (c === ch) break;
        if (c !== '\\') {
          value += c;
          i += 1;
          continue;
        }
        const e = text[i + 1];
        if (e === 'u') {
          const hex = text.slice(i + 2, i + 6);
          if (!/^[0-9A-Fa-f]{4}$/.test(hex)) throw new PredicateError(`bad \\u escape at ${i}`);
          value += String.fromCharCode(parseInt(hex, 16));
          i += 6;
        } else if (e !== undefined && e in ESCAPES) {
          value += ESCAPES[e];
          i += 2;
        } else {
          throw new PredicateError(`bad escape \\${e ?? ''} at ${i}`);
        }
      }
      tokens.push({ type: 'string', value, at });
      i += 1;
    } else {
      const two = text.slice(i, i + 2);
      const op = ['!=', '<>', '<=', '>='].includes(two) ? two : '()[].,=<>-'.includes(ch) ? ch : undefined;
      if (!op) throw new PredicateError(`unexpected character '${ch}' at ${i}`);
      tokens.push({ type: 'punct', text: op, at });
      i += op.length;
    }
  }
  tokens.push({ type: 'end', at: text.length });
  return tokens;
}

/** Parses `FROM <alias> WHERE <expression>`; throws `PredicateError` outside the subset. */
export function parsePredicate(text: string): Expr {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = () => tokens[pos]!;
  const next = () => tokens[pos++]!;
  const isWord = (t: Token, word: string) => t.type === 'ident' && t.text.toUpperCase() === word;
  const isPunct = (t: Token, p: string) => t.type === 'punct' && t.text === p;
  const describe = (t: Token) =>
    t.type === 'end' ? 'the end' : `${'text' in t ? t.text : JSON.stringify(t.value)} at ${t.at}`;
  const fail = (what: string): never => {
    throw new PredicateError(`expected ${what}, found ${describe(peek())}`);
  };
  const word = (w: string) => (isWord(peek(), w) ? next() : fail(w));
  const punct = (p: string) => (isPunct(peek(), p) ? next() : fail(`'${p}'`));
  const identifier = (): string => {
    const t = peek();
    if (t.type !== 'ident' || KEYWORDS.has(t.text.toUpperCase())) return fail('an identifier');
    next();
    return (t as { text: string }).text;
  };

  // FROM c | FROM <container> [AS] c: the last identifier names the document.
  word('FROM');
  let alias = identifier();
  if (isWord(peek(), 'AS')) {
    next();
    alias = identifier();
  } else if (peek().type === 'ident' && !isWord(peek(), 'WHERE')) {
    alias = identifier();
  }
  word('WHERE');

  const orExpr = (): Expr => {
    let left = andExpr();
    while (isWord(peek(), 'OR')) {
      next();
      left = { kind: 'or', left, right: andExpr() };
    }
    return left;
  };
  const andExpr = (): Expr => {
    let left = notExpr();
    while (isWord(peek(), 'AND')) {
      next();
      left = { kind: 'and', left, right: notExpr() };
    }
    return left;
  };
  const notExpr = (): Expr => {
    if (isWord(peek(), 'NOT')) {
      next();
      return { kind: 'not', operand: notExpr() };
    }
    return comparison();
  };
  const comparison = (): Expr => {
    const left = operand();
    const t = peek();
    if (t.type !== 'punct' || !['=', '!=', '<>', '<', '<=', '>', '>='].includes(t.text)) return left;
    next();
    const op = (t.text === '<>' ? '!=' : t.text) as Comparison;
    const right = operand();
    const after = peek();
    if (after.type === 'punct' && ['=', '!=', '<>', '<', '<=', '>', '>='].includes(after.text))
      throw new PredicateError(`chained comparison at ${after.at} is not supported by the test server`);
    return { kind: 'compare', op, left, right };
  };
  const operand = (): Expr => {
    const t = peek();
    if (isPunct(t, '(')) {
      next();
      const inner = orExpr();
      punct(')');
      return inner;
    }
    if (isPunct(t, '-')) {
      next();
      const n = peek();
      if (n.type !== 'number') return fail('a number after -');
      next();
      return { kind: 'const', value: -(n as { value: number }).value };
    }
    if (t.type === 'string' || t.type === 'number') {
      next();
      return { kind: 'const', value: t.value };
    }
    if (t.type !== 'ident') return fail('an operand');
    const upper = t.text.toUpperCase();
    if (upper === 'TRUE' || upper === 'FALSE' || upper === 'NULL' || upper === 'UNDEFINED') {
      next();
      return { kind: 'const', value: { TRUE: true, FALSE: false, NULL: null, UNDEFINED: undefined }[upper] };
    }
    if (isPunct(tokens[pos + 1]!, '(')) {
      if (!(upper in FUNCTIONS))
        throw new PredicateError(`function ${t.text} at ${t.at} is not supported by the test server`);
      const name = upper as keyof typeof FUNCTIONS;
      next();
      next();
      const args = [orExpr()];
      while (isPunct(peek(), ',')) {
        next();
        args.push(orExpr());
      }
      punct(')');
      if (args.length !== FUNCTIONS[name])
        throw new PredicateError(
          `${name} takes ${FUNCTIONS[name]} argument(s) on the test server, got ${args.length}`,
        );
      return { kind: 'call', name, args };
    }
    if (KEYWORDS.has(upper)) return fail('an operand');
    if (t.text !== alias) throw new PredicateError(`identifier '${t.text}' could not be resolved`);
    next();
    const steps: Array<string | number> = [];
    for (;;) {
      if (isPunct(peek(), '.')) {
        next();
        const name = peek();
        if (name.type !== 'ident') return fail('a property name');
        next();
        steps.push((name as { text: string }).text);
      } else if (isPunct(peek(), '[')) {
        next();
        const index = next();
        if (index.type === 'number' && Number.isInteger(index.value) && index.value >= 0)
          steps.push(index.value);
        else if (index.type === 'string') steps.push(index.value);
        else throw new PredicateError(`expected an array index or a property name at ${index.at}`);
        punct(']');
      } else {
        return { kind: 'path', steps };
      }
    }
  };

  const expr = orExpr();
  if (peek().type !== 'end') fail('the end of the condition');
  return expr;
}

/** True when the predicate selects the document (its value is `true`, not merely defined). */
export function selects(predicate: Expr, doc: Record<string, unknown>): boolean {
  return evaluate(predicate, doc) === true;
}

function evaluate(e: Expr, doc: Record<string, unknown>): Value {
  switch (e.kind) {
    case 'const':
      return e.value;
    case 'path': {
      let v: Value = doc;
      for (const step of e.steps) {
        if (typeof step === 'number') v = Array.isArray(v) ? v[step] : undefined;
        else
          v =
            v !== null && typeof v === 'object' && !Array.isArray(v) && Object.hasOwn(v, step)
              ? (v as Record<string, unknown>)[step]
              : undefined;
        if (v === undefined) return undefined;
      }
      return v;
    }
    case 'not': {
      const v = evaluate(e.operand, doc);
      return typeof v === 'boolean' ? !v : undefined;
    }
    case 'and': {
      const l = evaluate(e.left, doc);
      const r = evaluate(e.right, doc);
      if (l === false || r === false) return false;
      return l === true && r === true ? true : undefined;
    }
    case 'or': {
      const l = evaluate(e.left, doc);
      const r = evaluate(e.right, doc);
      if (l === true || r === true) return true;
      return l === false && r === false ? false : undefined;
    }
    case 'compare':
      return compare(e.op, evaluate(e.left, doc), evaluate(e.right, doc));
    case 'call': {
      const args = e.args.map((a) => evaluate(a, doc));
      if (e.name === 'IS_DEFINED') return args[0] !== undefined;
      const [array, value] = args;
      if (!Array.isArray(array)) return undefined;
      return array.some((item) => compare('=', item, value) === true);
    }
  }
}

function typeOf(v: Value): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function compare(op: Comparison, a: Value, b: Value): boolean | undefined {
  if (a === undefined || b === undefined) return undefined;
  const type = typeOf(a);
  if (type !== typeOf(b)) return undefined;
  const complex = type === 'array' || type === 'object';
  if (op === '=') return complex ? deepEqual(a, b) : a === b;
  if (complex) return undefined;
  if (op === '!=') return a !== b;
  const x = a as string | number | boolean | null;
  const y = b as string | number | boolean | null;
  if (x === null || y === null) return op === '<=' || op === '>=';
  return op === '<' ? x < y : op === '<=' ? x <= y : op === '>' ? x > y : x >= y;
}

function deepEqual(a: Value, b: Value): boolean {
  if (typeOf(a) !== typeOf(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    return a.length === other.length && a.every((x, i) => deepEqual(x, other[i]));
  }
  if (a !== null && typeof a === 'object') {
    const x = a as Record<string, unknown>;
    const y = b as Record<string, unknown>;
    const keys = Object.keys(x);
    return (
      keys.length === Object.keys(y).length && keys.every((k) => Object.hasOwn(y, k) && deepEqual(x[k], y[k]))
    );
  }
  return a === b;
}
