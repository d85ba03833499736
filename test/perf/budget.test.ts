/**
 * The cost guard and the circuit breaker: over the configured budget of LLM calls or tokens
 * per minute, or while the breaker is open, no call is made, the rules router decides, and the
 * task records why.
 */
import { buildCore, expectations, loadScenario, registerFleet, sqsEvent } from '../../bench/lib/reference';
import { RouterError } from '../../shared/core/errors';
import type { TaskRecord } from '../../shared/core/model';

const scenario = loadScenario();
const ambiguous = scenario.tasks.filter((t) => t.kind === 'ambiguous');
const labels = expectations(scenario);

async function send(
  core: ReturnType<typeof buildCore>,
  tasks: typeof ambiguous,
  prefix: string,
): Promise<TaskRecord[]> {
  const outcomes = await core.coordinator.handle(
    sqsEvent(
      tasks.map((t) => t.message),
      prefix,
    ),
  );
  expect(outcomes.every((o) => o.status === 'done')).toBe(true);
  return Promise.all(tasks.map(async (t) => (await core.store.inner.getTask(t.task_id))!));
}

test('over the calls-per-minute budget the rules decide and the task records why', async () => {
  const core = buildCore(scenario, { llm: { callsPerMinute: 1 } });
  await registerFleet(core.coordinator, scenario);
  const first = await send(core, ambiguous.slice(0, 3), 'a');
  expect(first.map((t) => t.decision!.path)).toEqual(['llm_batch', 'llm_batch', 'llm_batch']);

  const second = await send(core, ambiguous.slice(3, 6), 'b');
  expect(core.llm.counts.calls).toBe(1);
  for (const t of second) {
    expect(t.decision).toMatchObject({ router: 'rules', path: 'fallback:over_budget' });
    expect(t.decision!.fallback_reason).toMatch(/^over_budget: over budget: 1 LLM calls per minute/);
    expect(t.status).toBe('assigned');
    expect(labels.get(t.task_id)!.agents).toContain(t.assigned_agents[0]);
  }

  // A minute later the budget has room again.
  core.clock.advance(60_000);
  const third = await send(core, ambiguous.slice(6, 8), 'c');
  expect(core.llm.counts.calls).toBe(2);
  expect(third.map((t) => t.decision!.router)).toEqual(['llm', 'llm']);
});

test('over the tokens-per-minute budget the rules decide and the task records why', async () => {
  const core = buildCore(scenario, { llm: { tokensPerMinute: 50 } });
  await registerFleet(core.coordinator, scenario);
  const [task] = await send(core, ambiguous.slice(0, 1), 'a');
  expect(core.llm.counts.calls).toBe(0);
  expect(task!.decision).toMatchObject({ router: 'rules', path: 'fallback:over_budget' });
  expect(task!.decision!.fallback_reason).toContain('50 LLM tokens per minute');
});

test('the fast path spends no budget: routine tasks go through with the budget exhausted', async () => {
  const core = buildCore(scenario, { llm: { callsPerMinute: 1 } });
  await registerFleet(core.coordinator, scenario);
  await send(core, ambiguous.slice(0, 1), 'a');
  const routine = scenario.tasks.filter((t) => t.kind === 'routine').slice(0, 5);
  const tasks = await send(core, routine, 'r');
  expect(core.llm.counts.calls).toBe(1);
  for (const t of tasks) {
    expect(t.decision!.path).toBe('fast_path:single_capable');
    expect(t.decision!.fallback_reason).toBeUndefined();
  }
});

test('after repeated LLM failures the breaker opens: no call, the rules decide, the reason is recorded', async () => {
  let calls = 0;
  const core = buildCore(scenario, {
    answer: () => {
      calls += 1;
      throw new RouterError('provider throttled', 'throttled');
    },
  });
  await registerFleet(core.coordinator, scenario);
  for (let i = 0; i < 5; i++) {
    const [t] = await send(core, ambiguous.slice(i, i + 1), `f${i}`);
    expect(t!.decision!.router).toBe('rules');
    expect(t!.decision!.path).toMatch(/^fallback:/);
  }
  expect(calls).toBe(5);
  const [open] = await send(core, ambiguous.slice(5, 6), 'open');
  expect(calls).toBe(5);
  expect(open!.decision).toMatchObject({ router: 'rules', path: 'fallback:circuit_open' });
  expect(open!.decision!.fallback_reason).toContain('circuit breaker is open');
});
