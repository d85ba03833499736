#!/usr/bin/env node
// Writes examples/events-1000.jsonl: 1,000 realistic events for `agent-coordinator replay`
// and the dashboard. EventBridge envelopes carry no `time`, so a replay's tasks are timed
// by the coordinator that receives them. Deterministic (seeded), so the file and its replay summary never drift.
// Every event should succeed on a fresh coordinator except the 15 planted failures:
//   6 lines that are not JSON              -> invalid_json (refused by the CLI, not sent)
//   4 events that break the contract       -> invalid_message (400)
//   2 events of an unknown type            -> unknown_message_type (400)
//   3 events about tasks that do not exist -> not_found (404)
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TOTAL = 1000;
let seed = 20240611;
const rand = () => {
  // mulberry32
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (items) => items[Math.floor(rand() * items.length)];
const weighted = (pairs) => {
  const total = pairs.reduce((n, [, w]) => n + w, 0);
  let r = rand() * total;
  for (const [v, w] of pairs) if ((r -= w) < 0) return v;
  return pairs[pairs.length - 1][0];
};

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

// task type -> [weight, owner agent (who completes it), task_data maker, required_capabilities?]
const TYPES = {
  nutrition_analysis: [
    25,
    'npa',
    () => ({ user_id: pick(users), meal: pick(meals), calories: 250 + Math.floor(rand() * 700) }),
  ],
  meal_planning: [
    14,
    'npa',
    () => ({
      user_id: pick(users),
      days: pick([3, 5, 7]),
      diet: pick(['balanced', 'vegetarian', 'high-protein', 'low-sodium']),
    }),
  ],
  workout_planning: [
    20,
    'wpa',
    () => ({ user_id: pick(users), goal: pick(goals), sessions_per_week: pick([2, 3, 4, 5]) }),
  ],
  exercise_form_review: [
    5,
    'wpa',
    () => ({
      user_id: pick(users),
      exercise: pick(exercises),
      video_url: `https://media.example.com/v/${Math.floor(rand() * 1e6)}.mp4`,
    }),
  ],
  progress_tracking: [
    10,
    'ana',
    () => ({
      user_id: pick(users),
      metric: pick(['weight', 'resting_hr', 'steps', 'sleep_hours']),
      period_days: pick([7, 30, 90]),
    }),
  ],
  analytics_report: [
    9,
    'ana',
    () => ({ cohort: pick(['all', 'new-users', 'premium']), week: `2025-W${pick([22, 23, 24])}` }),
  ],
  health_insights: [
    9,
    'coordinator',
    () => ({ user_id: pick(users), question: 'how do my meals affect my training load?' }),
    ['nutrition_analysis', 'progress_tracking'],
  ],
  sleep_analysis: [8, 'coordinator', () => ({ user_id: pick(users), nights: pick([7, 14]) })],
};
const AGENTS = [
  ['npa', ['nutrition_analysis', 'meal_planning'], 3],
  ['wpa', ['workout_planning', 'exercise_form_review'], 3],
  ['ana', ['progress_tracking', 'analytics_report'], 2],
  ['coordinator', ['coordination'], 5],
];

const lines = [];
const issued = []; // [task_id, owner]
let taskNo = 0;

const eventBridge = (detailType, detail) => ({
  version: '0',
  id: `eb-${lines.length + 1}-${Math.floor(rand() * 1e9).toString(16)}`,
  'detail-type': detailType,
  source: 'agent-coordinator.agents',
  account: '123456789012',
  region: 'us-east-1',
  resources: [],
  detail,
});
const register = ([agent_id, capabilities, max], state = 'available') =>
  rand() < 0.5
    ? eventBridge('Agent State Change', {
        agent_id,
        new_state: state,
        capabilities,
        max_concurrent_tasks: max,
      })
    : { type: 'agent_state_change', agent_id, new_state: state, capabilities, max_concurrent_tasks: max };

function request() {
  const type = weighted(Object.entries(TYPES).map(([k, v]) => [k, v[0]]));
  const [, owner, data, required] = TYPES[type];
  const task_id = `t-${String(++taskNo).padStart(4, '0')}`;
  issued.push([task_id, owner]);
  const event = {
    type: 'coordination_request',
    task_id,
    agent_id: pick(['mobile-app', 'web-app', 'npa', 'scheduler']),
    task_type: type,
    priority: weighted([
      ['critical', 5],
      ['high', 20],
      ['medium', 50],
      ['low', 25],
    ]),
    task_data: data(),
  };
  if (required) event.required_capabilities = required;
  return rand() < 0.15 ? eventBridge('Coordination Request', event) : event;
}

function completion() {
  if (issued.length === 0) return request();
  const [task_id, agent_id] = issued[Math.max(0, issued.length - 1 - Math.floor(rand() * 12))];
  const failed = rand() < 0.1;
  return {
    type: 'task_completion',
    task_id,
    agent_id,
    status: failed ? 'failed' : 'succeeded',
    result: failed
      ? { error: pick(['upstream timeout', 'model overloaded', 'invalid user profile']) }
      : { summary: 'done', duration_ms: 300 + Math.floor(rand() * 5000) },
  };
}

// Planted failures, at fixed positions so the summary is exact.
const PLANTED = new Map([
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

while (lines.length < TOTAL) {
  const n = lines.length + 1;
  let event;
  if (n <= AGENTS.length) event = register(AGENTS[n - 1]);
  else if (PLANTED.has(n)) {
    const p = PLANTED.get(n);
    lines.push(typeof p === 'string' ? p : JSON.stringify(p()));
    continue;
  } else if (n === 300) event = register(['wpa-2', ['workout_planning'], 2]);
  else if (n === 650) event = register(AGENTS[2], 'offline');
  else if (n === 720) event = register(AGENTS[2]);
  else if (n === 500 || n === 990) event = { type: 'agent_health_check' };
  else {
    event = weighted([
      [request, 52],
      [completion, 28],
      [() => register(pick(AGENTS)), 9],
      [
        () => ({
          type: 'error_event',
          agent_id: pick(['npa', 'wpa', 'ana']),
          error: pick(['rate limited by nutrition API', 'GPU memory low', 'slow response from upstream']),
        }),
        3,
      ],
      [
        () => ({
          type: 'task_assignment',
          task_id: `t-${String(++taskNo).padStart(4, '0')}`,
          agent_id: 'npa',
          task_type: 'nutrition_analysis',
          priority: 'high',
          task_data: { user_id: pick(users), meal: pick(meals) },
        }),
        4,
      ],
      [
        () => ({
          type: 'coordination_request',
          agent_id: 'scheduler',
          task_type: 'analytics_report',
          priority: 'low',
          task_data: { cohort: 'all', run: n },
        }),
        4,
      ],
    ])();
  }
  lines.push(JSON.stringify(event));
}

const out = path.join(path.dirname(fileURLToPath(import.meta.url)), 'events-1000.jsonl');
writeFileSync(out, `${lines.join('\n')}\n`);
console.log(`wrote ${lines.length} events to ${out}`);
