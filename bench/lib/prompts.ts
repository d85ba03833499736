/**
 * Prompt economics: the seed design's routing prompt (every agent's full stored item as
 * indented JSON, rendered exactly like bench/baseline/seed-20.txt) against this project's
 * routing request (stable system prefix + tool schema + compact per-call part).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { AgentView, LlmRequest, RoutingRequest } from '../../shared/core/ports';
import { buildRequest, estimateTokens } from '../../shared/core/routing/prompt';
import { fastPathDecision } from '../../shared/core/routing/llm-router';
import { repoRoot } from './reference';

export interface SeedAgentState {
  agent_id: string;
  timestamp: number;
  ttl: number;
  status: string;
  state_change_time: number;
  last_coordination: number;
  last_task_type: string;
  coordination_status: string;
  capabilities: string[];
}

export interface SeedInputs {
  agent_id: string;
  task_type: string;
  task_data: unknown;
  agent_states: Record<string, SeedAgentState>;
}

export const BASELINE_DIR = path.join(repoRoot(), 'bench', 'baseline');

export function loadSeedInputs(): SeedInputs {
  return JSON.parse(readFileSync(path.join(BASELINE_DIR, 'inputs-20.json'), 'utf8')) as SeedInputs;
}

export function loadSeed20(): string {
  return readFileSync(path.join(BASELINE_DIR, 'seed-20.txt'), 'utf8');
}

const SEED_INSTRUCTIONS = `Your role is to coordinate between agents efficiently. Consider:

1. Agent Availability: Which agents are currently available and not overloaded?
2. Task Requirements: What capabilities does this task need?
3. Load Balancing: How can we distribute work optimally?
4. Dependencies: Are there any prerequisite tasks or data needed?
5. Priority: What is the urgency and importance of this task?

For this coordination request, provide a decision in JSON format with:
- "action": The primary action to take
- "target_agents": List of agents to involve
- "task_distribution": How to split or assign the work
- "priority": Task priority (high/medium/low)
- "estimated_duration": Expected completion time in minutes
- "dependencies": Any prerequisites or waiting requirements
- "reasoning": Brief explanation of your coordination decision

Respond only with valid JSON.
`;

/** The seed design's prompt, byte for byte as in seed-20.txt. */
export function renderSeedPrompt(inputs: SeedInputs): string {
  return (
    `\nYou are the Master Control Agent (MCA) coordinator for Progressive Framework V5.\n\n` +
    `Current Situation:\n` +
    `- Requesting Agent: ${inputs.agent_id}\n` +
    `- Task Type: ${inputs.task_type}\n` +
    `- Task Data: ${JSON.stringify(inputs.task_data, null, 2)}\n\n` +
    `Current Agent States:\n${JSON.stringify(inputs.agent_states, null, 2)}\n\n` +
    SEED_INSTRUCTIONS
  );
}

/**
 * The seed inputs with `n` agents: the first n of the 20 recorded states, or, past 20, more
 * agents made from the same 20 (same fields, capabilities and status mix; new ids and times).
 */
export function seedInputsFor(n: number, base: SeedInputs = loadSeedInputs()): SeedInputs {
  const templates = Object.values(base.agent_states);
  const states: Record<string, SeedAgentState> = {};
  for (let i = 0; i < n; i++) {
    const t = templates[i % templates.length]!;
    if (i < templates.length) {
      states[t.agent_id] = t;
      continue;
    }
    const round = Math.floor(i / templates.length);
    const prefix = t.agent_id.split('-')[0]!;
    const number = Number(t.agent_id.split('-')[1]) + round * 4;
    const id = `${prefix}-${number}`;
    const shift = round * 37 + i;
    states[id] = {
      ...t,
      agent_id: id,
      timestamp: t.timestamp + shift,
      ttl: t.ttl + shift,
      state_change_time: t.state_change_time - shift * 11,
      last_coordination: t.last_coordination - shift * 13,
    };
  }
  return { ...base, agent_states: states };
}

/** The same registry and request as the seed inputs, as this project's router sees them. */
export function routingRequestFor(inputs: SeedInputs): RoutingRequest {
  const agents: AgentView[] = Object.values(inputs.agent_states).map((s) => {
    const status: AgentView['status'] =
      s.status === 'available'
        ? 'available'
        : s.status === 'busy' || s.status === 'overloaded'
          ? 'busy'
          : 'offline';
    return {
      agent_id: s.agent_id,
      capabilities: s.capabilities,
      status,
      active_tasks: status === 'available' ? 1 : 3,
      max_concurrent_tasks: 3,
    };
  });
  return {
    task: {
      task_id: 'task-20251123-0042',
      task_type: inputs.task_type,
      task_data: inputs.task_data,
      priority: 'high',
      required_capabilities: [],
      requested_by: inputs.agent_id,
      failed_agents: [],
    },
    agents,
  };
}

/** A request the fast path cannot decide: every capable agent made free, so the LLM must choose. */
export function ambiguousVariant(request: RoutingRequest): RoutingRequest {
  const capable = (a: AgentView) => a.capabilities.includes(request.task.task_type);
  return {
    ...request,
    agents: request.agents.map((a) =>
      capable(a) ? { ...a, status: 'available' as const, active_tasks: 1 } : a,
    ),
  };
}

export interface Tokenizer {
  name: string;
  count(text: string): number;
}

export const approxTokenizer: Tokenizer = { name: 'chars/4 (core estimateTokens)', count: estimateTokens };

/** cl100k BPE from gpt-tokenizer (a devDependency, pure JS, no download), when installed. */
export function cl100kTokenizer(): Tokenizer | undefined {
  try {
    const mod = require('gpt-tokenizer/encoding/cl100k_base') as { encode(text: string): number[] };
    return { name: 'cl100k BPE (gpt-tokenizer)', count: (text) => mod.encode(text).length };
  } catch {
    return undefined;
  }
}

export interface PromptParts {
  system: string;
  prompt: string;
  tool: string;
}

export function partsOf(request: LlmRequest): PromptParts {
  return { system: request.system, prompt: request.prompt, tool: JSON.stringify(request.tool) };
}

export interface PromptRow {
  agents: number;
  seed: number;
  system: number;
  tool: number;
  perCall: number;
  total: number;
  /** Our per-task input when 10 such tasks share one batched call. */
  batchedPerTask: number;
  fastPath: boolean;
  agentsInPrompt: number;
}

export function promptRow(n: number, tokenizer: Tokenizer): PromptRow {
  const inputs = seedInputsFor(n);
  const routing = routingRequestFor(inputs);
  const ambiguous = ambiguousVariant(routing);
  const single = partsOf(buildRequest([ambiguous], 1024));
  const batch = partsOf(
    buildRequest(
      Array.from({ length: 10 }, (_, i) => ({
        ...ambiguous,
        task: { ...ambiguous.task, task_id: `${ambiguous.task.task_id}-${i}` },
      })),
      1024,
    ),
  );
  const count = (p: PromptParts) =>
    tokenizer.count(p.system) + tokenizer.count(p.prompt) + tokenizer.count(p.tool);
  return {
    agents: n,
    seed: tokenizer.count(renderSeedPrompt(inputs)),
    system: tokenizer.count(single.system),
    tool: tokenizer.count(single.tool),
    perCall: tokenizer.count(single.prompt),
    total: count(single),
    batchedPerTask: count(batch) / 10,
    fastPath: fastPathDecision(routing) !== undefined,
    agentsInPrompt: single.prompt.split('\n').filter((l) => l.includes(' | ')).length,
  };
}
