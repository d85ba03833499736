/**
 * Runs `fn` over items with at most `limit` in flight, results in input order. The tasks of one
 * batch touch different records, so against a remote store a batch of ten costs about one
 * task's round trips instead of ten; conditional writes keep it correct where they do meet.
 */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  // A delivery of one message (the HTTP API, a direct invocation) takes no worker machinery.
  if (items.length === 0) return [];
  if (items.length === 1) return [await fn(items[0]!, 0)];
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
