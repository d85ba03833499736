/**
 * Writes examples/events-1000.jsonl: 1,000 realistic events for `agent-coordinator replay` and
 * the dashboard. Deterministic (seeded). Completions and agent errors name tasks that the real
 * coordinator (run here in memory, fed the same events) has actually assigned, so a replay into
 * a fresh coordinator looks like a working fleet rather than one that never finishes anything.
 *
 * Every event succeeds on a fresh coordinator except the 15 planted failures:
 *   6 lines that are not JSON              -> invalid_json (refused by the CLI, not sent)
 *   4 events that break the contract       -> invalid_message (400)
 *   2 events of an unknown type            -> unknown_message_type (400)
 *   3 events about tasks that do not exist -> not_found (404)
 *
 *   node scripts/run-ts.js scripts/generate-example-events.ts
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Coordinator } from '../shared/core/coordinator/coordinator';
import { RulesRouter } from '../shared/core/routing/rules-router';
import { LocalBus } from '../shared/adapters/local/local-bus';
import { MemoryStateStore } from '../shared/adapters/local/memory-store';

const TOTAL = 1000;
let seed = 20240611;
const rand = (): number => {
  // mulberry32
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
function weighted<T>(pairs: Array<[T, number]>): T {
  const total = pairs.reduce((n, [, w]) => n + w, 0);
  let r = rand() * total;
  for (const [v, w] of pairs) if ((r -= w) < 0) return v;
  return pairs[pairs.length - 1]![0];
}

const users = Array.from({ length: 40 }, (_, i) => `u-${1000 + i * 37}`);
const meals = [
  'oatmeal with berries',
  'chicken caesar salad',
  'salmon, rice and broccoli',
  'lentil soup',
  'greek yogurt and granola',
  'beef burrito',
  'tofu stir-fry',
];
const goals = [
  'lose 5 kg',
  'run a 10k',
  'build upper-body strength',
  'improve sleep',
  'lower blood pressure',
];
const exercises = ['squat', 'deadlift', 'bench press', 'overhead press', 'lunge'];

type Event = Record<string, unknown>;
const TYPES: Record<string, { weight: number; data: () => Event; required?: string[] }> = {
  nutrition_analysis: {
    weight: 25,
    data: () => ({ user_id: pick(users), meal: pick(meals), calories: 250 + Math.floor(rand() * 700) }),
  },
  meal_planning: {
    weight: 14,
    data: () => ({
      user_id: pick(users),
      days: pick([3, 5, 7]),
      diet: pick(['balanced', 'vegetarian', 'high-protein', 'low-sodium']),
    }),
  },
  workout_planning: {
    weight: 20,
    data: () => ({ user_id: pick(users), goal: pick(goals), sessions_per_week: pick([2, 3, 4, 5]) }),
  },
  exercise_form_review: {
    weight: 5,
    data: () => ({
      user_id: pick(users),
      exercise: pick(exercises),
      video_url: `https://media.example.com/v/${Math.floor(rand() * 1e6)}.mp4`,
    }),
  },
  progress_tracking: {
    weight: 10,
    data: () => ({
      user_id: pick(users),
      metric: pick(['weight', 'resting_hr', 'steps', 'sleep_hours']),
      period_days: pick([7, 30, 90]),
    }),
  },
  analytics_report: {
    weight: 9,
    data: () => ({ cohort: pick(['all', 'new-users', 'premium']), week: `2025-W${pick([22, 23, 24])}` }),
  },
  health_insights: {
    weight: 9,
    data: () => ({ user_id: pick(users), question: 'how do my meals affect my training load?' }),
    required: ['nutrition_analysis', 'progress_tracking'],
  },
  sleep_analysis: { weight: 8, data: () => ({ user_id: pick(users), nights: pick([7, 14]) }) },
};
const AGENTS: Array<[string, string[], number]> = [
  ['npa', ['nutrition_analysis', 'meal_planning'], 3],
  ['wpa', ['workout_planning', 'exercise_form_review'], 3],
  ['ana', ['progress_tracking', 'analytics_report'], 2],
  ['coordinator', ['coordination'], 5],
];

const lines: string[] = [];
let taskNo = 0;
const nextTaskId = () => `t-${String(++taskNo).padStart(4, '0')}`;

const eventBridge = (detailType: string, detail: Event): Event => ({
  version: '0',
  id: `eb-${lines.length + 1}-${Math.floor(rand() * 1e9).toString(16)}`,
  'detail-type': detailType,
  source: 'agent-coordinator.agents',
  account: '123456789012',
  region: 'us-east-1',
  resources: [],
  detail,
});
const register = ([agent_id, capabilities, max]: [string, string[], number], state = 'available'): Event =>
  rand() < 0.5
    ? eventBridge('Agent State Change', {
        agent_id,
        new_state: state,
        capabilities,
        max_concurrent_tasks: max,
      })
    : { type: 'agent_state_change', agent_id, new_state: state, capabilities, max_concurrent_tasks: max };

function request(): Event {
  const type = weighted(Object.entries(TYPES).map(([k, v]): [string, number] => [k, v.weight]));
  const spec = TYPES[type]!;
  const event: Event = {
    type: 'coordination_request',
    task_id: nextTaskId(),
    agent_id: pick(['mobile-app', 'web-app', 'npa', 'scheduler']),
    task_type: type,
    priority: weighted([
      ['critical', 5],
      ['high', 20],
      ['medium', 50],
      ['low', 25],
    ]),
    task_data: spec.data(),
  };
  if (spec.required) event.required_capabilities = spec.required;
  return rand() < 0.15 ? eventBridge('Coordination Request', event) : event;
}

// Planted failures, at fixed lines so the replay summary is exact.
const PLANTED = new Map<number, string | (() => Event)>([
  [97, '{"type":"coordination_request","task_type":"nutrition_analysis","priority":"hi'],
  [
    180,
    () => ({
      type: 'coordination_request',
      task_id: 'bad-1',
      priority: 'high',
      task_data: { note: 'task_type missing' },
    }),
  ],
  [233, '{"type": "agent_state_change", "agent_id": "npa", new_state: "available"}'],
  [
    301,
    () => ({
      type: 'coordination_request',
      task_id: 'bad-2',
      task_type: 'meal_planning',
      priority: 'urgent',
    }),
  ],
  [366, () => ({ type: 'task_cancel', task_id: 't-0042', reason: 'user closed the app' })],
  [412, 'not json at all'],
  [458, () => ({ type: 'task_completion', task_id: 't-9999', agent_id: 'npa', status: 'succeeded' })],
  [519, () => ({ type: 'agent_state_change', agent_id: 'wpa', new_state: 'sleeping' })],
  [577, '{"type":"coordination_request","task_id":"t-x","task_type":"sleep_analysis",'],
  [
    640,
    () => ({ type: 'error_event', agent_id: 'ana', task_id: 't-8888', error: 'report generator crashed' }),
  ],
  [702, () => eventBridge('Agent Retirement', { agent_id: 'ana' })],
  [777, '{"type":"task_completion","task_id":"t-0100","agent_id":"npa"}}'],
  [
    843,
    () => ({ type: 'coordination_request', task_id: 'task with spaces', task_type: 'nutrition_analysis' }),
  ],
  [905, () => ({ type: 'task_completion', task_id: 't-7777', agent_id: 'wpa', status: 'failed' })],
  [961, '{"type":"agent_health_check"'],
]);

async function main(): Promise<void> {
  const store = new MemoryStateStore();
  let now = Date.parse('2025-06-11T08:00:00Z');
  const coordinator = new Coordinator({
    store,
    bus: new LocalBus(),
    router: new RulesRouter(),
    clock: { now: () => now },
  });

  /** A task the coordinator has assigned, and one of its agents, or undefined. */
  const assignedTask = async (): Promise<[string, string] | undefined> => {
    const assigned = await store.listTasksByStatus('assigned', 1000);
    if (assigned.length === 0) return undefined;
    assigned.sort((a, b) => (a.assigned_at! < b.assigned_at! ? -1 : 1));
    // Mostly the longest-running ones finish first.
    const t = assigned[Math.floor(rand() * Math.min(assigned.length, 6))]!;
    return [t.task_id, pick(t.assigned_agents.filter((a) => !t.completed_agents.includes(a)))];
  };

  const completion = async (): Promise<Event> => {
    const found = await assignedTask();
    if (!found) return request();
    const failed = rand() < 0.08;
    return {
      type: 'task_completion',
      task_id: found[0],
      agent_id: found[1],
      status: failed ? 'failed' : 'succeeded',
      result: failed
        ? { error: pick(['upstream timeout', 'model overloaded', 'invalid user profile']) }
        : { summary: 'done', duration_ms: 300 + Math.floor(rand() * 5000) },
    };
  };

  const agentError = async (): Promise<Event> => {
    const found = await assignedTask();
    const error = pick(['rate limited by nutrition API', 'GPU memory low', 'slow response from upstream']);
    if (!found || rand() < 0.5) return { type: 'error_event', agent_id: pick(['npa', 'wpa', 'ana']), error };
    return { type: 'error_event', agent_id: found[1], task_id: found[0], error };
  };

  while (lines.length < TOTAL) {
    const n = lines.length + 1;
    now += 50;
    const planted = PLANTED.get(n);
    if (planted) {
      lines.push(typeof planted === 'string' ? planted : JSON.stringify(planted()));
      continue;
    }
    let event: Event;
    if (n <= AGENTS.length) event = register(AGENTS[n - 1]!);
    else if (n === 300) event = register(['wpa-2', ['workout_planning'], 2]);
    else if (n === 650) event = register(AGENTS[2]!, 'offline');
    else if (n === 720) event = register(AGENTS[2]!);
    else if (n === 500 || n === 990) event = { type: 'agent_health_check' };
    else {
      const kind = weighted<string>([
        ['request', 33],
        ['completion', 48],
        ['heartbeat', 8],
        ['error', 3],
        ['direct', 4],
        ['scheduled', 4],
      ]);
      if (kind === 'request') event = request();
      else if (kind === 'completion') event = await completion();
      else if (kind === 'heartbeat') event = register(pick(AGENTS));
      else if (kind === 'error') event = await agentError();
      else if (kind === 'direct') {
        event = {
          type: 'task_assignment',
          task_id: nextTaskId(),
          agent_id: 'npa',
          task_type: 'nutrition_analysis',
          priority: 'high',
          task_data: { user_id: pick(users), meal: pick(meals) },
        };
      } else {
        event = {
          type: 'coordination_request',
          agent_id: 'scheduler',
          task_type: 'analytics_report',
          priority: 'low',
          task_data: { cohort: 'all', run: n },
        };
      }
    }
    const line = JSON.stringify(event);
    const [outcome] = await coordinator.handle(JSON.parse(line), { source: 'local.http', time: now });
    if (outcome?.status !== 'done')
      throw new Error(`line ${n} was meant to succeed: ${JSON.stringify(outcome)}`);
    lines.push(line);
  }

  const out = path.resolve(__dirname, '..', 'examples', 'events-1000.jsonl');
  writeFileSync(out, `${lines.join('\n')}\n`);
  const byStatus = await Promise.all(
    (['queued', 'assigned', 'completed', 'failed', 'rejected'] as const).map(
      async (s) => `${s} ${(await store.listTasksByStatus(s, 10_000)).length}`,
    ),
  );
  console.log(
    `wrote ${lines.length} events to ${out}; a fresh coordinator ends with tasks: ${byStatus.join(', ')}`,
  );
}

if (require.main === module) void main();
export { main };
