/**
 * Prompt economics: the seed baseline is rendered faithfully, the routing prompt is compact
 * (a fraction of the seed's for 5, 20 and 100 agents) and its prefix is stable across calls.
 */
import {
  ambiguousVariant,
  approxTokenizer,
  cl100kTokenizer,
  loadSeed20,
  loadSeedInputs,
  promptRow,
  renderSeedPrompt,
  routingRequestFor,
  seedInputsFor,
} from '../../bench/lib/prompts';
import { buildRequest } from '../../shared/core/routing/prompt';

test('the seed prompt renderer reproduces seed-20.txt byte for byte', () => {
  expect(renderSeedPrompt(loadSeedInputs())).toBe(loadSeed20());
  expect(Object.keys(seedInputsFor(100).agent_states)).toHaveLength(100);
});

test('with cl100k the seed prompt counts as the baseline README says (913 for 5, 2,597 for 20)', () => {
  const cl100k = cl100kTokenizer();
  if (!cl100k) throw new Error('gpt-tokenizer (devDependency) is not installed');
  expect(cl100k.count(renderSeedPrompt(seedInputsFor(5)))).toBe(913);
  expect(cl100k.count(renderSeedPrompt(seedInputsFor(20)))).toBe(2597);
  // The 100-agent seed is synthesised from the 20 recorded states: within 1% of the README's 11,587.
  expect(Math.abs(cl100k.count(renderSeedPrompt(seedInputsFor(100))) - 11_587)).toBeLessThan(116);
});

test.each([5, 20, 100])(
  'with %i agents the routing request (system + tool + prompt) is smaller than the seed prompt',
  (n) => {
    const row = promptRow(n, approxTokenizer);
    expect(row.total).toBeLessThan(row.seed);
    if (n === 100) expect(row.total * 5).toBeLessThan(row.seed);
  },
);

test('the prefix (system prompt and tool) is identical whatever the registry and the task', () => {
  const a = buildRequest([ambiguousVariant(routingRequestFor(seedInputsFor(5)))], 1024);
  const b = buildRequest([ambiguousVariant(routingRequestFor(seedInputsFor(100)))], 1024);
  const other = routingRequestFor(seedInputsFor(20));
  const c = buildRequest(
    [{ ...other, task: { ...other.task, task_id: 'x', task_type: 'workout_planning' } }],
    1024,
  );
  expect(b.system).toBe(a.system);
  expect(c.system).toBe(a.system);
  expect(JSON.stringify(b.tool)).toBe(JSON.stringify(a.tool));
  expect(JSON.stringify(c.tool)).toBe(JSON.stringify(a.tool));
  // The per-call part carries the registry and the task; the prefix carries neither.
  expect(a.system).not.toContain('npa-1');
  expect(b.prompt).toContain('task_id: task-20251123-0042');
});

test('only the agents relevant to the task are rendered, one line each', () => {
  const row = promptRow(100, approxTokenizer);
  expect(row.agentsInPrompt).toBeLessThan(100);
  expect(row.agentsInPrompt).toBeGreaterThan(0);
});
