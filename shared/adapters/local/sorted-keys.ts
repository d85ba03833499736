/**
 * A sorted set of string keys with paged reads after a cursor: the in-memory stand-in for a
 * range index (LevelDB keys, a DynamoDB sort key).
 *
 * Kept as a chunked sorted list: an array of sorted chunks of at most `MAX_CHUNK` keys, in
 * order, with each chunk's last key alongside for a binary search. An insert or delete moves
 * at most one chunk's keys (and, when a chunk splits or merges, the chunk array's pointers, at
 * most once per ~`MIN_CHUNK` changes), so its cost is O(log n + MAX_CHUNK + n / MIN_CHUNK)
 * rather than O(n) for one sorted array; a page costs O(log n + page). Every chunk holds at
 * least `MIN_CHUNK` keys unless it is the only one, so there are at most n / MIN_CHUNK + 1.
 */
export const MAX_CHUNK = 512;
export const MIN_CHUNK = MAX_CHUNK / 4;

export class SortedKeys {
  /** Sorted chunks, each non-empty, every key of one before every key of the next. */
  private readonly chunks: string[][] = [];
  /** The last (largest) key of each chunk. */
  private readonly maxes: string[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(key: string): void {
    if (this.chunks.length === 0) {
      this.chunks.push([key]);
      this.maxes.push(key);
      this.count = 1;
      return;
    }
    // The first chunk whose last key is >= key, or the last chunk for a key past them all.
    const c = Math.min(lowerBound(this.maxes, key), this.chunks.length - 1);
    const chunk = this.chunks[c]!;
    const i = lowerBound(chunk, key);
    if (chunk[i] === key) return;
    if (i === chunk.length) {
      chunk.push(key);
      this.maxes[c] = key;
    } else chunk.splice(i, 0, key);
    this.count += 1;
    if (chunk.length > MAX_CHUNK) this.split(c);
  }

  delete(key: string): void {
    const c = lowerBound(this.maxes, key);
    const chunk = this.chunks[c];
    if (!chunk) return;
    const i = lowerBound(chunk, key);
    if (chunk[i] !== key) return;
    if (i === chunk.length - 1) {
      chunk.pop();
      if (chunk.length > 0) this.maxes[c] = chunk[chunk.length - 1]!;
    } else chunk.splice(i, 1);
    this.count -= 1;
    if (chunk.length === 0) {
      this.chunks.splice(c, 1);
      this.maxes.splice(c, 1);
    } else if (chunk.length < MIN_CHUNK && this.chunks.length > 1) this.merge(c);
  }

  /** Up to `limit` keys after `after` (exclusive), or from the start; and up to `before` (exclusive). */
  page(limit: number, after?: string, before?: string): string[] {
    const out: string[] = [];
    if (!(limit > 0) || this.count === 0) return out;
    let c = 0;
    let i = 0;
    if (after !== undefined) {
      // The first chunk whose last key is > after holds the first key > after.
      c = upperBound(this.maxes, after);
      if (c === this.chunks.length) return out;
      i = upperBound(this.chunks[c]!, after);
    }
    for (; c < this.chunks.length; c++, i = 0) {
      const chunk = this.chunks[c]!;
      for (; i < chunk.length; i++) {
        const key = chunk[i]!;
        if (before !== undefined && key >= before) return out;
        out.push(key);
        if (out.length >= limit) return out;
      }
    }
    return out;
  }

  /** The chunk layout, for tests that hold the structure to its bounds (not part of the index's API). */
  shape(): { chunks: number; largest: number; smallest: number } {
    let largest = 0;
    let smallest = this.chunks.length > 0 ? Infinity : 0;
    for (const chunk of this.chunks) {
      largest = Math.max(largest, chunk.length);
      smallest = Math.min(smallest, chunk.length);
    }
    return { chunks: this.chunks.length, largest, smallest };
  }

  /** Splits an overfull chunk into two halves. */
  private split(c: number): void {
    const chunk = this.chunks[c]!;
    const upper = chunk.splice(chunk.length >>> 1);
    this.chunks.splice(c + 1, 0, upper);
    this.maxes.splice(c, 1, chunk[chunk.length - 1]!, upper[upper.length - 1]!);
  }

  /** Joins an underfull chunk with a neighbour, splitting the result again if it is overfull. */
  private merge(c: number): void {
    const left = c > 0 ? c - 1 : c;
    const joined = this.chunks[left]!.concat(this.chunks[left + 1]!);
    this.chunks.splice(left, 2, joined);
    this.maxes.splice(left, 2, joined[joined.length - 1]!);
    if (joined.length > MAX_CHUNK) this.split(left);
  }
}

/** The first index whose key is >= `key` (`keys.length` if none). */
function lowerBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The first index whose key is > `key` (`keys.length` if none). */
function upperBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
