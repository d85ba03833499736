/** Record factories for tests: valid records with overridable fields. */
import type { AgentRecord, TaskRecord } from '../../shared/core/model';

let seq = 0;

export function makeAgent(overrides: Partial<AgentRecord> = {}): AgentRecord {
  const now = new Date('2026-01-01T00:00:00.000Z').toISOString();
  const ids = overrides.active_task_ids ?? [];
  return {
    agent_id: `agent-${++seq}`,
    capabilities: ['nutrition_analysis'],
    status: 'available',
    active_task_ids: ids,
    active_tasks: ids.length,
    max_concurrent_tasks: 3,
    last_heartbeat: now,
    registered_at: now,
    updated_at: now,
    version: 1,
    ttl: 1_900_000_000,
    ...overrides,
  };
}

export function makeTask(overrides: Partial<TaskRecord> = {}): TaskRecord {
  const now = new Date('2026-01-01T00:00:00.000Z').toISOString();
  return {
    task_id: `task-${++seq}`,
    task_type: 'nutrition_analysis',
    task_data: { request: 'plan meals' },
    priority: 'medium',
    required_capabilities: [],
    status: 'queued',
    assigned_agents: [],
    completed_agents: [],
    failed_agents: [],
    attempts: 0,
    dependencies: [],
    history: [],
    outbox: [],
    created_at: now,
    updated_at: now,
    version: 1,
    ttl: 1_900_000_000,
    ...overrides,
  };
}
