/** Batching and backoff shared by the AWS buses. */

export interface RetryOptions {
  /** Attempts per batch, the first included (default 4). */
  maxAttempts?: number;
  /** Base of the exponential backoff in ms (default 100); full jitter on top. */
  backoffMs?: number;
}

export function backoff(attempt: number, options: RetryOptions): Promise<void> {
  const base = (options.backoffMs ?? 100) * 2 ** (attempt - 1);
  const ms = base / 2 + Math.random() * (base / 2);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Splits items into chunks of at most `maxItems` and `maxBytes` (each item must fit alone). */
export function chunkBySize<T>(
  items: readonly T[],
  size: (item: T) => number,
  maxItems: number,
  maxBytes: number,
): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const s = size(item);
    if (current.length > 0 && (current.length >= maxItems || bytes + s > maxBytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += s;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
