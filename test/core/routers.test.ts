import { decideByRules, RulesRouter } from '../../shared/core/routing/rules-router';
import { validateDecision } from '../../shared/core/routing/validate';
import type { AgentView, RoutingRequest } from '../../shared/core/ports';

const agent = (
  agent_id: string,
  capabilities: string[],
  active = 0,
  max = 2,
  status: AgentView['status'] = 'available',
): AgentView => ({
  agent_id,
  capabilities,
  status,
  active_tasks: active,
  max_concurrent_tasks: max,
});

const req = (agents: AgentView[], task: Partial<RoutingRequest['task']> = {}): RoutingRequest => ({
  task: {
    task_id: 't',
    task_type: 'nutrition_analysis',
    priority: 'medium',
    required_capabilities: [],
    failed_agents: [],
    ...task,
  },
  agents,
});

describe('rules router', () => {
  test('assigns the least-loaded available capable agent (by load ratio, then count, then id)', async () => {
    const agents = [
      agent('b', ['nutrition_analysis'], 1, 2),
      agent('a', ['nutrition_analysis'], 1, 4),
      agent('c', ['workout_planning']),
    ];
    const r = await new RulesRouter().decide(req(agents));
    expect(r.decision).toMatchObject({ action: 'assign_task', target_agents: ['a'] });
    expect(r.router).toBe('rules');
  });

  test('skips busy, offline, full and previously failed agents', () => {
    const agents = [
      agent('busy', ['nutrition_analysis'], 0, 2, 'busy'),
      agent('off', ['nutrition_analysis'], 0, 2, 'offline'),
      agent('full', ['nutrition_analysis'], 2, 2),
      agent('failed', ['nutrition_analysis']),
      agent('ok', ['nutrition_analysis'], 1, 2),
    ];
    expect(decideByRules(req(agents, { failed_agents: ['failed'] })).decision.target_agents).toEqual(['ok']);
  });

  test('required_capabilities must all be present', () => {
    const agents = [
      agent('one', ['nutrition_analysis']),
      agent('both', ['nutrition_analysis', 'meal_planning'], 1),
    ];
    const r = decideByRules(req(agents, { required_capabilities: ['nutrition_analysis', 'meal_planning'] }));
    expect(r.decision.target_agents).toEqual(['both']);
  });

  test('queues when capable agents exist but none is free', () => {
    const r = decideByRules(req([agent('full', ['nutrition_analysis'], 2, 2)]));
    expect(r.decision).toMatchObject({ action: 'queue_task', target_agents: [] });
    expect(r.decision.reasoning).toMatch(/busy, offline or full/);
  });

  test('delegates to a coordination agent when nobody has the capability, else queues', () => {
    expect(decideByRules(req([agent('mca', ['coordination'])])).decision).toMatchObject({
      action: 'delegate_coordination',
      target_agents: ['mca'],
    });
    expect(decideByRules(req([agent('w', ['workout_planning'])])).decision.action).toBe('queue_task');
  });
});

describe('decision validation against the registry', () => {
  const agents = [
    agent('npa', ['nutrition_analysis']),
    agent('wpa', ['workout_planning']),
    agent('full', ['nutrition_analysis'], 2, 2),
    agent('mca', ['coordination']),
  ];
  const base = { task_distribution: {}, dependencies: [], reasoning: 'r' };

  test('drops unknown, incapable and unavailable targets and says why', () => {
    const v = validateDecision(
      {
        ...base,
        action: 'assign_task',
        target_agents: ['npa', 'ghost', 'wpa', 'full'],
        task_distribution: { npa: 'do it', ghost: 'x' },
      },
      req(agents),
    );
    expect(v?.decision.target_agents).toEqual(['npa']);
    expect(v?.decision.task_distribution).toEqual({ npa: 'do it' });
    expect(v?.dropped).toEqual([
      'ghost: not a registered agent',
      'wpa: lacks nutrition_analysis',
      'full: not available (available, 2/2)',
    ]);
  });

  test('nothing valid left: undefined (the caller falls back to the rules)', () => {
    expect(
      validateDecision({ ...base, action: 'assign_task', target_agents: ['attacker'] }, req(agents)),
    ).toBeUndefined();
    expect(
      validateDecision({ ...base, action: 'assign_task', target_agents: [] }, req(agents)),
    ).toBeUndefined();
  });

  test('delegation needs the coordination capability; queue and reject need no target', () => {
    expect(
      validateDecision({ ...base, action: 'delegate_coordination', target_agents: ['npa'] }, req(agents)),
    ).toBeUndefined();
    expect(
      validateDecision({ ...base, action: 'delegate_coordination', target_agents: ['mca'] }, req(agents))
        ?.decision.target_agents,
    ).toEqual(['mca']);
    expect(
      validateDecision({ ...base, action: 'queue_task', target_agents: ['ghost'] }, req(agents))?.decision
        .target_agents,
    ).toEqual([]);
  });

  test('a task never depends on itself; priority defaults to the task priority', () => {
    const v = validateDecision(
      { ...base, action: 'queue_task', target_agents: [], dependencies: ['t', 'other'] },
      req(agents, { priority: 'high' }),
    );
    expect(v?.decision.dependencies).toEqual(['other']);
    expect(v?.decision.priority).toBe('high');
  });
});
