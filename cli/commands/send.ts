/** `agent-coordinator send`: one event, from a file, stdin or flags, to POST /events. */
import { readFile } from 'node:fs/promises';
import { CONNECTION_HELP, CONNECTION_OPTIONS, intOption, jsonOption, oneOf, parse } from '../lib/args';
import { connectionFrom, reasonOf, request } from '../lib/client';
import { EXIT, usageError } from '../lib/errors';
import { readAll, type Command } from '../lib/io';

const PRIORITIES = ['critical', 'high', 'medium', 'low'] as const;
const STATES = ['available', 'busy', 'offline'] as const;

const OPTIONS = {
  ...CONNECTION_OPTIONS,
  type: { type: 'string', short: 't' },
  'task-id': { type: 'string' },
  'task-type': { type: 'string' },
  agent: { type: 'string', short: 'a' },
  priority: { type: 'string', short: 'p' },
  data: { type: 'string' },
  capabilities: { type: 'string' },
  state: { type: 'string' },
  'max-concurrent': { type: 'string' },
  status: { type: 'string' },
  result: { type: 'string' },
  error: { type: 'string' },
  set: { type: 'string', multiple: true },
  'request-id': { type: 'string' },
  json: { type: 'boolean' },
} as const;

export const send: Command = {
  name: 'send',
  summary: 'send one event (from a file, stdin or flags)',
  help: `Usage: agent-coordinator send [FILE | -] [options]

Sends one event to POST /events. The event is the JSON in FILE ("-" reads stdin), or is built
from flags. Any shape the coordinator accepts works from a file: a direct message ("type"), an
EventBridge event ("detail-type"), a CloudEvent, an SQS batch. For many events use "replay".

Building an event from flags:
  -t, --type TYPE         coordination_request, task_assignment, agent_state_change,
                          task_completion, error_event, agent_health_check
      --task-id ID        task_id (the idempotency key)
      --task-type TYPE    task_type, e.g. nutrition_analysis
  -a, --agent ID          agent_id (requester, target, or the agent reporting)
  -p, --priority P        critical, high, medium or low
      --data JSON         task_data
      --capabilities A,B  capabilities (agent_state_change) or required_capabilities
                          (coordination_request)
      --state S           new_state: available, busy or offline (agent_state_change)
      --max-concurrent N  max_concurrent_tasks (agent_state_change)
      --status S          succeeded or failed (task_completion)
      --result JSON       result (task_completion)
      --error TEXT        error (error_event)
      --set KEY=VALUE     any other field; VALUE is parsed as JSON when it can be (repeatable)
      --request-id ID     x-request-id header: the delivery id (idempotency for events
                          without a task_id)
      --json              print the server's answer as JSON
  -h, --help              show this help

${CONNECTION_HELP}

Exit codes: 0 accepted, 1 refused or failed (reason on stderr), 2 usage error,
3 server unreachable, 4 token refused.

Examples:
  agent-coordinator send --type agent_state_change --agent npa --state available \\
      --capabilities nutrition_analysis,meal_planning
  agent-coordinator send -t coordination_request --task-type nutrition_analysis -p high \\
      --data '{"meal":"oatmeal"}'
  agent-coordinator send event.json --url https://coordinator.example.com`,

  async run(argv, io) {
    const { values, positionals } = parse('send', argv, OPTIONS, true);
    if (values.help) {
      io.stdout.write(`${send.help}\n`);
      return EXIT.ok;
    }
    if (positionals.length > 1)
      throw usageError('send takes at most one FILE; for many events use "agent-coordinator replay FILE"');
    const conn = connectionFrom(values, io.env);
    const body =
      positionals.length === 1 ? await fromFile(positionals[0]!, io) : JSON.stringify(fromFlags(values));
    const res = await request(conn, 'POST', '/events', {
      body,
      ...(values['request-id'] ? { headers: { 'x-request-id': values['request-id'] } } : {}),
    });
    const ok = res.status >= 200 && res.status < 300;
    if (values.json) io.stdout.write(`${res.text}\n`);
    else if (ok) io.stdout.write(describe(res.json));
    if (!ok) {
      io.stderr.write(`error: ${res.status} ${reasonOf(res)}\n`);
      return EXIT.failed;
    }
    const failures = (res.json as { batchItemFailures?: unknown[] } | undefined)?.batchItemFailures;
    if (failures && failures.length > 0) {
      io.stderr.write(`error: ${failures.length} record(s) of the batch failed\n`);
      return EXIT.failed;
    }
    return EXIT.ok;
  },
};

async function fromFile(file: string, io: Parameters<Command['run']>[1]): Promise<string> {
  let text: string;
  try {
    text = file === '-' ? await readAll(io.stdin) : await readFile(file, 'utf8');
  } catch (err) {
    throw usageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    JSON.parse(text);
  } catch (err) {
    const hint = text.trim().includes('\n{')
      ? ' (it looks like JSON lines: use "agent-coordinator replay")'
      : '';
    throw usageError(
      `${file === '-' ? 'stdin' : file} is not one JSON event: ${(err as Error).message}${hint}`,
    );
  }
  return text;
}

type Values = ReturnType<typeof parse<typeof OPTIONS>>['values'];

function fromFlags(v: Values): Record<string, unknown> {
  if (!v.type)
    throw usageError(
      'give a FILE, "-" for stdin, or --type with the event fields (see "agent-coordinator send --help")',
    );
  const event: Record<string, unknown> = { type: v.type };
  const list = (s: string) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  if (v['task-id']) event.task_id = v['task-id'];
  if (v['task-type']) event.task_type = v['task-type'];
  if (v.agent) event.agent_id = v.agent;
  if (v.priority) event.priority = oneOf(v.priority, 'priority', PRIORITIES);
  if (v.data !== undefined) event.task_data = jsonOption(v.data, 'data');
  if (v.capabilities !== undefined) {
    event[
      v.type === 'agent_state_change' || v.type === 'Agent State Change'
        ? 'capabilities'
        : 'required_capabilities'
    ] = list(v.capabilities);
  }
  if (v.state) event.new_state = oneOf(v.state, 'state', STATES);
  if (v['max-concurrent'] !== undefined)
    event.max_concurrent_tasks = intOption(v['max-concurrent'], 'max-concurrent', 1, 1, 1000);
  if (v.status) event.status = oneOf(v.status, 'status', ['succeeded', 'failed'] as const);
  if (v.result !== undefined) event.result = jsonOption(v.result, 'result');
  if (v.error !== undefined) event.error = v.error;
  for (const pair of v.set ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw usageError(`--set takes KEY=VALUE, got "${pair}"`);
    const raw = pair.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // Not JSON: the text itself.
    }
    event[pair.slice(0, eq)] = value;
  }
  return event;
}

/** One readable line for the common answers, the JSON otherwise. */
function describe(result: unknown): string {
  const r = (result ?? {}) as Record<string, unknown>;
  if (typeof r.task_id === 'string' && typeof r.status === 'string' && Array.isArray(r.assigned_agents)) {
    const agents = (r.assigned_agents as string[]).join(', ');
    const by = r.router ? ` by ${r.router}${r.path && r.path !== r.router ? `/${r.path}` : ''}` : '';
    return (
      `task ${r.task_id}: ${r.status}${agents ? ` -> ${agents}` : ''}${by}${r.duplicate ? ' (duplicate: already known)' : ''}\n` +
      (r.reasoning ? `  ${r.reasoning}\n` : '')
    );
  }
  if (typeof r.agent_id === 'string' && typeof r.status === 'string' && 'active_tasks' in r) {
    const assigned =
      Array.isArray(r.assigned) && r.assigned.length
        ? `; assigned queued task(s) ${(r.assigned as string[]).join(', ')}`
        : '';
    return `agent ${r.agent_id}: ${r.status} (${String(r.active_tasks)} active)${assigned}\n`;
  }
  return `${JSON.stringify(result, null, 2)}\n`;
}
