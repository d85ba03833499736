/**
 * Batch decisions: one SQS batch of N ambiguous coordination requests is decided with one LLM
 * call (the `route_tasks` tool) returning one decision per task_id, and each decision is
 * validated on its own: a bad one falls back to the rules for that task alone.
 */
import { buildCore, expectations, loadScenario, registerFleet, sqsEvent } from '../../bench/lib/reference';
import { labelAnswer, type ScriptedAnswer } from '../../bench/lib/scripted-llm';
import { taskIdsIn } from '../../bench/lib/counting';
import { BATCH_TOOL_NAME, buildRequest } from '../../shared/core/routing/prompt';

const scenario = loadScenario();
const ambiguous = scenario.tasks.filter((t) => t.kind === 'ambiguous').slice(0, 8);
const labels = expectations(scenario);

async function runBatch(answer: ScriptedAnswer) {
  const core = buildCore(scenario, { answer });
  await registerFleet(core.coordinator, scenario);
  const outcomes = await core.coordinator.handle(
    sqsEvent(
      ambiguous.map((t) => t.message),
      'b',
    ),
  );
  const tasks = await Promise.all(ambiguous.map((t) => core.store.inner.getTask(t.task_id)));
  return { core, outcomes, tasks: tasks.map((t) => t!) };
}

test('N ambiguous requests of one SQS batch make exactly one LLM call with one decision each', async () => {
  const { core, outcomes, tasks } = await runBatch(labelAnswer(labels));
  expect(outcomes.map((o) => o.status)).toEqual(ambiguous.map(() => 'done'));
  expect(core.llm.counts.calls).toBe(1);
  expect(core.llm.counts.tasksPerCall).toEqual([ambiguous.length]);
  for (const [k, task] of tasks.entries()) {
    expect(task.decision).toMatchObject({ router: 'llm', path: 'llm_batch', action: 'assign_task' });
    expect(task.assigned_agents).toEqual([labels.get(ambiguous[k]!.task_id)!.agents[0]]);
  }
});

test('the batched call asks about every task by id, with the batch tool', async () => {
  const core = buildCore(scenario);
  await registerFleet(core.coordinator, scenario);
  const agents = (await core.store.listAgents()).map((a) => ({ ...a }));
  const request = buildRequest(
    ambiguous.map((t) => ({
      task: {
        task_id: t.task_id,
        task_type: t.message.task_type as string,
        priority: 'medium',
        required_capabilities: [],
        failed_agents: [],
      },
      agents,
    })),
    1024,
  );
  expect(request.tool.name).toBe(BATCH_TOOL_NAME);
  expect(taskIdsIn(request.prompt)).toEqual(ambiguous.map((t) => t.task_id));
});

test('one invalid decision in the batch falls back alone; the others keep the LLM decision', async () => {
  const bad = ambiguous[3]!.task_id;
  const label = labelAnswer(labels);
  const { core, tasks } = await runBatch((id) =>
    id === bad
      ? { action: 'assign_task', target_agents: ['ghost-agent'], reasoning: 'told to by task data' }
      : label(id),
  );
  expect(core.llm.counts.calls).toBe(1);
  for (const task of tasks) {
    if (task.task_id === bad) {
      expect(task.decision).toMatchObject({ router: 'rules', path: 'fallback:no_valid_target' });
      expect(task.decision!.fallback_reason).toContain('ghost-agent');
      expect(task.status).toBe('assigned');
      expect(labels.get(bad)!.agents).toContain(task.assigned_agents[0]);
    } else {
      expect(task.decision).toMatchObject({ router: 'llm', path: 'llm_batch' });
      expect(task.assigned_agents).toEqual([labels.get(task.task_id)!.agents[0]]);
    }
  }
});

test('a malformed or missing decision falls back for that task alone', async () => {
  const malformed = ambiguous[1]!.task_id;
  const missing = ambiguous[5]!.task_id;
  const label = labelAnswer(labels);
  const { core, tasks } = await runBatch((id) =>
    id === malformed ? { action: 'dance' } : id === missing ? undefined : label(id),
  );
  expect(core.llm.counts.calls).toBe(1);
  const byId = new Map(tasks.map((t) => [t.task_id, t]));
  expect(byId.get(malformed)!.decision).toMatchObject({ router: 'rules', path: 'fallback:invalid_output' });
  // The reply has no decision for this task: that task alone is decided by the rules.
  expect(byId.get(missing)!.decision!.router).toBe('rules');
  expect(byId.get(missing)!.decision!.path).toMatch(/^fallback:/);
  const others = tasks.filter((t) => t.task_id !== malformed && t.task_id !== missing);
  expect(others.map((t) => t.decision!.path)).toEqual(others.map(() => 'llm_batch'));
});
