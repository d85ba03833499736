/**
 * `agent-coordinator replay`: sends every event of a JSON-lines file, in order, with a progress
 * bar (plain progress lines when stderr is not a terminal) and a summary at the end. Honours
 * 429 and 503 with their Retry-After, so it can replay into a rate-limited server.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { readFile } from 'node:fs/promises';
import { CONNECTION_HELP, CONNECTION_OPTIONS, intOption, parse } from '../lib/args';
import { connectionFrom, reasonOf, request, type Connection, type HttpResult } from '../lib/client';
import { CliError, EXIT, usageError } from '../lib/errors';
import { readAll, type Command, type Io } from '../lib/io';

export interface FailureGroup {
  code: string;
  count: number;
  /** The first reason seen for this code. */
  example: string;
  lines: number[];
}

export interface ReplaySummary {
  file: string;
  url: string;
  /** Non-blank lines in the file (events to send). */
  events: number;
  /** Events handled so far: sent and answered, or refused before sending (invalid JSON). */
  processed: number;
  succeeded: number;
  failed: number;
  failures: FailureGroup[];
  /** Answers 429 (rate limited) and 503 (retry later) that were waited out and retried. */
  rate_limited: number;
  retried: number;
  elapsed_seconds: number;
  events_per_second: number;
  /** Why the replay stopped early, if it did. */
  stopped?: string;
}

const RETRYABLE = new Set([429, 502, 503, 504]);

export const replay: Command = {
  name: 'replay',
  summary: 'send every event of a JSON-lines file, with progress and a summary',
  help: `Usage: agent-coordinator replay FILE [options]

Sends each line of FILE (JSON lines: one event per line; "-" reads stdin) to POST /events, in
order, one at a time. Blank lines are skipped. A line that is not JSON is counted as failed
(invalid_json) and not sent. Answers 429 and 503 are retried after their Retry-After.

Shows a progress bar on a terminal, or a progress line every 10% otherwise, then a summary:
events processed, succeeded, failed (grouped by reason, with line numbers), retries, rate.

Options:
  --max-retries N    retries per event on 429/502/503/504 (default 10)
  --max-wait SECS    longest single wait for a Retry-After (default 120)
  --json             print the summary as JSON on stdout
  -q, --quiet        no progress output
  -h, --help         show this help

${CONNECTION_HELP}

Exit codes: 0 every event succeeded, 1 some events failed, 2 usage error (e.g. FILE missing),
3 server unreachable (partial summary printed), 4 token refused, 130 interrupted (partial
summary printed).

Example:
  agent-coordinator replay examples/events-1000.jsonl`,

  async run(argv, io) {
    const { values, positionals } = parse(
      'replay',
      argv,
      {
        ...CONNECTION_OPTIONS,
        'max-retries': { type: 'string' },
        'max-wait': { type: 'string' },
        json: { type: 'boolean' },
        quiet: { type: 'boolean', short: 'q' },
      },
      true,
    );
    if (values.help) {
      io.stdout.write(`${replay.help}\n`);
      return EXIT.ok;
    }
    if (positionals.length !== 1)
      throw usageError('replay takes one FILE of JSON lines (see "agent-coordinator replay --help")');
    const file = positionals[0]!;
    const conn = connectionFrom(values, io.env);
    const maxRetries = intOption(values['max-retries'], 'max-retries', 10, 0, 1000);
    const maxWaitMs = intOption(values['max-wait'], 'max-wait', 120, 1, 3600) * 1000;
    let text: string;
    try {
      text = file === '-' ? await readAll(io.stdin) : await readFile(file, 'utf8');
    } catch (err) {
      throw usageError(`cannot read ${file}: ${(err as Error).message}`);
    }
    const lines = text.split('\n').map((l, i) => ({ n: i + 1, text: l.trim() }));
    const events = lines.filter((l) => l.text.length > 0);

    const started = performance.now();
    const summary: ReplaySummary = {
      file,
      url: conn.url,
      events: events.length,
      processed: 0,
      succeeded: 0,
      failed: 0,
      failures: [],
      rate_limited: 0,
      retried: 0,
      elapsed_seconds: 0,
      events_per_second: 0,
    };
    const progress = values.quiet ? undefined : new Progress(io, events.length);
    const fail = (line: number, code: string, reason: string) => {
      summary.failed += 1;
      let group = summary.failures.find((g) => g.code === code);
      if (!group)
        summary.failures.push((group = { code, count: 0, example: `line ${line}: ${reason}`, lines: [] }));
      group.count += 1;
      group.lines.push(line);
    };

    let exit: number = EXIT.ok;
    for (const line of events) {
      if (io.signal.aborted) {
        summary.stopped = 'interrupted';
        exit = EXIT.interrupted;
        break;
      }
      try {
        JSON.parse(line.text);
      } catch (err) {
        fail(line.n, 'invalid_json', (err as Error).message);
        summary.processed += 1;
        progress?.update(summary);
        continue;
      }
      let res: HttpResult;
      try {
        res = await sendWithRetries(conn, line.text, { maxRetries, maxWaitMs, io, summary, progress });
      } catch (err) {
        if (err instanceof CliError && err.exitCode === EXIT.unreachable) {
          summary.stopped = err.message;
          exit = EXIT.unreachable;
          break;
        }
        if (io.signal.aborted) {
          summary.stopped = 'interrupted';
          exit = EXIT.interrupted;
          break;
        }
        throw err;
      }
      summary.processed += 1;
      if (res.status >= 200 && res.status < 300) {
        const batch = res.json as {
          batchItemFailures?: unknown[];
          outcomes?: Array<{ status: string; code?: string; reason?: string; error?: string }>;
        };
        const bad = batch?.outcomes?.filter((o) => o.status !== 'done') ?? [];
        if (bad.length > 0)
          fail(
            line.n,
            (bad[0]!.code ?? 'batch_item_failed').toLowerCase(),
            `${bad.length} record(s) failed: ${bad[0]!.reason ?? bad[0]!.error ?? ''}`,
          );
        else summary.succeeded += 1;
      } else {
        const body = res.json as { error?: string; reason?: string } | undefined;
        fail(line.n, body?.error ?? `http_${res.status}`, body?.reason ?? reasonOf(res));
      }
      progress?.update(summary);
    }

    const elapsed = (performance.now() - started) / 1000;
    summary.elapsed_seconds = Math.round(elapsed * 1000) / 1000;
    summary.events_per_second = elapsed > 0 ? Math.round((summary.processed / elapsed) * 10) / 10 : 0;
    progress?.finish(summary);
    io.stdout.write(values.json ? `${JSON.stringify(summary, null, 2)}\n` : formatSummary(summary));
    if (exit !== EXIT.ok) return exit;
    return summary.failed > 0 ? EXIT.failed : EXIT.ok;
  },
};

async function sendWithRetries(
  conn: Connection,
  body: string,
  ctx: {
    maxRetries: number;
    maxWaitMs: number;
    io: Io;
    summary: ReplaySummary;
    progress: Progress | undefined;
  },
): Promise<HttpResult> {
  for (let attempt = 0; ; attempt++) {
    const res = await request(conn, 'POST', '/events', { body, signal: ctx.io.signal });
    if (!RETRYABLE.has(res.status) || attempt >= ctx.maxRetries) return res;
    if (res.status === 429) ctx.summary.rate_limited += 1;
    ctx.summary.retried += 1;
    const header = Number(res.headers.get('retry-after'));
    const waitMs = Math.min(
      ctx.maxWaitMs,
      Number.isFinite(header) && header >= 0 ? header * 1000 : Math.min(30_000, 500 * 2 ** attempt),
    );
    ctx.progress?.waiting(res.status, waitMs);
    await delay(waitMs, undefined, { signal: ctx.io.signal });
  }
}

/** A progress bar on a terminal; a line every 10% (and on waits) otherwise. */
class Progress {
  private readonly tty: boolean;
  private readonly started = performance.now();
  private lastDraw = 0;
  private nextTenth = 1;
  private note = '';

  constructor(
    private readonly io: Io,
    private readonly total: number,
  ) {
    this.tty = Boolean(io.stderr.isTTY);
  }

  update(s: ReplaySummary): void {
    this.note = '';
    if (this.tty) {
      const now = performance.now();
      if (now - this.lastDraw < 80 && s.processed < this.total) return;
      this.lastDraw = now;
      this.io.stderr.write(`\r\x1b[K${this.bar(s)}`);
      return;
    }
    while (this.total > 0 && s.processed >= (this.total * this.nextTenth) / 10) {
      this.nextTenth += 1;
      this.io.stderr.write(`replay: ${this.counts(s)}\n`);
    }
  }

  waiting(status: number, ms: number): void {
    const what = status === 429 ? 'rate limited (429)' : `server busy (${status})`;
    this.note = `${what}: waiting ${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
    if (this.tty) this.io.stderr.write(`\r\x1b[K${this.note}`);
    else this.io.stderr.write(`replay: ${this.note}\n`);
  }

  finish(s: ReplaySummary): void {
    if (this.tty) this.io.stderr.write(`\r\x1b[K${this.bar(s)}\n`);
    else if (s.processed < this.total) this.io.stderr.write(`replay: stopped at ${this.counts(s)}\n`);
  }

  private rate(s: ReplaySummary): number {
    const seconds = (performance.now() - this.started) / 1000;
    return seconds > 0 ? s.processed / seconds : 0;
  }

  private counts(s: ReplaySummary): string {
    const pct = this.total ? Math.floor((100 * s.processed) / this.total) : 100;
    return `${s.processed}/${this.total} (${pct}%) ok ${s.succeeded} failed ${s.failed}, ${this.rate(s).toFixed(0)} events/s`;
  }

  private bar(s: ReplaySummary): string {
    const width = Math.max(10, Math.min(40, (this.io.stderr.columns ?? 80) - 60));
    const ratio = this.total ? s.processed / this.total : 1;
    const full = Math.round(ratio * width);
    const rate = this.rate(s);
    const eta = rate > 0 ? Math.ceil((this.total - s.processed) / rate) : 0;
    return `[${'#'.repeat(full)}${'-'.repeat(width - full)}] ${this.counts(s)}${s.processed < this.total ? `, eta ${eta}s` : ''}`;
  }
}

export function formatSummary(s: ReplaySummary): string {
  const out = [
    `replayed ${s.file} to ${s.url}${s.stopped ? ` (stopped early: ${s.stopped})` : ''}`,
    `  processed: ${s.processed} of ${s.events} events`,
    `  succeeded: ${s.succeeded}`,
    `  failed:    ${s.failed}`,
  ];
  for (const g of [...s.failures].sort((a, b) => b.count - a.count)) {
    const lines =
      g.lines.slice(0, 10).join(', ') + (g.lines.length > 10 ? `, ... (${g.lines.length - 10} more)` : '');
    const example = g.example.length > 150 ? `${g.example.slice(0, 149)}…` : g.example;
    out.push(`    ${String(g.count).padStart(4)}  ${g.code}: ${example}`, `          lines ${lines}`);
  }
  out.push(`  retried:   ${s.retried}${s.rate_limited ? ` (${s.rate_limited} rate limited)` : ''}`);
  out.push(`  time:      ${s.elapsed_seconds.toFixed(2)} s, ${s.events_per_second} events/s`);
  return `${out.join('\n')}\n`;
}
