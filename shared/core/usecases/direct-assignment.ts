/**
 * A direct assignment (`task_assignment`) names its agent: no router. The task is pinned to
 * that agent; it is assigned when the agent has a free slot, queued for it when it is busy or
 * full, and rejected when the agent is unknown or lacks the capability.
 */
import type { EventOf } from '../events/schemas';
import type { AgentRecord, RoutingAction, TaskRecord } from '../model';
import type { RouterResult } from '../ports';
import { hasFreeSlot, isCapable, requiredCapabilities } from '../routing/eligibility';
import { openTask } from './coordinate';
import { executeDecision } from './execute-decision';
import { awaitsFirstDecision, resumeTask } from './resume-task';
import type { CoordinationResult, CoreServices } from './services';

export async function assignDirectly(
  s: CoreServices,
  event: EventOf<'task_assignment'>,
): Promise<CoordinationResult> {
  const d = event.data;
  const opened = await openTask(
    s,
    {
      ...event,
      type: 'coordination_request',
      data: { task_id: d.task_id, task_type: d.task_type, task_data: d.task_data, priority: d.priority },
    },
    d.agent_id,
  );
  if (!awaitsFirstDecision(opened)) return resumeTask(s, opened);
  // Pinned when created; a task id first seen as a coordination request gets pinned here.
  const task = opened.pinned_agent ? opened : await s.ledger.pin(opened, d.agent_id);
  const agent = await s.registry.get(d.agent_id);
  return executeDecision(s, task, directDecision(task, d.agent_id, agent, d.priority), { onNoSlot: 'queue' });
}

function directDecision(
  task: TaskRecord,
  agentId: string,
  agent: AgentRecord | undefined,
  priority: TaskRecord['priority'],
): RouterResult {
  const direct = (action: RoutingAction, reasoning: string, targets: string[] = []): RouterResult => ({
    router: 'direct',
    path: 'direct',
    decision: {
      action,
      target_agents: targets,
      task_distribution: {},
      dependencies: [],
      reasoning,
      priority,
    },
  });
  const required = requiredCapabilities(task);
  if (!agent) return direct('reject_task', `agent ${agentId} is not registered`);
  if (!isCapable(agent, required))
    return direct('reject_task', `agent ${agentId} lacks capability ${required.join(', ')}`);
  if (!hasFreeSlot(agent))
    return direct(
      'queue_task',
      `agent ${agentId} is ${agent.status} (${agent.active_tasks}/${agent.max_concurrent_tasks}); queued for it`,
    );
  return direct('assign_task', `direct assignment to ${agentId}`, [agentId]);
}
