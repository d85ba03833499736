/**
 * An `LlmClient` over the Bedrock Converse API. The decision is structured output: the decision
 * schema is the input schema of one tool and `toolChoice` forces that tool. A cache point
 * follows the stable system prompt (tools + instructions), so models with prompt caching reuse
 * that prefix. Throttling and 5xx are retried here with backoff, bounded by `maxRetries` and by
 * the caller's signal (the coordination timeout); the SDK's own retries are off so that the
 * budget is ours. Validation of the decision is the core's job.
 */
import {
  BedrockRuntimeClient,
  ConverseCommand,
  type ConverseCommandInput,
  type ConverseCommandOutput,
} from '@aws-sdk/client-bedrock-runtime';
import { errorMessage, RouterError, type RouterFailureReason } from '../../core/errors';
import type { TokenUsage } from '../../core/model';
import type { LlmClient, LlmRequest, LlmResponse } from '../../core/ports';
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
