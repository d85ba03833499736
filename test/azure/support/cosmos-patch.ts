/**
 * The operations of a Cosmos DB partial document update (Patch Document), applied as the
 * service documents them: at most 10 per request, each `{ op, path, value }` with a JSON-pointer
 * path (`~1` for `/`, `~0` for `~` in a name), all applied in order or none.
 *
 *   add      an object member is added or replaced; in an array, `-` or an index up to its
 *            length inserts there (the elements after it move right)
 *   set      like add, except that an existing array index is overwritten
 *   replace  the member or element must exist
 *   remove   the member or element must exist; an array closes the gap
 *   incr     adds a number to a number; an absent member is created with the value
 *
 * Only the last step of a path may be new: its parent must exist and be an object or an array.
 * System properties (`_rid`, `_self`, `_etag`, `_ts`, `_attachments`), `id` and the partition key
 * cannot be patched. A violation is a `PatchError`, answered with 400.
 */

export class PatchError extends Error {}

export const MAX_PATCH_OPERATIONS = 10;
const OPS = new Set(['add', 'set', 'replace', 'remove', 'incr']);
const SYSTEM = new Set(['_rid', '_self', '_etag', '_ts', '_attachments']);

interface Operation {
  op: 'add' | 'set' | 'replace' | 'remove' | 'incr';
  path: string;
  value?: unknown;
}

/** Checks the shape of a request's operations (before the document is looked at). */
export function validateOperations(operations: unknown, partitionKeyPath: string): Operation[] {
  if (!Array.isArray(operations) || operations.length === 0)
    throw new PatchError('Invalid patch request: operations must be a non-empty array');
  if (operations.length > MAX_PATCH_OPERATIONS)
    throw new PatchError(`The number of patch operations can't exceed ${MAX_PATCH_OPERATIONS}`);
  return operations.map((raw, i) => {
    const o = raw as Partial<Operation> | null;
    if (o === null || typeof o !== 'object' || typeof o.op !== 'string' || !OPS.has(o.op))
      throw new PatchError(`For Operation(${i}): unknown op ${JSON.stringify(o?.op)}`);
    if (typeof o.path !== 'string' || !o.path.startsWith('/') || o.path === '/')
      throw new PatchError(`For Operation(${i}): path must be a JSON pointer below the root`);
    if (o.op !== 'remove' && !('value' in o))
      throw new PatchError(`For Operation(${i}): ${o.op} needs a value`);
    if (o.op === 'incr' && typeof o.value !== 'number')
      throw new PatchError(`For Operation(${i}): incr needs a number`);
    const first = pointer(o.path, i)[0]!;
    if (SYSTEM.has(first))
      throw new PatchError(`Invalid patch request: Can't patch system property ${first}`);
    if (`/${first}` === partitionKeyPath || first === 'id')
      throw new PatchError(`For Operation(${i}): ${first} can't be patched`);
    return o as Operation;
  });
}

/** The document after every operation (a copy: the input is untouched whether it throws or not). */
export function applyOperations<D extends Record<string, unknown>>(doc: D, operations: Operation[]): D {
  const out = structuredClone(doc);
  operations.forEach((o, i) => apply(out, o, i));
  return out;
}

function pointer(path: string, i: number): string[] {
  return path
    .slice(1)
    .split('/')
    .map((s) => {
      if (/~[^01]|~$/.test(s)) throw new PatchError(`For Operation(${i}): bad escape in path ${path}`);
      return s.replace(/~1/g, '/').replace(/~0/g, '~');
    });
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

function index(step: string, length: number, allowEnd: boolean, i: number): number {
  if (step === '-' && allowEnd) return length;
  if (!/^(0|[1-9]\d*)$/.test(step) || Number(step) > (allowEnd ? length : length - 1))
    throw new PatchError(`For Operation(${i}): Index(${step}) to operate on is out of array bounds`);
  return Number(step);
}

function apply(doc: Record<string, unknown>, o: Operation, i: number): void {
  const steps = pointer(o.path, i);
  const last = steps.pop()!;
  let parent: unknown = doc;
  for (const step of steps) {
    const child = Array.isArray(parent)
      ? parent[index(step, parent.length, false, i)]
      : isObject(parent) && Object.hasOwn(parent, step)
        ? parent[step]
        : undefined;
    if (child === undefined || child === null || typeof child !== 'object')
      throw new PatchError(
        `For Operation(${i}): Given Operation can only create a child object of an existing node(array or object) and can't create path recursively, no path found beyond: ${o.path}`,
      );
    parent = child;
  }
  if (Array.isArray(parent)) {
    const at = index(last, parent.length, o.op === 'add' || o.op === 'set', i);
    if (o.op === 'add') parent.splice(at, 0, o.value);
    else if (o.op === 'remove') parent.splice(at, 1);
    else if (o.op === 'incr') parent[at] = numberAt(parent[at], o, i) + (o.value as number);
    else parent[at] = o.value;
    return;
  }
  if (!isObject(parent)) throw new PatchError(`For Operation(${i}): no path found beyond: ${o.path}`);
  const exists = Object.hasOwn(parent, last);
  if ((o.op === 'replace' || o.op === 'remove') && !exists)
    throw new PatchError(`For Operation(${i}): Node(${o.path}) to be ${o.op}d is absent.`);
  if (o.op === 'remove') delete parent[last];
  else if (o.op === 'incr')
    parent[last] = exists ? numberAt(parent[last], o, i) + (o.value as number) : o.value;
  else parent[last] = o.value;
}

function numberAt(v: unknown, o: Operation, i: number): number {
  if (typeof v !== 'number') throw new PatchError(`For Operation(${i}): Node(${o.path}) is not a number.`);
  return v;
}
