/**
 * An `LlmClient` over the Bedrock Converse API. The decision is structured output: the decision
 * schema is the input schema of one tool and `toolChoice` forces that tool. A cache point
 * follows the stable system prompt (tools + instructions), so models with prompt caching reuse
 * that prefix. Throttling and 5xx are retried here with backoff, bounded by `maxRetries` and by
 * the caller's signal (the coordination timeout); the SDK's own retries are off so that the
 * budget is ours. Validation of the decision is the core's job.
 *
 * The SDK reads a reply's whole body into memory before it parses it, with no limit of its own:
 * a middleware placed between the HTTP handler and the deserializer counts the bytes as they
 * arrive and destroys the response stream past `maxReplyBytes` (the connection is dropped), so
 * an endless reply ends as a `reply_too_large` router failure instead of growing the heap.
 */
import {
  BedrockRuntimeClient,
  ConverseCommand,
  type ConverseCommandInput,
  type ConverseCommandOutput,
} from '@aws-sdk/client-bedrock-runtime';
import { Transform, type Readable } from 'node:stream';
import { errorMessage, RouterError, type RouterFailureReason } from '../../core/errors';
import type { TokenUsage } from '../../core/model';
import type { LlmClient, LlmRequest, LlmResponse } from '../../core/ports';
import { DEFAULT_MAX_REPLY_BYTES, replyTooLarge } from '../openai/bounded-body';
import { sleep } from '../openai/openai-client';

type Sender = Pick<BedrockRuntimeClient, 'send'>;

export interface BedrockClientOptions {
  modelId: string;
  /** An SDK client (tests point one at a local server). Default: a client for `region`, maxAttempts 1. */
  client?: Sender;
  region?: string;
  /** Retries after throttling / 5xx (default 2). */
  maxRetries?: number;
  /** Base of the exponential backoff in ms (default 200). */
  backoffMs?: number;
  /** Put a cache point after the system prompt (default true; turn off for models without caching). */
  promptCaching?: boolean;
  /** Bytes of a reply read at most (default 256 KiB); past it the call fails as `reply_too_large`. */
  maxReplyBytes?: number;
}

export class BedrockLlmClient implements LlmClient {
  readonly provider = 'bedrock';
  readonly model: string;
  private readonly client: Sender;

  constructor(private readonly options: BedrockClientOptions) {
    this.model = options.modelId;
    this.client =
      options.client ??
      new BedrockRuntimeClient({ maxAttempts: 1, ...(options.region ? { region: options.region } : {}) });
    if (this.client instanceof BedrockRuntimeClient) {
      capReplyBytes(this.client, options.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES);
    }
  }

  /** The Converse request for an `LlmRequest` (exported for tests and docs). */
  converseInput(request: LlmRequest): ConverseCommandInput {
    return {
      modelId: this.options.modelId,
      system: [
        { text: request.system },
        ...(this.options.promptCaching === false ? [] : [{ cachePoint: { type: 'default' as const } }]),
      ],
      messages: [{ role: 'user', content: [{ text: request.prompt }] }],
      toolConfig: {
        tools: [
          {
            toolSpec: {
              name: request.tool.name,
              description: request.tool.description,
              // The SDK's DocumentType is JSON; the schema is a plain JSON object.
              inputSchema: { json: request.tool.inputSchema as never },
            },
          },
        ],
        toolChoice: { tool: { name: request.tool.name } },
      },
      inferenceConfig: { maxTokens: request.maxOutputTokens, temperature: 0 },
    };
  }

  async complete(request: LlmRequest, signal: AbortSignal): Promise<LlmResponse> {
    const input = this.converseInput(request);
    const maxRetries = this.options.maxRetries ?? 2;
    for (let attempt = 0; ; attempt++) {
      let output: ConverseCommandOutput;
      try {
        output = await this.client.send(new ConverseCommand(input), { abortSignal: signal });
      } catch (err) {
        const error = bedrockError(err, signal);
        if (!(error.reason === 'throttled' || error.reason === 'server_error') || attempt >= maxRetries)
          throw error;
        await sleep(error.retryAfterMs ?? (this.options.backoffMs ?? 200) * 2 ** attempt, signal);
        continue;
      }
      return parseConverse(output, request.tool.name, this.model);
    }
  }
}

/** Maps a Converse reply to an `LlmResponse`: the forced tool's input, any text, usage. */
export function parseConverse(output: ConverseCommandOutput, toolName: string, model: string): LlmResponse {
  const blocks = output.output?.message?.content;
  if (!Array.isArray(blocks))
    throw new RouterError('Bedrock reply has no output.message.content', 'invalid_output');
  const out: LlmResponse = { model };
  const texts: string[] = [];
  for (const block of blocks) {
    if (block.text) texts.push(block.text);
    const use = block.toolUse;
    if (use && out.toolInput === undefined && (use.name === toolName || !use.name)) {
      out.toolInput = typeof use.input === 'string' ? parseToolInput(use.input) : use.input;
    }
  }
  if (texts.length > 0) out.text = texts.join('\n');
  if (output.stopReason) out.stopReason = output.stopReason;
  if (output.usage) out.usage = tokenUsage(output.usage);
  return out;
}

function tokenUsage(u: NonNullable<ConverseCommandOutput['usage']>): TokenUsage {
  return {
    input_tokens: u.inputTokens ?? 0,
    output_tokens: u.outputTokens ?? 0,
    ...(u.cacheReadInputTokens !== undefined ? { cache_read_tokens: u.cacheReadInputTokens } : {}),
    ...(u.cacheWriteInputTokens !== undefined ? { cache_write_tokens: u.cacheWriteInputTokens } : {}),
  };
}

function parseToolInput(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new RouterError(`tool input is not JSON: ${text.slice(0, 100)}`, 'invalid_output');
  }
}

const THROTTLED = new Set([
  'ThrottlingException',
  'ServiceQuotaExceededException',
  'TooManyRequestsException',
]);
const SERVER = new Set([
  'InternalServerException',
  'ServiceUnavailableException',
  'ModelNotReadyException',
  'ModelErrorException',
  'ModelTimeoutException',
]);

/** Maps an SDK error (or an abort) to a `RouterError` with the reason the router records. */
export function bedrockError(err: unknown, signal?: AbortSignal): RouterError {
  if (err instanceof RouterError) return err;
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number }; $response?: unknown };
  const name = e?.name ?? 'Error';
  const status = e?.$metadata?.httpStatusCode ?? 0;
  const detail = `${name}${status ? ` (HTTP ${status})` : ''}: ${errorMessage(err).slice(0, 200)}`;
  let reason: RouterFailureReason;
  if (signal?.aborted || name === 'AbortError' || name === 'TimeoutError') reason = 'timeout';
  else if (THROTTLED.has(name) || status === 429) reason = 'throttled';
  else if (SERVER.has(name) || status >= 500) reason = 'server_error';
  else if (status >= 400) reason = 'client_error';
  else if (status >= 200 && status < 300)
    reason = 'invalid_output'; // a 2xx the SDK could not read
  else reason = 'network';
  return new RouterError(`Bedrock ${reason.replace('_', ' ')}: ${detail}`, reason, { cause: err });
}

const CAP_MIDDLEWARE = 'agentCoordinatorReplyByteCap';

/**
 * Bounds every reply body `client` reads (success and error replies alike). Added once per
 * client, in the deserialize step at low priority: it runs inside the deserializer, so it sees
 * the raw HTTP response before the SDK collects its body.
 */
export function capReplyBytes(client: BedrockRuntimeClient, maxBytes: number): void {
  if (client.middlewareStack.identify().some((entry) => entry.startsWith(CAP_MIDDLEWARE))) return;
  client.middlewareStack.add(
    (next) => async (args) => {
      const out = await next(args);
      const response = out.response as { headers?: Record<string, string>; body?: unknown } | undefined;
      if (response && response.body !== undefined) {
        const declared = Number(response.headers?.['content-length']);
        if (Number.isFinite(declared) && declared > maxBytes) {
          destroyBody(response.body);
          throw replyTooLarge('Bedrock', maxBytes, 0);
        }
        response.body = boundedBody(response.body, maxBytes);
      }
      return out;
    },
    { step: 'deserialize', priority: 'low', name: CAP_MIDDLEWARE },
  );
}

function isNodeReadable(body: unknown): body is Readable {
  return typeof (body as Readable)?.pipe === 'function' && typeof (body as Readable)?.on === 'function';
}

function destroyBody(body: unknown): void {
  if (isNodeReadable(body)) body.destroy();
  else if (body instanceof ReadableStream) void body.cancel().catch(() => undefined);
}

/** The body behind a byte counter that fails (and drops the source) past `maxBytes`. */
function boundedBody(body: unknown, maxBytes: number): unknown {
  let bytes = 0;
  if (isNodeReadable(body)) {
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        bytes += chunk.byteLength;
        if (bytes > maxBytes) {
          body.unpipe(counter);
          body.destroy();
          done(replyTooLarge('Bedrock', maxBytes, bytes));
          return;
        }
        done(null, chunk);
      },
    });
    body.on('error', (err) => counter.destroy(err));
    return body.pipe(counter);
  }
  if (body instanceof ReadableStream) {
    return body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          bytes += chunk.byteLength;
          if (bytes > maxBytes) controller.error(replyTooLarge('Bedrock', maxBytes, bytes));
          else controller.enqueue(chunk);
        },
      }),
    );
  }
  return body;
}
