/** Reading untrusted JSON: parse errors and hostile nesting become validation errors naming the field. */
import { ValidationError } from '../errors';

export function parseJson(raw: string | Uint8Array, field: string): unknown {
  const text = typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ValidationError(`${field} is not valid JSON: ${(err as Error).message}`, field);
  }
}

export function checkDepth(value: unknown, max: number): void {
  // Iterative walk: a hostile, deeply nested body must not overflow the stack.
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (depth > max) throw new ValidationError(`message is nested deeper than ${max} levels`, '');
    if (typeof v === 'object' && v !== null) {
      for (const child of Object.values(v)) stack.push([child, depth + 1]);
    }
  }
}
