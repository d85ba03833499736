// The router port, and the LLM client port an LLM router calls.
import type { AgentRecord, RoutingDecision, TaskRecord, TokenUsage } from '../model';

/** The agent view a router sees: only what a decision needs. */
export interface AgentView {
  agent_id: string;
  capabilities: string[];
  status: AgentRecord['status'];
  active_tasks: number;
  max_concurrent_tasks: number;
}

export interface RoutingRequest {
  task: Pick<
    TaskRecord,
    | 'task_id'
    | 'task_type'
    | 'task_data'
    | 'priority'
    | 'required_capabilities'
    | 'requested_by'
    | 'failed_agents'
  >;
  /** The registry at decision time (all agents, not only capable ones: the LLM may delegate). */
  agents: AgentView[];
}

export interface RouterResult {
  decision: RoutingDecision;
  router: 'llm' | 'rules' | 'direct';
  path: string;
  model?: string;
  usage?: TokenUsage;
  latency_ms?: number;
  fallback_reason?: string;
  /** Parts of the router's answer that validation dropped, with reasons. */
  dropped?: string[];
}

/** Decides where a task goes. The rules router implements it; LLM routers are wrapped. */
export interface Router {
  readonly name: string;
  decide(request: RoutingRequest): Promise<RouterResult>;
  /** One decision per request, in order. Routers without batching decide one by one. */
  decideBatch?(requests: readonly RoutingRequest[]): Promise<RouterResult[]>;
}

/** A tool (function) the LLM must call: the decision schema as JSON Schema. */
export interface LlmTool {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
}

export interface LlmRequest {
  /** Stable across calls (instructions, schema): cacheable prefix. */
  system: string;
  /** The per-call part: registry snapshot and task(s). */
  prompt: string;
  tool: LlmTool;
  maxOutputTokens: number;
}

export interface LlmResponse {
  /** The tool call's arguments, as the model produced them (unvalidated). */
  toolInput?: unknown;
  /** Any free text the model produced instead of / besides the tool call. */
  text?: string;
  usage?: TokenUsage;
  stopReason?: string;
  model?: string;
}

/**
 * A chat model behind a provider API (Bedrock Converse, OpenAI-compatible, Azure OpenAI,
 * Vertex). It must honour `signal` and throw `RouterError` with a reason on failure; it may
 * retry throttling itself within the signal's lifetime. Validation is the core's job.
 */
export interface LlmClient {
  readonly provider: string;
  readonly model: string;
  complete(request: LlmRequest, signal: AbortSignal): Promise<LlmResponse>;
}
