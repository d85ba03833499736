/**
 * Reading an LLM provider's reply with a byte cap. A routing decision fits in a few KB; a
 * broken or hostile endpoint that streams without end must not grow the process's memory
 * until the coordination timeout fires. Past the cap the body is cancelled (the connection is
 * dropped) and a `RouterError` is thrown, so the LLM router falls back to the rules.
 */
import { RouterError } from '../../core/errors';

/** The default cap on an LLM reply: a decision for a batch of tasks is far below it. */
export const DEFAULT_MAX_REPLY_BYTES = 256 * 1024;

/** Marks the failure in messages and in the decision's `fallback_reason`. */
export const REPLY_TOO_LARGE = 'reply_too_large';

/**
 * The failure for a reply past the cap. `invalid_output` is the core's reason for a reply that
 * cannot be used (not retried: the same endpoint would stream the same way again).
 */
export function replyTooLarge(provider: string, maxBytes: number, seen: number): RouterError {
  return new RouterError(
    `${provider} ${REPLY_TOO_LARGE}: the reply passed ${maxBytes} bytes (read ${seen}); the request was aborted`,
    'invalid_output',
  );
}

export interface BoundedText {
  text: string;
  /** Bytes actually read from the wire. */
  bytes: number;
}

/**
 * The body of `res` as UTF-8 text, reading at most `maxBytes`. A `content-length` above the cap
 * fails before anything is read; otherwise the stream is read chunk by chunk and cancelled as
 * soon as the total passes the cap. With `truncate`, the first `maxBytes` are returned instead
 * of failing (for error bodies, of which only a short excerpt is kept).
 */
export async function readBounded(
  res: Response,
  maxBytes: number,
  provider: string,
  options: { truncate?: boolean; onBytes?: (bytes: number) => void } = {},
): Promise<BoundedText> {
  const declared = Number(res.headers.get('content-length'));
  if (!options.truncate && Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw replyTooLarge(provider, maxBytes, 0);
  }
  if (!res.body) return { text: '', bytes: 0 };
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      options.onBytes?.(bytes);
      if (bytes > maxBytes) {
        await reader.cancel().catch(() => undefined);
        if (options.truncate) {
          const keep = maxBytes - (bytes - value.byteLength);
          chunks.push(value.subarray(0, keep));
          break;
        }
        throw replyTooLarge(provider, maxBytes, bytes);
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  return { text: Buffer.concat(chunks).toString('utf8'), bytes };
}

/** An error body: at most a few KB of it, never failing (the status is what matters). */
export async function readErrorExcerpt(res: Response, provider: string, maxBytes = 4096): Promise<string> {
  try {
    return (await readBounded(res, maxBytes, provider, { truncate: true })).text;
  } catch {
    return '';
  }
}
