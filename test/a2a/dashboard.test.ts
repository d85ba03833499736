/** What the dashboard shows of A2A work: the A2A task ids and a waiting task's question, never a push token. */
import { summarizeTask } from '../../shared/runtime/dashboard/feed';
import type { TaskRecord } from '../../shared/core/model';

test('a task summary carries its A2A tasks and what it waits for, not the push tokens', () => {
  const now = '2026-12-01T10:00:00.000Z';
  const task: TaskRecord = {
    task_id: 't-1',
    task_type: 'meal_planning',
    priority: 'medium',
    required_capabilities: [],
    status: 'assigned',
    assigned_agents: ['recipes-1'],
    completed_agents: [],
    failed_agents: [],
    attempts: 1,
    dependencies: [],
    history: [],
    outbox: [],
    a2a_tasks: [
      {
        agent_id: 'recipes-1',
        assignment_id: 't-1:1:recipes-1',
        a2a_task_id: 'a2a-42',
        state: 'input-required',
        push: true,
        push_token: 'secret-push-token',
        send_failures: 0,
        dispatched_at: now,
        updated_at: now,
      },
    ],
    waiting: { agent_id: 'recipes-1', message: 'Which day?', since: now },
    created_at: now,
    updated_at: now,
    version: 3,
    ttl: 0,
  };
  const summary = summarizeTask(task);
  expect(summary.a2a_tasks).toEqual([
    { agent_id: 'recipes-1', a2a_task_id: 'a2a-42', state: 'input-required' },
  ]);
  expect(summary.waiting).toEqual({ agent_id: 'recipes-1', message: 'Which day?' });
  expect(JSON.stringify(summary)).not.toContain('secret-push-token');
});
