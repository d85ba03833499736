/** What reaches the logs: an audit record of every decision, and never a secret. */
import { LocalBus } from '../../shared/adapters/local/local-bus';
import { MemoryStateStore } from '../../shared/adapters/local/memory-store';
import { Coordinator } from '../../shared/core/coordinator/coordinator';
import { createJsonLogger, REDACTED } from '../../shared/core/logger';
import { RulesRouter } from '../../shared/core/routing/rules-router';

function capture(sensitiveFields: string[] = ['customer_email']) {
  const lines: string[] = [];
  const logger = createJsonLogger({ level: 'debug', sensitiveFields, write: (line) => lines.push(line) });
  return { lines, logger };
}

test('every decision leaves an audit record: who asked, which router, which agents, why', async () => {
  const { lines, logger } = capture();
  const c = new Coordinator({
    store: new MemoryStateStore(),
    bus: new LocalBus(),
    router: new RulesRouter(),
    logger,
  });
  await c.handle({
    type: 'agent_state_change',
    agent_id: 'npa',
    new_state: 'available',
    capabilities: ['nutrition_analysis'],
  });
  await c.handle({
    type: 'coordination_request',
    task_id: 'a1',
    agent_id: 'wpa-2',
    task_type: 'nutrition_analysis',
  });
  await c.handle({
    type: 'task_assignment',
    task_id: 'a2',
    agent_id: 'ghost',
    task_type: 'nutrition_analysis',
  });
  const audits = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.audit === true);
  expect(audits).toHaveLength(2);
  expect(audits[0]).toMatchObject({
    message: 'decision',
    task_id: 'a1',
    requested_by: 'wpa-2',
    router: 'rules',
    action: 'assign_task',
    target_agents: ['npa'],
  });
  expect(audits[0]!.reasoning).toMatch(/npa has nutrition_analysis/);
  expect(audits[1]).toMatchObject({
    task_id: 'a2',
    router: 'direct',
    action: 'reject_task',
    reasoning: 'agent ghost is not registered',
  });
});

test('task data never reaches the logs, and sensitive keys are redacted at any depth', async () => {
  const { lines, logger } = capture();
  const c = new Coordinator({
    store: new MemoryStateStore(),
    bus: new LocalBus(),
    router: new RulesRouter(),
    logger,
  });
  const secret = {
    password: 'hunter2-pass',
    nested: { api_key: 'sk-live-123', customer_email: 'a@b.example' },
  };
  await c.handle({ type: 'coordination_request', task_id: 's1', task_type: 'x', task_data: secret });
  await c.handle({ type: 'coordination_request', task_type: 42, task_data: secret });
  await c.handle({ type: 'task_completion', task_id: 'missing', agent_id: 'a', result: secret });
  const all = lines.join('\n');
  for (const value of ['hunter2-pass', 'sk-live-123', 'a@b.example']) expect(all).not.toContain(value);

  // Even a careless log call that passes data is redacted by key.
  logger.info('careless', { task_data: secret, headers: { Authorization: 'Bearer t0ken' } });
  const last = JSON.parse(lines[lines.length - 1]!) as {
    task_data: typeof secret;
    headers: Record<string, string>;
  };
  expect(last.task_data.password).toBe(REDACTED);
  expect(last.task_data.nested.api_key).toBe(REDACTED);
  expect(last.task_data.nested.customer_email).toBe(REDACTED);
  expect(last.headers.Authorization).toBe(REDACTED);
  // Token counts are not secrets.
  logger.info('usage', { usage: { input_tokens: 12, output_tokens: 3 }, access_token: 'abc' });
  expect(JSON.parse(lines[lines.length - 1]!)).toMatchObject({
    usage: { input_tokens: 12, output_tokens: 3 },
    access_token: REDACTED,
  });
});
