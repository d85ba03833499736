/**
 * From a router's answer to what is recorded on the task and in the audit log, and the
 * routing request a router is asked. Pure, but for the one log line.
 */
import type { AgentRecord, DecisionRecord, TaskRecord } from '../model';
import {
  METRICS,
  type AgentView,
  type Logger,
  type RouterResult,
  type RoutingRequest,
  type Telemetry,
} from '../ports';
import { toView } from '../routing/agent-view';

/** The router's view of a registry listing, built once per listing (a batch shares one). */
const viewsOfListing = new WeakMap<readonly AgentRecord[], AgentView[]>();

function viewsOf(agents: readonly AgentRecord[]): AgentView[] {
  let views = viewsOfListing.get(agents);
  if (!views) viewsOfListing.set(agents, (views = agents.map(toView)));
  return views;
}

export function routingRequest(task: TaskRecord, agents: readonly AgentRecord[]): RoutingRequest {
  return {
    task: {
      task_id: task.task_id,
      task_type: task.task_type,
      task_data: task.task_data,
      priority: task.priority,
      required_capabilities: task.required_capabilities,
      requested_by: task.requested_by,
      failed_agents: task.failed_agents,
    },
    agents: viewsOf(agents),
  };
}

export function decisionRecord(task: TaskRecord, routed: RouterResult, decidedAt: string): DecisionRecord {
  const r: DecisionRecord = {
    ...routed.decision,
    router: routed.router,
    path: routed.path,
    decided_at: decidedAt,
    requested_by: task.requested_by,
  };
  if (routed.fallback_reason) r.fallback_reason = routed.fallback_reason;
  if (routed.model) r.model = routed.model;
  if (routed.usage) r.usage = routed.usage;
  if (routed.latency_ms !== undefined) r.latency_ms = routed.latency_ms;
  if (routed.dropped && routed.dropped.length > 0) r.dropped = routed.dropped;
  return r;
}

/** The audit trail (who asked, which router, which agents, why; never the task data) and its metrics. */
export function audit(logger: Logger, telemetry: Telemetry, task: TaskRecord, record: DecisionRecord): void {
  logger.info('decision', {
    audit: true,
    task_id: task.task_id,
    task_type: task.task_type,
    requested_by: task.requested_by,
    action: record.action,
    router: record.router,
    path: record.path,
    target_agents: record.target_agents,
    reasoning: record.reasoning,
    fallback_reason: record.fallback_reason,
    model: record.model,
    usage: record.usage,
  });
  telemetry.metric(METRICS.decisions, 1, 'Count', {
    router: record.router,
    path: record.path,
    action: record.action,
  });
  if (record.fallback_reason)
    telemetry.metric(METRICS.fallbacks, 1, 'Count', { reason: fallbackKind(record.fallback_reason) });
  if (record.latency_ms !== undefined && record.router === 'llm')
    telemetry.metric(METRICS.llmLatency, record.latency_ms, 'Milliseconds');
  if (record.usage) {
    telemetry.metric(METRICS.llmInputTokens, record.usage.input_tokens, 'Count');
    telemetry.metric(METRICS.llmOutputTokens, record.usage.output_tokens, 'Count');
  }
}

/** A metric dimension must have few values: the reason's leading word (`timeout`, `circuit_open`, ...). */
function fallbackKind(reason: string): string {
  return /^[a-z_]+/i.exec(reason)?.[0]?.slice(0, 40) ?? 'other';
}
