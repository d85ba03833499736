/**
 * The core scenario of the contract, written once and driven through any runtime: in-process,
 * the local HTTP server, Lambda handlers, Azure handlers, functions-framework over Pub/Sub.
 * A driver delivers contract messages its own way and reads the results back.
 */
import type { AgentRecord, TaskRecord } from '../../shared/core/model';

export interface PublishedAssignment {
  id: string;
  type: string;
  task_id: string;
  target_agent?: string;
}

export interface ScenarioDriver {
  /** Delivers one contract message (a direct-message body); `id` is the transport message id. */
  send(message: Record<string, unknown>, options?: { id?: string }): Promise<void>;
  /** Every event the runtime published so far. */
  published(): Promise<PublishedAssignment[]>;
  task(taskId: string): Promise<TaskRecord | undefined>;
  agent(agentId: string): Promise<AgentRecord | undefined>;
  /** Restarts the runtime over the same store (skipped when undefined). */
  restart?(): Promise<void>;
}

const state = (agent_id: string, new_state: string, capabilities?: string[], max?: number) => ({
  type: 'agent_state_change',
  agent_id,
  new_state,
  ...(capabilities ? { capabilities } : {}),
  ...(max ? { max_concurrent_tasks: max } : {}),
});

const request = (task_id: string, task_type: string, extra: Record<string, unknown> = {}) => ({
  type: 'coordination_request',
  task_id,
  agent_id: 'requester',
  task_type,
  task_data: { note: `${task_id} data` },
  priority: 'medium',
  ...extra,
});

export async function runCoreScenario(driver: ScenarioDriver, prefix = 's'): Promise<void> {
  const id = (s: string) => `${prefix}-${s}`;
  const assignmentsOf = async (taskId: string) =>
    (await driver.published()).filter((e) => e.type === 'Task Assignment' && e.task_id === taskId);

  // Three agents with different capabilities (and one more that starts offline).
  await driver.send(state(id('nutri-1'), 'available', ['nutrition_analysis', 'meal_planning'], 2));
  await driver.send(state(id('nutri-2'), 'available', ['nutrition_analysis'], 1));
  await driver.send(state(id('coach-1'), 'available', ['workout_planning'], 1));
  await driver.send(state(id('nutri-3'), 'offline', ['nutrition_analysis'], 2));
  expect((await driver.agent(id('nutri-1')))?.capabilities).toEqual(['nutrition_analysis', 'meal_planning']);

  // Least-loaded available capable agent. nutri-1 (0/2) and nutri-2 (0/1) are equally loaded
  // for t1: the rules spread such ties by the task id, so either may take it; from then on the
  // least loaded one is forced, and both end with every slot taken (nutri-1 2/2, nutri-2 1/1).
  const nutrition = [id('nutri-1'), id('nutri-2')];
  const onlyAgentOf = async (taskId: string) => {
    const agents = (await driver.task(taskId))?.assigned_agents ?? [];
    expect(agents).toHaveLength(1);
    return agents[0]!;
  };
  await driver.send(request(id('t1'), 'nutrition_analysis'));
  const first = await onlyAgentOf(id('t1'));
  expect(nutrition).toContain(first);
  await driver.send(request(id('t2'), 'nutrition_analysis'));
  // t1 on nutri-1 leaves it at 1/2, nutri-2 at 0/1; t1 on nutri-2 leaves nutri-2 full.
  expect(await onlyAgentOf(id('t2'))).toBe(first === id('nutri-1') ? id('nutri-2') : id('nutri-1'));
  await driver.send(request(id('t3'), 'nutrition_analysis'));
  expect(await onlyAgentOf(id('t3'))).toBe(id('nutri-1'));
  expect((await driver.agent(id('nutri-1')))?.active_tasks).toBe(2);
  expect((await driver.agent(id('nutri-2')))?.active_tasks).toBe(1);
  await driver.send(request(id('t6'), 'workout_planning'));
  expect((await driver.task(id('t6')))?.assigned_agents).toEqual([id('coach-1')]);

  // Every capable agent busy: queued, nothing published for it.
  await driver.send(request(id('t4'), 'nutrition_analysis', { priority: 'high' }));
  const t4 = await driver.task(id('t4'));
  expect(t4?.status).toBe('queued');
  expect(await assignmentsOf(id('t4'))).toHaveLength(0);

  // An agent becoming available takes the queued task.
  await driver.send(state(id('nutri-3'), 'available'));
  const t4b = await driver.task(id('t4'));
  expect(t4b?.status).toBe('assigned');
  expect(t4b?.assigned_agents).toEqual([id('nutri-3')]);
  expect(await assignmentsOf(id('t4'))).toHaveLength(1);

  // Task Completion closes the task and frees the slot.
  await driver.send({
    type: 'task_completion',
    task_id: id('t4'),
    agent_id: id('nutri-3'),
    status: 'succeeded',
    result: { ok: true },
  });
  const t4c = await driver.task(id('t4'));
  expect(t4c?.status).toBe('completed');
  expect(t4c?.result).toEqual({ ok: true });
  expect((await driver.agent(id('nutri-3')))?.active_tasks).toBe(0);

  // Error Event: reassigned to another capable agent, never back to the one that failed.
  const othersOfFirst = (await driver.agent(first))?.active_task_ids.filter((t) => t !== id('t1'));
  await driver.send({
    type: 'error_event',
    task_id: id('t1'),
    agent_id: first,
    error: 'model crashed',
  });
  const t1 = await driver.task(id('t1'));
  expect(t1?.status).toBe('assigned');
  expect(t1?.assigned_agents).toEqual([id('nutri-3')]);
  expect(t1?.failed_agents).toEqual([first]);
  expect(t1?.attempts).toBe(2);
  expect((await driver.agent(first))?.active_task_ids).toEqual(othersOfFirst);
  expect(await assignmentsOf(id('t1'))).toHaveLength(2);

  // The same message delivered twice: one assignment.
  const dup = request(id('t5'), 'nutrition_analysis');
  await driver.send(dup, { id: id('msg-5') });
  await driver.send(dup, { id: id('msg-5') });
  expect(await assignmentsOf(id('t5'))).toHaveLength(1);

  if (driver.restart) {
    await driver.restart();
    for (const a of ['nutri-1', 'nutri-2', 'nutri-3', 'coach-1'])
      expect(await driver.agent(id(a))).toBeDefined();
    for (const t of ['t1', 't2', 't3', 't4', 't5', 't6']) expect(await driver.task(id(t))).toBeDefined();
    expect((await driver.task(id('t4')))?.status).toBe('completed');
  }
}
