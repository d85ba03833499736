/** `agent-coordinator tasks`: recent tasks with their decision, filtered; or one task in full. */
import { CONNECTION_HELP, CONNECTION_OPTIONS, intOption, oneOf, parse } from '../lib/args';
import { connectionFrom, getJson } from '../lib/client';
import { EXIT, usageError } from '../lib/errors';
import { ago, table, truncate, type Command } from '../lib/io';
import { PRIORITIES, ROUTERS, TASK_STATUSES, type TaskRecord } from '../../shared/core/model';

/** A task as the API returns it: the ledger's record. */
export type Task = TaskRecord;

export const tasks: Command = {
  name: 'tasks',
  summary: 'list tasks with their decisions, or show one',
  help: `Usage: agent-coordinator tasks [TASK_ID] [options]

Without TASK_ID lists tasks, most recently updated first, with who decided and why.
With TASK_ID prints that task's record as JSON (decision, history, attempts, result).

Options:
  --status S       queued, assigned, completed, failed or rejected
  --agent ID       only tasks assigned to (or targeted at) this agent
  --type T         only tasks of this task_type
  --priority P     critical, high, medium or low
  --router R       only tasks decided by llm, rules or direct
  --limit N        show at most N tasks (default 20, at most 1000)
  --json           print the tasks as JSON (one array)
  -h, --help       show this help

${CONNECTION_HELP}

Exit codes: 0 listed (even if none matched), 1 task not found, 2 usage error,
3 server unreachable, 4 token refused.`,

  async run(argv, io) {
    const { values, positionals } = parse(
      'tasks',
      argv,
      {
        ...CONNECTION_OPTIONS,
        status: { type: 'string' },
        agent: { type: 'string' },
        type: { type: 'string' },
        priority: { type: 'string' },
        router: { type: 'string' },
        limit: { type: 'string' },
        json: { type: 'boolean' },
      },
      true,
    );
    if (values.help) {
      io.stdout.write(`${tasks.help}\n`);
      return EXIT.ok;
    }
    if (positionals.length > 1) throw usageError('tasks takes at most one TASK_ID');
    const conn = connectionFrom(values, io.env);
    if (positionals.length === 1) {
      const task = await getJson<Task>(conn, `/tasks/${encodeURIComponent(positionals[0]!)}`);
      io.stdout.write(`${JSON.stringify(task, null, 2)}\n`);
      return EXIT.ok;
    }
    const status = oneOf(values.status, 'status', TASK_STATUSES);
    const priority = oneOf(values.priority, 'priority', PRIORITIES);
    const router = oneOf(values.router, 'router', ROUTERS);
    const limit = intOption(values.limit, 'limit', 20, 1, 1000);
    // The API pages each status in queue order: read a full page, then filter and sort here.
    const { tasks: all } = await getJson<{ tasks: Task[] }>(
      conn,
      `/tasks?limit=1000${status ? `&status=${status}` : ''}`,
    );
    const list = all
      .filter(
        (t) =>
          (!values.agent ||
            t.assigned_agents.includes(values.agent) ||
            t.decision?.target_agents.includes(values.agent)) &&
          (!values.type || t.task_type === values.type) &&
          (!priority || t.priority === priority) &&
          (!router || t.decision?.router === router),
      )
      .sort((a, b) => (a.updated_at < b.updated_at ? 1 : -1))
      .slice(0, limit);
    if (values.json) {
      io.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
      return EXIT.ok;
    }
    if (list.length === 0) {
      io.stdout.write('no tasks\n');
      return EXIT.ok;
    }
    io.stdout.write(
      table(
        ['TASK', 'TYPE', 'PRIORITY', 'STATUS', 'AGENTS', 'DECIDED BY', 'UPDATED', 'REASONING', 'A2A TASK'],
        list.map((t) => [
          t.task_id,
          t.task_type,
          t.priority,
          t.status,
          (t.assigned_agents.length ? t.assigned_agents : (t.decision?.target_agents ?? [])).join(',') || '-',
          decidedBy(t),
          ago(t.updated_at),
          truncate(why(t), 80),
          t.a2a_tasks?.map((r) => `${r.agent_id}:${r.a2a_task_id ?? r.state}`).join(',') || '-',
        ]),
      ),
    );
    return EXIT.ok;
  },
};

/** Why a task is where it is: the error for a failed or waiting task, else the decision's reasoning. */
export function why(
  t: Pick<Task, 'status' | 'error' | 'reason' | 'decision'> & Partial<Pick<Task, 'waiting'>>,
): string {
  const reasoning = t.decision?.reasoning ?? '';
  if (t.waiting) return `waiting for input: ${t.waiting.message}`;
  if (t.status === 'assigned' || t.status === 'completed') return reasoning;
  return t.error ?? t.reason ?? reasoning;
}

export function decidedBy(t: Pick<Task, 'decision'>): string {
  const d = t.decision;
  if (!d) return '-';
  const llm = d.router === 'llm' && d.usage ? ` ${d.usage.input_tokens}+${d.usage.output_tokens}tok` : '';
  const ms = d.latency_ms !== undefined ? ` ${Math.round(d.latency_ms)}ms` : '';
  return `${d.router}/${d.path}${llm}${ms}`;
}
