/**
 * A sorted set of string keys with binary-search insert and delete, and paged reads after a
 * cursor: the in-memory stand-in for a range index (LevelDB keys, a DynamoDB sort key).
 */
export class SortedKeys {
  private readonly keys: string[] = [];

  get size(): number {
    return this.keys.length;
  }

  add(key: string): void {
    const i = this.lowerBound(key);
    if (this.keys[i] !== key) this.keys.splice(i, 0, key);
  }

  delete(key: string): void {
    const i = this.lowerBound(key);
    if (this.keys[i] === key) this.keys.splice(i, 1);
  }

  /** Up to `limit` keys after `after` (exclusive), or from the start; and up to `before` (exclusive). */
  page(limit: number, after?: string, before?: string): string[] {
    let i = after === undefined ? 0 : this.lowerBound(after);
    if (after !== undefined && this.keys[i] === after) i += 1;
    const out: string[] = [];
    for (; i < this.keys.length && out.length < limit; i++) {
      const key = this.keys[i]!;
      if (before !== undefined && key >= before) break;
      out.push(key);
    }
    return out;
  }

  private lowerBound(key: string): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.keys[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
