/**
 * SortedKeys (the memory store's and the LevelDB store's in-memory indexes) against a naive
 * reference, and held to its shape: bounded chunks, so an insert or delete never moves O(n) keys.
 */
import { MAX_CHUNK, MIN_CHUNK, SortedKeys } from '../../shared/adapters/local/sorted-keys';
import { rng } from '../faults/harness';

/** The obvious implementation: a set (and its members in an array, to pick from), sorted on every read. */
class Reference {
  readonly keys = new Set<string>();
  private readonly members: string[] = [];
  add(key: string): void {
    if (this.keys.has(key)) return;
    this.keys.add(key);
    this.members.push(key);
  }
  delete(key: string): void {
    if (!this.keys.delete(key)) return;
    const i = this.members.indexOf(key);
    this.members[i] = this.members[this.members.length - 1]!;
    this.members.pop();
  }
  /** A present key, at random (undefined when empty). */
  pick(random: () => number): string | undefined {
    return this.members[Math.floor(random() * this.members.length)];
  }
  sorted(): string[] {
    return [...this.keys].sort();
  }
  page(limit: number, after?: string, before?: string): string[] {
    const out: string[] = [];
    for (const key of this.sorted()) {
      if (!(out.length < limit)) break;
      if (after !== undefined && key <= after) continue;
      if (before !== undefined && key >= before) break;
      out.push(key);
    }
    return out;
  }
}

/** Keys that share prefixes and collide often: a few letters, of lengths 1 to 5. */
function keyMaker(random: () => number): () => string {
  const alphabet = 'abcdefgh#\u0000~';
  return () => {
    const n = 1 + Math.floor(random() * 5);
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(random() * alphabet.length)];
    return s;
  };
}

function expectShape(keys: SortedKeys): void {
  const shape = keys.shape();
  expect(shape.largest).toBeLessThanOrEqual(MAX_CHUNK);
  if (keys.size === 0) expect(shape.chunks).toBe(0);
  if (shape.chunks > 1) expect(shape.smallest).toBeGreaterThanOrEqual(MIN_CHUNK);
  expect(shape.chunks).toBeLessThanOrEqual(Math.floor(keys.size / MIN_CHUNK) + 1);
}

describe('SortedKeys', () => {
  test('exclusive after and before, dedupe, absent keys, empty', () => {
    const keys = new SortedKeys();
    expect(keys.size).toBe(0);
    expect(keys.page(10)).toEqual([]);
    expect(keys.page(10, 'a')).toEqual([]);
    expect(keys.page(10, undefined, 'z')).toEqual([]);
    keys.delete('missing');
    expect(keys.size).toBe(0);
    for (const k of ['d', 'b', 'a', 'c', 'b', 'e']) keys.add(k);
    expect(keys.size).toBe(5);
    expect(keys.page(Infinity)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(keys.page(2)).toEqual(['a', 'b']);
    expect(keys.page(2, 'b')).toEqual(['c', 'd']);
    expect(keys.page(10, 'bb')).toEqual(['c', 'd', 'e']);
    expect(keys.page(10, 'e')).toEqual([]);
    expect(keys.page(10, '')).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(keys.page(10, undefined, 'c')).toEqual(['a', 'b']);
    expect(keys.page(10, 'a', 'd')).toEqual(['b', 'c']);
    expect(keys.page(10, 'a', 'cc')).toEqual(['b', 'c']);
    expect(keys.page(10, 'c', 'c')).toEqual([]);
    expect(keys.page(0)).toEqual([]);
    keys.delete('c');
    keys.delete('c');
    expect(keys.size).toBe(4);
    expect(keys.page(10, 'b')).toEqual(['d', 'e']);
    for (const k of ['a', 'b', 'd', 'e']) keys.delete(k);
    expect(keys.size).toBe(0);
    expect(keys.page(10)).toEqual([]);
    expectShape(keys);
  });

  test.each([1, 2, 3])('matches a naive reference over random adds, deletes and pages (seed %i)', (seed) => {
    const random = rng(seed);
    const randomKey = keyMaker(random);
    const keys = new SortedKeys();
    const ref = new Reference();
    const present = () => ref.pick(random);
    // Phases: grow past several chunks, churn, shrink to empty, grow again.
    const phases: Array<{ ops: number; addShare: number }> = [
      { ops: 6_000, addShare: 0.85 },
      { ops: 4_000, addShare: 0.5 },
      { ops: 8_000, addShare: 0.1 },
      { ops: 3_000, addShare: 0.9 },
    ];
    let pages = 0;
    for (const phase of phases) {
      for (let op = 0; op < phase.ops; op++) {
        const r = random();
        if (r < phase.addShare) {
          const key = randomKey();
          keys.add(key);
          ref.add(key);
        } else {
          // Mostly present keys (so the set really shrinks), sometimes absent ones.
          const key = random() < 0.8 ? (present() ?? randomKey()) : randomKey();
          keys.delete(key);
          ref.delete(key);
        }
        expect(keys.size).toBe(ref.keys.size);
        if (op % 40 === 0) {
          const limits = [0, 1, 7, MAX_CHUNK - 1, MAX_CHUNK + 3, 3 * MAX_CHUNK, Infinity];
          const limit = limits[Math.floor(random() * limits.length)]!;
          const pick = random();
          const after = pick < 0.3 ? undefined : pick < 0.7 ? present() : randomKey();
          const bound = random();
          const before = bound < 0.6 ? undefined : bound < 0.8 ? present() : randomKey();
          expect(keys.page(limit, after, before)).toEqual(ref.page(limit, after, before));
          pages += 1;
        }
        if (op % 500 === 0) expectShape(keys);
      }
      // A walk of the whole set by cursor, pages of random size, crosses every chunk boundary.
      const walked: string[] = [];
      let cursor: string | undefined;
      for (;;) {
        const page = keys.page(1 + Math.floor(random() * 300), cursor);
        walked.push(...page);
        if (page.length === 0) break;
        cursor = page[page.length - 1];
      }
      expect(walked).toEqual(ref.sorted());
      expectShape(keys);
    }
    expect(pages).toBeGreaterThan(400);
    expect(keys.shape().chunks).toBeGreaterThan(1);
  });

  test('every chunk boundary: pages starting at, before and after each key of a multi-chunk set', () => {
    const keys = new SortedKeys();
    const ref = new Reference();
    // Even numbers only, so every odd one is an absent key between two present ones.
    const key = (i: number) => String(i).padStart(6, '0');
    for (let i = 0; i < 6 * MAX_CHUNK; i += 2) {
      keys.add(key(i));
      ref.add(key(i));
    }
    expect(keys.shape().chunks).toBeGreaterThan(2);
    for (let i = -1; i < 6 * MAX_CHUNK + 1; i++) {
      expect(keys.page(3, key(i))).toEqual(ref.page(3, key(i)));
      expect(keys.page(3, key(i), key(i + 4))).toEqual(ref.page(3, key(i), key(i + 4)));
    }
    expect(keys.page(Infinity, undefined, key(MAX_CHUNK + 1))).toEqual(
      ref.page(Infinity, undefined, key(MAX_CHUNK + 1)),
    );
  });

  test('stays in bounded chunks: 50,000 appends (the completed index) and 50,000 random inserts', () => {
    const appended = new SortedKeys();
    for (let i = 0; i < 50_000; i++) appended.add(`2#2026-01-01T00:00:${String(i).padStart(8, '0')}#t${i}`);
    expect(appended.size).toBe(50_000);
    expectShape(appended);
    expect(appended.shape().chunks).toBeGreaterThanOrEqual(50_000 / MAX_CHUNK);

    const random = rng(7);
    const scattered = new SortedKeys();
    for (let i = 0; i < 50_000; i++) scattered.add(random().toString(36).slice(2));
    expectShape(scattered);
    expect(scattered.shape().largest).toBeLessThanOrEqual(MAX_CHUNK);

    // Drained from the front, as a queue is: the chunks go with the keys.
    for (const k of appended.page(45_000)) appended.delete(k);
    expect(appended.size).toBe(5_000);
    expectShape(appended);
    // Thinned at random: chunks merge, so their number follows the size down.
    const all = scattered.page(Infinity);
    for (let i = 0; i < all.length; i++) if (i % 10 !== 0) scattered.delete(all[i]!);
    expect(scattered.size).toBe(5_000);
    expectShape(scattered);
    expect(scattered.page(Infinity)).toEqual(all.filter((_, i) => i % 10 === 0));
  });
});
