/**
 * A local server speaking the Bedrock Runtime Converse wire format (restJson1):
 * `POST /model/{modelId}/converse`, errors typed by the `x-amzn-errortype` header.
 */
import http from 'node:http';
import http2 from 'node:http2';
import { close, listen } from './local-aws';

export interface ConverseCall {
  modelId: string;
  body: {
    system?: Array<{ text?: string; cachePoint?: { type: string } }>;
    messages?: Array<{ role: string; content: Array<{ text?: string }> }>;
    toolConfig?: {
      tools: Array<{ toolSpec: { name: string; inputSchema: { json: Record<string, unknown> } } }>;
      toolChoice?: { tool?: { name: string } };
    };
    inferenceConfig?: { maxTokens?: number };
  };
}

export interface Reply {
  status?: number;
  errorType?: string;
  /** An object is sent as JSON; a string is sent as is (to send broken JSON). */
  body: unknown;
  delayMs?: number;
}

export const usage = {
  inputTokens: 812,
  outputTokens: 64,
  totalTokens: 876,
  cacheReadInputTokens: 700,
  cacheWriteInputTokens: 0,
};

/** A realistic successful reply calling `tool` with `input`. */
export function toolUseReply(tool: string, input: unknown): Reply {
  return {
    body: {
      output: {
        message: {
          role: 'assistant',
          content: [{ toolUse: { toolUseId: 'tooluse_kZJMlvQmRJ6eAyJE5GIl7Q', name: tool, input } }],
        },
      },
      stopReason: 'tool_use',
      usage,
      metrics: { latencyMs: 742 },
    },
  };
}

export function textReply(text: string): Reply {
  return {
    body: {
      output: { message: { role: 'assistant', content: [{ text }] } },
      stopReason: 'end_turn',
      usage: { inputTokens: 800, outputTokens: 40, totalTokens: 840 },
      metrics: { latencyMs: 500 },
    },
  };
}

export const throttled: Reply = {
  status: 429,
  errorType: 'ThrottlingException',
  body: { message: 'Too many requests, please wait before trying again.' },
};
export const serverError: Reply = {
  status: 500,
  errorType: 'InternalServerException',
  body: { message: 'The server encountered an internal error.' },
};

/**
 * `http2`: HTTP/2 without TLS, which the SDK's default request handler for Bedrock Runtime
 * speaks (tests that give the client a `NodeHttpHandler` use HTTP/1.1).
 */
export async function startConverseServer(
  reply: (call: ConverseCall, n: number) => Reply,
  options: { http2?: boolean } = {},
) {
  const calls: ConverseCall[] = [];
  const handle = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const match = /^\/model\/([^/]+)\/converse$/.exec(req.url ?? '');
      if (req.method !== 'POST' || !match) {
        res.writeHead(404, { 'x-amzn-errortype': 'UnknownOperationException' }).end('{}');
        return;
      }
      const call: ConverseCall = {
        modelId: decodeURIComponent(match[1]!),
        body: JSON.parse(Buffer.concat(chunks).toString()),
      };
      calls.push(call);
      const r = reply(call, calls.length);
      const send = () => {
        if (res.destroyed) return;
        const headers: Record<string, string> = {
          'content-type': 'application/json',
          'x-amzn-requestid': `req-${calls.length}`,
        };
        if (r.errorType) headers['x-amzn-errortype'] = r.errorType;
        res
          .writeHead(r.status ?? 200, headers)
          .end(typeof r.body === 'string' ? r.body : JSON.stringify(r.body));
      };
      if (r.delayMs) {
        const timer = setTimeout(send, r.delayMs);
        res.on('close', () => clearTimeout(timer));
      } else send();
    });
  };
  // The HTTP/2 compatibility API has the request and response methods used here.
  const server = options.http2
    ? (http2.createServer(handle as never) as unknown as http.Server)
    : http.createServer(handle);
  const endpoint = await listen(server);
  return { endpoint, calls, stop: () => close(server) };
}
