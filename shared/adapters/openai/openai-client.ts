/**
 * An `LlmClient` for the OpenAI chat-completions wire format: OpenAI, Ollama, vLLM, LM Studio,
 * and (with its URL and `api-key` header) Azure OpenAI. The decision is requested as a forced
 * function call; 429 is retried after `retry-after` and 5xx with backoff, both only while the
 * caller's signal (the coordination timeout) allows. A reply is read up to `maxReplyBytes` and
 * the request aborted past it (see bounded-body.ts).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { RouterError } from '../../core/errors';
import type { LlmClient, LlmRequest, LlmResponse } from '../../core/ports';
import { DEFAULT_MAX_REPLY_BYTES, readBounded, readErrorExcerpt } from './bounded-body';

export interface OpenAiCompatibleOptions {
  /** Full chat-completions URL, e.g. `http://127.0.0.1:11434/v1/chat/completions`. */
  url: string;
  /** Sent as `model` in the body (omit for Azure, where the deployment is in the URL). */
  model?: string;
  headers?: Record<string, string>;
  provider?: string;
  /** Retries after 429/5xx/network errors (default 2). */
  maxRetries?: number;
  /** Bytes of a reply read at most (default 256 KiB); past it the call fails as `reply_too_large`. */
  maxReplyBytes?: number;
  fetch?: typeof fetch;
}

/** `baseUrl` + `/chat/completions`, the OpenAI convention. */
export function openAiCompatibleClient(
  baseUrl: string,
  model: string,
  apiKey?: string,
): OpenAiCompatibleClient {
  return new OpenAiCompatibleClient({
    url: `${baseUrl.replace(/\/+$/, '')}/chat/completions`,
    model,
    headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
    provider: 'openai',
  });
}

export class OpenAiCompatibleClient implements LlmClient {
  readonly provider: string;
  readonly model: string;
  private readonly doFetch: typeof fetch;

  constructor(private readonly options: OpenAiCompatibleOptions) {
    this.provider = options.provider ?? 'openai';
    this.model = options.model ?? 'deployment';
    this.doFetch = options.fetch ?? fetch;
  }

  async complete(request: LlmRequest, signal: AbortSignal): Promise<LlmResponse> {
    const body = JSON.stringify({
      ...(this.options.model ? { model: this.options.model } : {}),
      messages: [
        { role: 'system', content: request.system },
        { role: 'user', content: request.prompt },
      ],
      tools: [
        {
          type: 'function',
          function: {
            name: request.tool.name,
            description: request.tool.description,
            parameters: request.tool.inputSchema,
          },
        },
      ],
      tool_choice: { type: 'function', function: { name: request.tool.name } },
      temperature: 0,
      max_tokens: request.maxOutputTokens,
    });
    const maxRetries = this.options.maxRetries ?? 2;
    for (let attempt = 0; ; attempt++) {
      const res = await this.send(body, signal);
      if (res.ok) return this.parse(await this.readJson(res));
      const text = await readErrorExcerpt(res, this.provider);
      const error = httpError(res.status, text, res.headers.get('retry-after'));
      if (!error.retryable || attempt >= maxRetries) throw error;
      // Out of time while backing off: report what the server said, not the clock.
      await sleep(error.retryAfterMs ?? 200 * 2 ** attempt, signal).catch(() => {
        throw error;
      });
    }
  }

  private async send(body: string, signal: AbortSignal): Promise<Response> {
    try {
      return await this.doFetch(this.options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...this.options.headers },
        body,
        signal,
      });
    } catch (err) {
      if (signal.aborted) throw new RouterError('LLM call timed out', 'timeout', { cause: err });
      throw new RouterError(`LLM endpoint unreachable: ${(err as Error).message}`, 'network', { cause: err });
    }
  }

  private async readJson(res: Response): Promise<unknown> {
    const { text } = await readBounded(
      res,
      this.options.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES,
      this.provider,
    );
    try {
      return JSON.parse(text);
    } catch {
      throw new RouterError(`LLM reply is not JSON: ${text.slice(0, 100)}`, 'invalid_output');
    }
  }

  private parse(payload: unknown): LlmResponse {
    const p = payload as {
      model?: string;
      choices?: Array<{
        finish_reason?: string;
        message?: {
          content?: string | null;
          tool_calls?: Array<{ function?: { name?: string; arguments?: string } }>;
        };
      }>;
      usage?: {
        prompt_tokens?: number;
        completion_tokens?: number;
        prompt_tokens_details?: { cached_tokens?: number };
      };
    };
    const choice = p?.choices?.[0];
    if (!choice?.message) throw new RouterError('LLM reply has no choices[0].message', 'invalid_output');
    const call = choice.message.tool_calls?.[0]?.function;
    let toolInput: unknown;
    if (call?.arguments !== undefined) {
      try {
        toolInput = typeof call.arguments === 'string' ? JSON.parse(call.arguments) : call.arguments;
      } catch {
        throw new RouterError(
          `tool call arguments are not JSON: ${String(call.arguments).slice(0, 100)}`,
          'invalid_output',
        );
      }
    }
    const out: LlmResponse = {};
    if (toolInput !== undefined) out.toolInput = toolInput;
    if (typeof choice.message.content === 'string' && choice.message.content)
      out.text = choice.message.content;
    if (choice.finish_reason) out.stopReason = choice.finish_reason;
    if (p.model) out.model = p.model;
    if (p.usage) {
      out.usage = {
        input_tokens: p.usage.prompt_tokens ?? 0,
        output_tokens: p.usage.completion_tokens ?? 0,
        ...(p.usage.prompt_tokens_details?.cached_tokens !== undefined
          ? { cache_read_tokens: p.usage.prompt_tokens_details.cached_tokens }
          : {}),
      };
    }
    return out;
  }
}

/** Maps an HTTP status to a router failure; `retry-after` (seconds or a date) is kept. */
export function httpError(status: number, body: string, retryAfter: string | null): RouterError {
  const detail = `HTTP ${status}${body ? `: ${body.slice(0, 200)}` : ''}`;
  const retryAfterMs = parseRetryAfter(retryAfter);
  if (status === 429)
    return new RouterError(
      `LLM throttled (${detail})`,
      'throttled',
      retryAfterMs !== undefined ? { retryAfterMs } : {},
    );
  if (status >= 500) return new RouterError(`LLM server error (${detail})`, 'server_error');
  return new RouterError(`LLM request rejected (${detail})`, 'client_error');
}

function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** Sleeps unless the signal fires first, in which case it throws a timeout. */
export async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, { signal });
  } catch (err) {
    throw new RouterError('LLM call timed out while backing off', 'timeout', { cause: err });
  }
}
