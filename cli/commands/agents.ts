/** `agent-coordinator agents`: the registry, with load, heartbeat age and stale marks. */
import { CONNECTION_HELP, CONNECTION_OPTIONS, oneOf, parse } from '../lib/args';
import { connectionFrom, getJson } from '../lib/client';
import { EXIT } from '../lib/errors';
import { ago, table, type Command } from '../lib/io';
import type { AgentRecord } from '../../shared/core/model';

/** An agent as `GET /agents` returns it: the registry's record, marked when its heartbeat is stale. */
type Agent = AgentRecord & { stale?: boolean };

export const agents: Command = {
  name: 'agents',
  summary: 'list registered agents',
  help: `Usage: agent-coordinator agents [options]

Lists the registered agents: status, load (active/max tasks), capabilities, last heartbeat.
A stale agent (no heartbeat within AGENT_HEARTBEAT_TTL, not yet marked offline) is marked STALE.

Options:
  --status S         only agents in this status: available, busy or offline
  --capability C     only agents with this capability
  --stale            only stale agents
  --json             print the agents as JSON (one array)
  -h, --help         show this help

${CONNECTION_HELP}

Exit codes: 0 listed (even if none matched), 2 usage error, 3 server unreachable, 4 token refused.`,

  async run(argv, io) {
    const { values } = parse('agents', argv, {
      ...CONNECTION_OPTIONS,
      status: { type: 'string' },
      capability: { type: 'string' },
      stale: { type: 'boolean' },
      json: { type: 'boolean' },
    });
    if (values.help) {
      io.stdout.write(`${agents.help}\n`);
      return EXIT.ok;
    }
    const status = oneOf(values.status, 'status', ['available', 'busy', 'offline'] as const);
    const conn = connectionFrom(values, io.env);
    const list = (await getJson<{ agents: Agent[] }>(conn, '/agents')).agents.filter(
      (a) =>
        (!status || a.status === status) &&
        (!values.capability || a.capabilities.includes(values.capability)) &&
        (!values.stale || a.stale),
    );
    if (values.json) {
      io.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
      return EXIT.ok;
    }
    if (list.length === 0) {
      io.stdout.write('no agents\n');
      return EXIT.ok;
    }
    io.stdout.write(
      table(
        ['AGENT', 'STATUS', 'LOAD', 'HEARTBEAT', 'CAPABILITIES'],
        list.map((a) => [
          a.agent_id,
          a.stale ? `${a.status} STALE` : a.status,
          `${a.active_tasks}/${a.max_concurrent_tasks}`,
          ago(a.last_heartbeat),
          a.capabilities.join(','),
        ]),
      ),
    );
    return EXIT.ok;
  },
};
