/** An in-memory state store: for tests, benchmarks and `STORE=memory`. Same contract as the others. */
import { ConditionFailedError } from '../../core/errors';
import { queueOrderKey, type AgentRecord, type TaskRecord, type TaskStatus } from '../../core/model';
import type { StateStore } from '../../core/ports';

export class MemoryStateStore implements StateStore {
  readonly name = 'memory';
  private readonly agents = new Map<string, AgentRecord>();
  private readonly tasks = new Map<string, TaskRecord>();

  async getAgent(agentId: string): Promise<AgentRecord | undefined> {
    const a = this.agents.get(agentId);
    return a && structuredClone(a);
  }

  async listAgents(): Promise<AgentRecord[]> {
    return [...this.agents.values()]
      .map((a) => structuredClone(a))
      .sort((a, b) => a.agent_id.localeCompare(b.agent_id));
  }

  async putAgent(agent: AgentRecord, expectedVersion: number | null): Promise<void> {
    check(
      this.agents.get(agent.agent_id)?.version,
      expectedVersion,
      agent.version,
      `agent ${agent.agent_id}`,
    );
    this.agents.set(agent.agent_id, structuredClone(agent));
  }

  async getTask(taskId: string): Promise<TaskRecord | undefined> {
    const t = this.tasks.get(taskId);
    return t && structuredClone(t);
  }

  async putTask(task: TaskRecord, expectedVersion: number | null): Promise<void> {
    check(this.tasks.get(task.task_id)?.version, expectedVersion, task.version, `task ${task.task_id}`);
    this.tasks.set(task.task_id, structuredClone(task));
  }

  async listTasksByStatus(status: TaskStatus, limit = 100): Promise<TaskRecord[]> {
    return [...this.tasks.values()]
      .filter((t) => t.status === status)
      .sort((a, b) => (queueOrderKey(a) < queueOrderKey(b) ? -1 : 1))
      .slice(0, limit)
      .map((t) => structuredClone(t));
  }
}

/** The version check every adapter applies; exported so adapters word conflicts alike. */
export function check(stored: number | undefined, expected: number | null, next: number, what: string): void {
  if (next !== (expected ?? 0) + 1) {
    throw new ConditionFailedError(`${what}: new version ${next} must be expected version + 1`);
  }
  if (expected === null ? stored !== undefined : stored !== expected) {
    throw new ConditionFailedError(
      `${what}: expected version ${expected ?? 'none'}, found ${stored ?? 'none'}`,
    );
  }
}
