/** `agent-coordinator tail`: follows decisions and task changes as they happen (GET /stream). */
import { CONNECTION_HELP, CONNECTION_OPTIONS, intOption, oneOf, parse } from '../lib/args';
import { connectionFrom, openStream } from '../lib/client';
import { EXIT } from '../lib/errors';
import { truncate, type Command } from '../lib/io';
import { decidedBy, why, type Task } from './tasks';

export const tail: Command = {
  name: 'tail',
  summary: 'follow decisions as they happen',
  help: `Usage: agent-coordinator tail [options]

Follows the coordinator's live feed (GET /stream, server-sent events) and prints one line per
task change: a new task, a routing decision, an assignment, a completion, a failure. Starts with
the most recent tasks, then follows until Ctrl-C.

Output: TIME TASK TYPE PRIORITY STATUS -> AGENTS [ROUTER/PATH] REASONING

Options:
  -n, --lines N      print the N most recent tasks first (default 10; 0 for none)
  --agent ID         only tasks assigned to (or targeted at) this agent
  --status S         only tasks that reach this status
  --type T           only tasks of this task_type
  --assignments      also print each event the bus published (Task Assignment, Task Rejected,
                     Task Failed)
  --json             one JSON object per line ({"event": "task"|"assignment", "data": ...})
  -h, --help         show this help

${CONNECTION_HELP}

Exit codes: 0 stopped with Ctrl-C, 2 usage error, 3 server unreachable or the stream broke,
4 token refused.`,

  async run(argv, io) {
    const { values } = parse('tail', argv, {
      ...CONNECTION_OPTIONS,
      lines: { type: 'string', short: 'n' },
      agent: { type: 'string' },
      status: { type: 'string' },
      type: { type: 'string' },
      assignments: { type: 'boolean' },
      json: { type: 'boolean' },
    });
    if (values.help) {
      io.stdout.write(`${tail.help}\n`);
      return EXIT.ok;
    }
    const lines = intOption(values.lines, 'lines', 10, 0, 1000);
    const status = oneOf(values.status, 'status', [
      'queued',
      'assigned',
      'completed',
      'failed',
      'rejected',
    ] as const);
    const conn = connectionFrom(values, io.env);
    const wanted = (t: Task) =>
      (!values.agent ||
        t.assigned_agents.includes(values.agent) ||
        Boolean(t.decision?.target_agents.includes(values.agent))) &&
      (!status || t.status === status) &&
      (!values.type || t.task_type === values.type);
    // The first snapshot and the first task events can cross: print each task change once.
    const printed = new Set<string>();
    const print = (event: 'task' | 'assignment', data: unknown) => {
      if (event === 'task') {
        const t = data as Task;
        // Two writes can share a millisecond: the key holds what a line shows.
        const key = `${t.task_id}@${t.updated_at}@${t.status}@${t.assigned_agents.join(',')}@${t.decision?.path ?? ''}`;
        if (printed.has(key)) return;
        if (printed.size > 10_000) printed.clear();
        printed.add(key);
      }
      if (values.json) io.stdout.write(`${JSON.stringify({ event, data })}\n`);
      else io.stdout.write(event === 'task' ? taskLine(data as Task) : assignmentLine(data as Assignment));
    };

    let first = true;
    const { done } = await openStream(
      conn,
      '/stream',
      ({ event, data }) => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(data);
        } catch {
          return;
        }
        if (event === 'snapshot' && first) {
          first = false;
          const recent = [...(parsed as { tasks: Task[] }).tasks].reverse().filter(wanted);
          for (const t of lines > 0 ? recent.slice(-lines) : []) print('task', t);
        } else if (event === 'task' && wanted(parsed as Task)) {
          print('task', parsed);
        } else if (event === 'assignment' && values.assignments) {
          const a = parsed as Assignment;
          if (!values.agent || a.target_agent === values.agent) print('assignment', a);
        }
      },
      io.signal,
    );
    io.stderr.write(`following ${conn.url}/stream (Ctrl-C to stop)\n`);
    await done;
    if (io.signal.aborted) return EXIT.ok;
    io.stderr.write(`the stream from ${conn.url} ended (server stopped?)\n`);
    return EXIT.unreachable;
  },
};

interface Assignment {
  type: string;
  target_agent?: string;
  task_id: string;
  published_at: string;
}

function time(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '--:--:--' : d.toISOString().slice(11, 19);
}

function taskLine(t: Task): string {
  const agents = (t.assigned_agents.length ? t.assigned_agents : (t.decision?.target_agents ?? [])).join(',');
  const reason = why(t);
  return `${time(t.updated_at)} ${t.task_id} ${t.task_type} ${t.priority} ${t.status}${agents ? ` -> ${agents}` : ''} [${decidedBy(t)}]${reason ? ` ${truncate(reason, 120)}` : ''}\n`;
}

function assignmentLine(a: Assignment): string {
  return `${time(a.published_at)} ${a.task_id} published ${a.type}${a.target_agent ? ` to ${a.target_agent}` : ''}\n`;
}
