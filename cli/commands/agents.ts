/** `agent-coordinator agents`: the registry, with load, heartbeat age and stale marks. */
import { CONNECTION_HELP, CONNECTION_OPTIONS, oneOf, parse } from '../lib/args';
import { connectionFrom, getJson, reasonOf, request } from '../lib/client';
import { CliError, EXIT, usageError } from '../lib/errors';
import { ago, table, type Command } from '../lib/io';
import type { AgentRecord } from '../../shared/core/model';

/** An agent as `GET /agents` returns it: the registry's record, marked when its heartbeat is stale. */
type Agent = AgentRecord & { stale?: boolean };

export const agents: Command = {
  name: 'agents',
  summary: 'list registered agents',
  help: `Usage: agent-coordinator agents [options]
       agent-coordinator agents add <card-url> [--id ID] [--capability C]... [--max N]

Lists the registered agents: status, load (active/max tasks), capabilities, last heartbeat and
protocol (events, or a2a for an agent registered from an Agent Card). A stale agent (no
heartbeat within AGENT_HEARTBEAT_TTL, not yet marked offline) is marked STALE.

"agents add" registers an agent that speaks A2A from its Agent Card (the card's URL, or the
agent's base URL): the coordinator fetches the card, maps its skills to capabilities (plus any
--capability) and sends the agent its tasks over A2A. The id defaults to the card's name.

Options:
  --status S         only agents in this status: available, busy or offline
  --capability C     only agents with this capability
  --stale            only stale agents
  --json             print the agents as JSON (one array)
  --id ID            (add) the agent's id; default: the card's name, as an id
  --max N            (add) max concurrent tasks
  -h, --help         show this help

${CONNECTION_HELP}

Exit codes: 0 listed (even if none matched), 2 usage error, 3 server unreachable, 4 token refused.`,

  async run(argv, io) {
    const { values, positionals } = parse(
      'agents',
      argv,
      {
        ...CONNECTION_OPTIONS,
        status: { type: 'string' },
        capability: { type: 'string', multiple: true },
        stale: { type: 'boolean' },
        json: { type: 'boolean' },
        id: { type: 'string' },
        max: { type: 'string' },
      },
      true,
    );
    if (values.help) {
      io.stdout.write(`${agents.help}\n`);
      return EXIT.ok;
    }
    if (positionals[0] === 'add') {
      if (positionals.length !== 2) throw usageError('usage: agent-coordinator agents add <card-url>');
      return addAgent(positionals[1]!, values, io);
    }
    if (positionals.length > 0) throw usageError(`unknown agents subcommand: ${positionals[0]} (try "add")`);
    const capability = values.capability?.[0];
    const status = oneOf(values.status, 'status', ['available', 'busy', 'offline'] as const);
    const conn = connectionFrom(values, io.env);
    const list = (await getJson<{ agents: Agent[] }>(conn, '/agents')).agents.filter(
      (a) =>
        (!status || a.status === status) &&
        (!capability || a.capabilities.includes(capability)) &&
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
        ['AGENT', 'STATUS', 'LOAD', 'HEARTBEAT', 'CAPABILITIES', 'PROTOCOL'],
        list.map((a) => [
          a.agent_id,
          a.stale ? `${a.status} STALE` : a.status,
          `${a.active_tasks}/${a.max_concurrent_tasks}`,
          ago(a.last_heartbeat),
          a.capabilities.join(','),
          a.a2a ? `a2a ${a.a2a.protocol_binding} ${a.a2a.interface_url}` : 'events',
        ]),
      ),
    );
    return EXIT.ok;
  },
};

/** An id from a card's name: `Nutrition Agent` -> `nutrition-agent`. */
export function idFromName(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9._:@/-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 64) || 'a2a-agent'
  );
}

async function addAgent(
  cardUrl: string,
  values: { id?: string; capability?: string[]; max?: string; json?: boolean } & Parameters<
    typeof connectionFrom
  >[0],
  io: Parameters<Command['run']>[1],
): Promise<number> {
  const conn = connectionFrom(values, io.env);
  let id = values.id;
  if (!id) {
    // Only the name is read here; the coordinator fetches and validates the card itself.
    try {
      const where = new URL(cardUrl);
      if (where.pathname === '/') where.pathname = '/.well-known/agent-card.json';
      const res = await fetch(where, { signal: AbortSignal.timeout(conn.timeoutMs) });
      const card = (await res.json()) as { name?: unknown };
      if (typeof card.name !== 'string') throw new Error('the card has no name');
      id = idFromName(card.name);
    } catch (err) {
      throw new CliError(
        EXIT.failed,
        `cannot read a name from ${cardUrl} (${(err as Error).message}): pass --id`,
      );
    }
  }
  const max = values.max === undefined ? undefined : Number(values.max);
  if (max !== undefined && (!Number.isInteger(max) || max < 1))
    throw usageError('--max must be a positive integer');
  const event = {
    type: 'agent_state_change',
    agent_id: id,
    new_state: 'available',
    agent_card_url: cardUrl,
    ...(values.capability?.length ? { capabilities: values.capability } : {}),
    ...(max ? { max_concurrent_tasks: max } : {}),
  };
  const res = await request(conn, 'POST', '/events', { body: JSON.stringify(event) });
  if (res.status !== 200) throw new CliError(EXIT.failed, `error: ${res.status} ${reasonOf(res)}`);
  const agent = (await getJson<{ agents: Agent[] }>(conn, '/agents')).agents.find((a) => a.agent_id === id);
  if (values.json) {
    io.stdout.write(`${JSON.stringify(agent, null, 2)}\n`);
    return EXIT.ok;
  }
  io.stdout.write(
    `registered ${id} (a2a ${agent?.a2a?.protocol_binding ?? '?'} ${agent?.a2a?.interface_url ?? ''}): ${agent?.capabilities.join(',') ?? ''}\n`,
  );
  return EXIT.ok;
}
