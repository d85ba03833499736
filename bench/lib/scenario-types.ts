/** The reference scenario's shape (bench/reference-scenario.json). */

export type ScenarioAgentStatus = 'available' | 'busy' | 'offline';

export interface ScenarioAgent {
  agent_id: string;
  capabilities: string[];
  status: ScenarioAgentStatus;
  max_concurrent_tasks: number;
}

/**
 * Why a task is in the workload:
 *  - routine: exactly one capable agent is free (the fast path should decide);
 *  - none_free: capable agents exist but none is free (the fast path queues);
 *  - direct: a `task_assignment` naming its agent (no router at all);
 *  - ambiguous: several capable agents are free (needs judgement: the LLM);
 *  - no_match: no agent has the capability (the LLM delegates to a coordinator).
 */
export type ScenarioKind = 'routine' | 'none_free' | 'direct' | 'ambiguous' | 'no_match';

/** The right outcome: the action, and the right agent(s), the preferred one first. */
export interface ScenarioExpectation {
  action: 'assign_task' | 'delegate_coordination' | 'queue_task';
  agents: string[];
}

export interface ScenarioTask {
  task_id: string;
  kind: ScenarioKind;
  /** The message exactly as a user sends it (an SQS message body). */
  message: Record<string, unknown>;
  expect: ScenarioExpectation;
}

export interface ReferenceScenario {
  description: string;
  /** Messages per SQS batch (the Lambda event source mapping's batch size). */
  batch_size: number;
  agents: ScenarioAgent[];
  tasks: ScenarioTask[];
}
