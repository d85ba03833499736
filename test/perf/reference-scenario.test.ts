/**
 * The reference scenario (bench/reference-scenario.json) is consistent with its fleet, and
 * through the real core: every task the fast path decides goes to the labelled agent, and at
 * least half of the tasks are decided without an LLM call (counted at the LlmClient port).
 */
import { expectations, loadScenario, runReferenceScenario, summarize } from '../../bench/lib/reference';
import type { ScenarioAgent } from '../../bench/lib/scenario-types';

const scenario = loadScenario();
const byId = new Map(scenario.agents.map((a) => [a.agent_id, a]));
const free = (a: ScenarioAgent) => a.status === 'available';

function requiredOf(message: Record<string, unknown>): string[] {
  const required = message.required_capabilities as string[] | undefined;
  return required && required.length > 0 ? required : [message.task_type as string];
}

describe('reference scenario', () => {
  test('has a mixed workload of about 200 tasks over about 20 agents', () => {
    expect(scenario.tasks.length).toBeGreaterThanOrEqual(150);
    expect(scenario.agents.length).toBeGreaterThanOrEqual(15);
    const kinds = new Set(scenario.tasks.map((t) => t.kind));
    expect([...kinds].sort()).toEqual(['ambiguous', 'direct', 'no_match', 'none_free', 'routine']);
    expect(new Set(scenario.tasks.map((t) => t.task_id)).size).toBe(scenario.tasks.length);
  });

  test.each(scenario.tasks.map((t) => [t.task_id, t] as const))(
    '%s labels agents that can really take it',
    (_id, t) => {
      const required = requiredOf(t.message);
      const capable = scenario.agents.filter((a) => required.every((c) => a.capabilities.includes(c)));
      for (const id of t.expect.agents) expect(byId.has(id)).toBe(true);
      switch (t.kind) {
        case 'routine':
          expect(capable.filter(free).map((a) => a.agent_id)).toEqual(t.expect.agents);
          break;
        case 'none_free':
          expect(capable.length).toBeGreaterThan(0);
          expect(capable.filter(free)).toEqual([]);
          expect(t.expect.action).toBe('queue_task');
          break;
        case 'ambiguous':
          expect(capable.filter(free).length).toBeGreaterThan(1);
          expect([...t.expect.agents].sort()).toEqual(
            capable
              .filter(free)
              .map((a) => a.agent_id)
              .sort(),
          );
          break;
        case 'no_match':
          expect(capable).toEqual([]);
          expect(t.expect.action).toBe('delegate_coordination');
          for (const id of t.expect.agents) expect(byId.get(id)!.capabilities).toContain('coordination');
          break;
        case 'direct':
          expect(t.message.type).toBe('task_assignment');
          expect(t.expect.agents).toEqual([t.message.agent_id]);
          expect(capable.map((a) => a.agent_id)).toContain(t.message.agent_id);
          break;
      }
    },
  );
});

describe('reference scenario through the core with the LLM router', () => {
  let report: Awaited<ReturnType<typeof runReferenceScenario>>;
  beforeAll(async () => {
    report = await runReferenceScenario(scenario);
  });

  test('every task the fast path decided went where the label says', () => {
    const fast = report.tasks.filter((t) => t.fastPath);
    const routine = scenario.tasks.filter((t) => t.kind === 'routine' || t.kind === 'none_free');
    expect(fast.map((t) => t.task_id).sort()).toEqual(routine.map((t) => t.task_id).sort());
    const wrong = fast.filter((t) => !t.matchesLabel);
    expect(wrong).toEqual([]);
  });

  test('at least half of the tasks make no LLM call, and the port agrees', () => {
    const s = summarize(report);
    expect(s.noLlmShare).toBeGreaterThanOrEqual(0.5);
    // Tasks the LLM decided, as counted at the LlmClient port, are exactly the others.
    const llmDecided = report.tasks.filter((t) => t.router === 'llm');
    expect(s.llmTasksDecided).toBe(llmDecided.length);
    expect(llmDecided.length + s.noLlm).toBe(report.requests);
    // The tasks needing judgement of one SQS batch share one call.
    const batchesWithLlmWork = new Set(
      scenario.tasks.map((t, i) =>
        t.kind === 'ambiguous' || t.kind === 'no_match' ? Math.floor(i / scenario.batch_size) : -1,
      ),
    );
    batchesWithLlmWork.delete(-1);
    expect(s.llmCalls).toBe(batchesWithLlmWork.size);
  });

  test('every task ends where its label says (the scripted LLM answers with the label)', () => {
    expect(report.tasks.filter((t) => !t.matchesLabel)).toEqual([]);
    const labels = expectations(scenario);
    for (const t of report.tasks.filter((o) => o.router === 'llm')) {
      expect(t.path).toMatch(/^llm/);
      expect(t.assigned_agents[0]).toBe(labels.get(t.task_id)!.agents[0]);
    }
  });

  test('without the fast path the same workload asks the LLM for nearly every task', async () => {
    const slow = summarize(await runReferenceScenario(scenario, { llm: { fastPath: false, batchSize: 1 } }));
    expect(slow.noLlmShare).toBeLessThan(0.5);
    expect(slow.llmCalls).toBe(scenario.tasks.filter((t) => t.kind !== 'direct').length);
  });
});
