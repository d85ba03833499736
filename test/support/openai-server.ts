/**
 * A local server speaking the OpenAI chat-completions wire format, scripted per test. It
 * records every request so tests can check what the client sent.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ScriptedReply {
  status?: number;
  headers?: Record<string, string>;
  /** An object is sent as JSON; a string as is. */
  body?: unknown;
  /** Hold the reply this long (for timeouts); the server drops it if the client goes away. */
  delayMs?: number;
}

export interface ChatServer {
  url: string;
  requests: Array<{ path: string; headers: http.IncomingHttpHeaders; body: Record<string, unknown> }>;
  /** Replies are taken in order; the last one repeats. */
  script(...replies: Array<ScriptedReply | ((body: Record<string, unknown>) => ScriptedReply)>): void;
  close(): Promise<void>;
}

export function toolCallReply(
  args: unknown,
  opts: { usage?: { prompt_tokens: number; completion_tokens: number }; name?: string } = {},
): ScriptedReply {
  return {
    body: {
      id: 'chatcmpl-1',
      object: 'chat.completion',
      model: 'test-model',
      choices: [
        {
          index: 0,
          finish_reason: 'tool_calls',
          message: {
            role: 'assistant',
            content: null,
            tool_calls: [
              {
                id: 'call_1',
                type: 'function',
                function: {
                  name: opts.name ?? 'route_task',
                  arguments: typeof args === 'string' ? args : JSON.stringify(args),
                },
              },
            ],
          },
        },
      ],
      usage: { prompt_tokens: 420, completion_tokens: 38, total_tokens: 458, ...opts.usage },
    },
  };
}

export function textReply(text: string): ScriptedReply {
  return {
    body: {
      id: 'chatcmpl-2',
      object: 'chat.completion',
      model: 'test-model',
      choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: text } }],
      usage: { prompt_tokens: 400, completion_tokens: 20, total_tokens: 420 },
    },
  };
}

export async function startChatServer(): Promise<ChatServer> {
  let replies: Array<ScriptedReply | ((body: Record<string, unknown>) => ScriptedReply)> = [];
  let next = 0;
  const requests: ChatServer['requests'] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        /* recorded as empty */
      }
      requests.push({ path: req.url ?? '', headers: req.headers, body });
      const entry = replies[Math.min(next++, replies.length - 1)];
      const reply =
        typeof entry === 'function' ? entry(body) : (entry ?? { status: 500, body: { error: 'no script' } });
      const send = () => {
        if (res.destroyed) return;
        const payload = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body ?? {});
        res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers });
        res.end(payload);
      };
      if (reply.delayMs) {
        const timer = setTimeout(send, reply.delayMs);
        res.on('close', () => clearTimeout(timer));
      } else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    script: (...r) => {
      replies = r;
      next = 0;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
