/**
 * Generates bench/reference-scenario.json (checked in; rerun only to change the scenario):
 *   node scripts/run-ts.js bench/make-scenario.ts > bench/reference-scenario.json
 * Deterministic: a seeded PRNG picks priorities, requesters and the order.
 */
import type { ReferenceScenario, ScenarioAgent, ScenarioKind, ScenarioTask } from './lib/scenario-types';

const agent = (
  agent_id: string,
  capabilities: string[],
  status: ScenarioAgent['status'] = 'available',
): ScenarioAgent => ({
  agent_id,
  capabilities,
  status,
  max_concurrent_tasks: 10,
});

const AGENTS: ScenarioAgent[] = [
  agent('mca-1', ['coordination']),
  agent('npa-1', ['nutrition_analysis', 'meal_planning', 'macro_tracking']),
  agent('npa-2', ['nutrition_analysis', 'meal_planning']),
  agent('npa-3', ['nutrition_analysis', 'allergen_screening'], 'busy'),
  agent('wpa-1', ['workout_planning', 'exercise_progression']),
  agent('wpa-2', ['workout_planning']),
  agent('wpa-3', ['form_analysis']),
  agent('bma-1', ['biometric_analysis', 'body_composition', 'trend_detection']),
  agent('bma-2', ['biometric_analysis'], 'offline'),
  agent('ana-1', ['trend_detection', 'report_generation']),
  agent('ana-2', ['report_generation', 'data_export']),
  agent('spa-1', ['sleep_analysis', 'recovery_scheduling']),
  agent('spa-2', ['sleep_analysis'], 'offline'),
  agent('hya-1', ['hydration_tracking']),
  agent('mda-1', ['stress_assessment', 'meditation_guidance']),
  agent('sch-1', ['calendar_sync', 'reminder_scheduling']),
  agent('ntf-1', ['push_notification', 'email_digest']),
  agent('mrx-1', ['medication_reminder']),
  agent('cch-1', ['habit_coaching', 'goal_setting']),
  agent('cch-2', ['goal_setting']),
];

interface Template {
  kind: ScenarioKind;
  task_type: string;
  required?: string[];
  /** Right agents, preferred first. */
  agents: string[];
  action?: 'assign_task' | 'delegate_coordination' | 'queue_task';
  request: string;
  count: number;
}

const T = (
  kind: ScenarioKind,
  task_type: string,
  agents: string[],
  request: string,
  count: number,
  required?: string[],
): Template => ({
  kind,
  task_type,
  agents,
  request,
  count,
  ...(required ? { required } : {}),
});

const TEMPLATES: Template[] = [
  // routine: one free capable agent (104)
  T('routine', 'macro_tracking', ['npa-1'], 'log lunch: chicken bowl, 650 kcal', 8),
  T('routine', 'exercise_progression', ['wpa-1'], 'add 2.5 kg to the squat if last week was completed', 6),
  T('routine', 'form_analysis', ['wpa-3'], 'check deadlift form in the uploaded clip', 5),
  T('routine', 'body_composition', ['bma-1'], 'update body fat estimate from the scale reading', 5),
  T(
    'routine',
    'biometric_analysis',
    ['bma-1'],
    'analyse resting heart rate for the last 7 days',
    6,
    undefined,
  ),
  T('routine', 'sleep_analysis', ['spa-1'], 'score last night sleep from the wearable export', 7),
  T('routine', 'recovery_scheduling', ['spa-1'], 'plan a deload day after three hard sessions', 5),
  T('routine', 'hydration_tracking', ['hya-1'], 'log 500 ml water', 7),
  T('routine', 'stress_assessment', ['mda-1'], 'weekly stress check-in from HRV', 5),
  T('routine', 'meditation_guidance', ['mda-1'], 'suggest a 10 minute evening session', 4),
  T('routine', 'calendar_sync', ['sch-1'], 'sync training sessions to the calendar', 5),
  T('routine', 'reminder_scheduling', ['sch-1'], 'remind me to stretch at 18:00', 5),
  T('routine', 'push_notification', ['ntf-1'], 'notify: workout starts in 15 minutes', 6),
  T('routine', 'email_digest', ['ntf-1'], 'send the weekly summary email', 4),
  T('routine', 'medication_reminder', ['mrx-1'], 'vitamin D at breakfast', 5),
  T('routine', 'habit_coaching', ['cch-1'], 'nudge: 3 day streak on morning walks', 5),
  T('routine', 'data_export', ['ana-2'], 'export workouts as CSV', 4),
  T('routine', 'daily_nutrition_review', ['npa-1'], 'review today against macro targets', 4, [
    'nutrition_analysis',
    'macro_tracking',
  ]),
  T('routine', 'progress_review', ['bma-1'], 'body composition trend since January', 4, [
    'trend_detection',
    'body_composition',
  ]),
  T('routine', 'monthly_export_report', ['ana-2'], 'monthly report with the raw data attached', 4, [
    'report_generation',
    'data_export',
  ]),
  // none free: the only capable agent is busy; queued for it (6)
  {
    ...T('none_free', 'allergen_screening', ['npa-3'], 'screen this recipe for tree nuts', 6),
    action: 'queue_task',
  },
  // direct: explicit target, no router (10)
  T('direct', 'nutrition_analysis', ['npa-2'], 'follow-up on yesterday plan', 3),
  T('direct', 'workout_planning', ['wpa-2'], 'continue the plan you started', 3),
  T('direct', 'report_generation', ['ana-1'], 'regenerate the report you sent', 2),
  T('direct', 'goal_setting', ['cch-2'], 'revise the goals you set', 2),
  // ambiguous: several free capable agents; the label says which is best and why (60)
  T(
    'ambiguous',
    'nutrition_analysis',
    ['npa-1', 'npa-2'],
    'analyse intake against macro targets (needs macro tracking history)',
    6,
  ),
  T('ambiguous', 'nutrition_analysis', ['npa-2', 'npa-1'], 'quick check of a single meal photo', 5),
  T('ambiguous', 'meal_planning', ['npa-1', 'npa-2'], '7-day high-protein plan tied to logged macros', 6),
  T('ambiguous', 'meal_planning', ['npa-2', 'npa-1'], 'simple vegetarian dinner ideas', 5),
  T(
    'ambiguous',
    'workout_planning',
    ['wpa-1', 'wpa-2'],
    'strength block that builds on current progression',
    6,
  ),
  T('ambiguous', 'workout_planning', ['wpa-2', 'wpa-1'], 'one-off hotel room workout', 5),
  T('ambiguous', 'trend_detection', ['bma-1', 'ana-1'], 'detect a trend in body weight and body fat', 5),
  T('ambiguous', 'trend_detection', ['ana-1', 'bma-1'], 'detect a drop in app engagement', 5),
  T('ambiguous', 'report_generation', ['ana-1', 'ana-2'], 'narrative quarterly progress report', 5),
  T('ambiguous', 'report_generation', ['ana-2', 'ana-1'], 'report with a data export for the doctor', 4),
  T('ambiguous', 'goal_setting', ['cch-1', 'cch-2'], 'set goals that build on current habits', 4),
  T('ambiguous', 'goal_setting', ['cch-2', 'cch-1'], 'set a single 5k race goal', 4),
  // no capability match: the coordinator agent takes it (20)
  {
    ...T('no_match', 'injury_rehab_plan', ['mca-1'], 'knee pain after running: plan rehab', 5),
    action: 'delegate_coordination',
  },
  {
    ...T('no_match', 'grocery_ordering', ['mca-1'], 'order the groceries for the meal plan', 4),
    action: 'delegate_coordination',
  },
  {
    ...T('no_match', 'insurance_claim', ['mca-1'], 'file a physio claim', 3),
    action: 'delegate_coordination',
  },
  {
    ...T('no_match', 'sleep_friendly_meal_plan', ['mca-1'], 'dinners that help sleep', 4, [
      'sleep_analysis',
      'meal_planning',
    ]),
    action: 'delegate_coordination',
  },
  {
    ...T('no_match', 'race_day_plan', ['mca-1'], 'pacing and hydration for the half marathon', 4, [
      'workout_planning',
      'hydration_tracking',
    ]),
    action: 'delegate_coordination',
  },
];

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function makeScenario(seed = 7): ReferenceScenario {
  const rand = mulberry32(seed);
  const pick = <X>(xs: readonly X[]): X => xs[Math.floor(rand() * xs.length)]!;
  const priorities = ['critical', 'high', 'high', 'medium', 'medium', 'medium', 'low', 'low'] as const;
  const drafts: Array<
    Omit<ScenarioTask, 'task_id' | 'message'> & { build: (id: string) => Record<string, unknown> }
  > = [];
  for (const t of TEMPLATES) {
    for (let n = 0; n < t.count; n++) {
      const requester = pick(AGENTS).agent_id;
      const priority = pick(priorities);
      const task_data = { user_id: `user_${Math.floor(rand() * 1e6).toString(16)}`, request: t.request };
      drafts.push({
        kind: t.kind,
        expect: { action: t.action ?? 'assign_task', agents: t.agents },
        build: (task_id) =>
          t.kind === 'direct'
            ? {
                type: 'task_assignment',
                task_id,
                agent_id: t.agents[0],
                task_type: t.task_type,
                task_data,
                priority,
              }
            : {
                type: 'coordination_request',
                task_id,
                agent_id: requester,
                task_type: t.task_type,
                task_data,
                priority,
                ...(t.required ? { required_capabilities: t.required } : {}),
              },
      });
    }
  }
  // Shuffle, then within each SQS batch put the direct assignments last, so the coordination
  // requests of a batch form one run (the core routes a run of requests together).
  for (let i = drafts.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [drafts[i], drafts[j]] = [drafts[j]!, drafts[i]!];
  }
  const batchSize = 10;
  const ordered: typeof drafts = [];
  for (let i = 0; i < drafts.length; i += batchSize) {
    const chunk = drafts.slice(i, i + batchSize);
    ordered.push(...chunk.filter((d) => d.kind !== 'direct'), ...chunk.filter((d) => d.kind === 'direct'));
  }
  const tasks: ScenarioTask[] = ordered.map((d, i) => {
    const task_id = `ref-${String(i + 1).padStart(3, '0')}`;
    return { task_id, kind: d.kind, message: d.build(task_id), expect: d.expect };
  });
  return {
    description:
      'Reference workload for `npm run bench`: a fleet of 20 agents (one coordinator, nutrition, workout, biometrics, ' +
      'analytics, sleep, hydration, mindfulness, scheduling, notifications, medication, coaching; some busy or offline) ' +
      'and 200 tasks in SQS batches of 10. Each task names the right action and agent(s), preferred first. ' +
      'Generated by bench/make-scenario.ts. Agents complete their tasks after each batch.',
    batch_size: batchSize,
    agents: AGENTS,
    tasks,
  };
}

export function main(): void {
  process.stdout.write(`${JSON.stringify(makeScenario(), null, 2)}\n`);
}
