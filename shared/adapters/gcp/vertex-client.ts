/**
 * An `LlmClient` for Gemini on Vertex AI (`generateContent` REST). The decision is a forced
 * function call: the tool's JSON Schema becomes a function declaration in Vertex's OpenAPI
 * subset, `functionCallingConfig.mode = ANY` makes the model call it, and the stable prompt
 * goes in `systemInstruction`. 429 and 5xx are retried with backoff (or `retry-after`) while
 * the caller's signal (the coordination timeout) allows; everything else is a `RouterError`
 * the LLM router turns into a rules decision. A reply is read up to `maxReplyBytes` and the
 * request aborted past it.
 */
import { RouterError } from '../../core/errors';
import type { LlmClient, LlmRequest, LlmResponse } from '../../core/ports';
import { DEFAULT_MAX_REPLY_BYTES, readBounded, readErrorExcerpt } from '../openai/bounded-body';
import { httpError, sleep } from '../openai/openai-client';
import { toVertexSchema, restoreMaps } from './vertex-schema';

export interface VertexClientOptions {
  project: string;
  location: string;
  model: string;
  /** Base URL; default `https://{location}-aiplatform.googleapis.com`. */
  endpoint?: string;
  /** Returns an OAuth access token (cached by the provider). Omitted: no Authorization header. */
  accessToken?: () => Promise<string>;
  /** Retries after 429/5xx/network errors (default 2). */
  maxRetries?: number;
  /** Bytes of a reply read at most (default 256 KiB); past it the call fails as `reply_too_large`. */
  maxReplyBytes?: number;
  fetch?: typeof fetch;
}

interface GenerateContentResponse {
  candidates?: Array<{
    content?: { parts?: Array<{ text?: string; functionCall?: { name?: string; args?: unknown } }> };
    finishReason?: string;
  }>;
  usageMetadata?: {
    promptTokenCount?: number;
    candidatesTokenCount?: number;
    cachedContentTokenCount?: number;
  };
  modelVersion?: string;
}

export class VertexGeminiClient implements LlmClient {
  readonly provider = 'vertex';
  readonly model: string;
  readonly url: string;
  private readonly doFetch: typeof fetch;

  constructor(private readonly options: VertexClientOptions) {
    this.model = options.model;
    const base = (options.endpoint ?? `https://${options.location}-aiplatform.googleapis.com`).replace(
      /\/+$/,
      '',
    );
    this.url = `${base}/v1/projects/${encodeURIComponent(options.project)}/locations/${encodeURIComponent(options.location)}/publishers/google/models/${encodeURIComponent(options.model)}:generateContent`;
    this.doFetch = options.fetch ?? fetch;
  }

  async complete(request: LlmRequest, signal: AbortSignal): Promise<LlmResponse> {
    const body = JSON.stringify({
      systemInstruction: { parts: [{ text: request.system }] },
      contents: [{ role: 'user', parts: [{ text: request.prompt }] }],
      tools: [
        {
          functionDeclarations: [
            {
              name: request.tool.name,
              description: request.tool.description,
              parameters: toVertexSchema(request.tool.inputSchema),
            },
          ],
        },
      ],
      toolConfig: { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [request.tool.name] } },
      generationConfig: { temperature: 0, maxOutputTokens: request.maxOutputTokens },
    });
    const maxRetries = this.options.maxRetries ?? 2;
    for (let attempt = 0; ; attempt++) {
      let error: RouterError;
      try {
        const res = await this.send(body, signal);
        if (res.ok) return this.parse(await readJson(res, this.options.maxReplyBytes), request);
        error = httpError(
          res.status,
          await readErrorExcerpt(res, 'Vertex AI'),
          res.headers.get('retry-after'),
        );
      } catch (err) {
        if (!(err instanceof RouterError) || err.reason !== 'network') throw err;
        error = err;
      }
      if (!error.retryable || attempt >= maxRetries) throw error;
      await sleep(error.retryAfterMs ?? 200 * 2 ** attempt, signal);
    }
  }

  private async send(body: string, signal: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    try {
      if (this.options.accessToken) headers.authorization = `Bearer ${await this.options.accessToken()}`;
    } catch (err) {
      throw new RouterError(`cannot get a Google access token: ${(err as Error).message}`, 'client_error', {
        cause: err,
      });
    }
    try {
      return await this.doFetch(this.url, { method: 'POST', headers, body, signal });
    } catch (err) {
      if (signal.aborted) throw new RouterError('Vertex AI call timed out', 'timeout', { cause: err });
      throw new RouterError(`Vertex AI unreachable: ${(err as Error).message}`, 'network', { cause: err });
    }
  }

  private parse(payload: unknown, request: LlmRequest): LlmResponse {
    const p = payload as GenerateContentResponse;
    const candidate = p?.candidates?.[0];
    if (!candidate)
      throw new RouterError('Vertex AI reply has no candidates (blocked or empty)', 'invalid_output');
    const parts = candidate.content?.parts ?? [];
    const call = parts.find((part) => part.functionCall?.name === request.tool.name)?.functionCall;
    const text = parts
      .map((part) => part.text ?? '')
      .join('')
      .trim();
    const out: LlmResponse = { model: p.modelVersion ?? this.model };
    if (call) out.toolInput = restoreMaps(request.tool.inputSchema, call.args ?? {});
    if (text) out.text = text;
    if (candidate.finishReason) out.stopReason = candidate.finishReason;
    const u = p.usageMetadata;
    if (u) {
      out.usage = {
        input_tokens: u.promptTokenCount ?? 0,
        output_tokens: u.candidatesTokenCount ?? 0,
        ...(u.cachedContentTokenCount !== undefined ? { cache_read_tokens: u.cachedContentTokenCount } : {}),
      };
    }
    return out;
  }
}

async function readJson(res: Response, maxBytes = DEFAULT_MAX_REPLY_BYTES): Promise<unknown> {
  const { text } = await readBounded(res, maxBytes, 'Vertex AI');
  try {
    return JSON.parse(text);
  } catch {
    throw new RouterError(`Vertex AI reply is not JSON: ${text.slice(0, 100)}`, 'invalid_output');
  }
}
