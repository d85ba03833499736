/**
 * The LLM router: any `LlmClient` (Bedrock, OpenAI-compatible, Azure OpenAI, Vertex) behind
 * the same guard rails. It never lets the LLM break correctness:
 *  - fast path: obvious decisions (one free capable agent, none free) make no call;
 *  - budget and circuit breaker: over budget or after repeated failures, no call;
 *  - timeout: `COORDINATION_TIMEOUT` per call, enforced with an AbortSignal;
 *  - batch: the ambiguous tasks of a batch share one call, one decision per task;
 *  - validation: every decision is parsed and checked against the registry;
 * and whatever fails, the rules router decides with the reason recorded.
 */
import { errorMessage, RouterError } from '../errors';
import type { Clock, LlmClient, LlmResponse, Logger, Router, RouterResult, RoutingRequest } from '../ports';
import { buildRequest, estimateTokens, BATCH_TOOL_NAME } from './prompt';
import { decideByRules } from './rules-router';
import { parseDecision, validateDecision } from './validate';
import { capableCandidates, hasFreeSlot } from './eligibility';
import { CircuitBreaker, LlmBudget } from './guards';

export interface LlmRouterOptions {
  timeoutMs: number;
  fastPath: boolean;
  batchSize: number;
  maxOutputTokens: number;
  circuitFailures: number;
  circuitCooldownMs: number;
  callsPerMinute: number;
  tokensPerMinute: number;
  clock: Clock;
  logger?: Logger;
}

/** An obvious decision, or undefined when the task needs judgement. */
export function fastPathDecision(request: RoutingRequest): RouterResult | undefined {
  const capable = capableCandidates(request.task, request.agents);
  const free = capable.filter(hasFreeSlot);
  if (free.length === 1) return decideByRules(request, 'fast_path:single_capable');
  if (free.length === 0 && capable.length > 0) return decideByRules(request, 'fast_path:none_free');
  return undefined;
}

export class LlmRouter implements Router {
  readonly name: string;
  readonly breaker: CircuitBreaker;
  readonly budget: LlmBudget;
  /** Counters for benchmarks and the dashboard. */
  readonly stats = { calls: 0, failures: 0, fastPath: 0, fallbacks: 0, decided: 0 };

  constructor(
    private readonly client: LlmClient,
    private readonly options: LlmRouterOptions,
  ) {
    this.name = `llm:${client.provider}`;
    this.breaker = new CircuitBreaker(options.circuitFailures, options.circuitCooldownMs, options.clock);
    this.budget = new LlmBudget(options.callsPerMinute, options.tokensPerMinute, options.clock);
  }

  async decide(request: RoutingRequest): Promise<RouterResult> {
    const [result] = await this.decideBatch([request]);
    return result!;
  }

  async decideBatch(requests: readonly RoutingRequest[]): Promise<RouterResult[]> {
    const results: Array<RouterResult | undefined> = requests.map((r) => {
      const fast = this.options.fastPath ? fastPathDecision(r) : undefined;
      if (fast) this.stats.fastPath += 1;
      return fast;
    });
    const pending = requests.map((r, i) => ({ r, i })).filter(({ i }) => results[i] === undefined);
    for (let start = 0; start < pending.length; start += this.options.batchSize) {
      const chunk = pending.slice(start, start + this.options.batchSize);
      const decided = await this.callLlm(chunk.map((c) => c.r));
      chunk.forEach((c, k) => (results[c.i] = decided[k]));
    }
    this.stats.decided += requests.length;
    return results as RouterResult[];
  }

  private async callLlm(requests: RoutingRequest[]): Promise<RouterResult[]> {
    const llmRequest = buildRequest(requests, this.options.maxOutputTokens);
    const estimated = estimateTokens(llmRequest.system) + estimateTokens(llmRequest.prompt);
    const reservation = this.budget.tryReserve(estimated);
    if (!reservation.ok) return this.fallback(requests, 'over_budget', reservation.reason);
    if (!this.breaker.tryAcquire())
      return this.fallback(requests, 'circuit_open', 'LLM circuit breaker is open');

    const started = this.options.clock.now();
    let response: LlmResponse;
    try {
      this.stats.calls += 1;
      response = await this.client.complete(llmRequest, AbortSignal.timeout(this.options.timeoutMs));
    } catch (err) {
      this.breaker.onFailure();
      this.stats.failures += 1;
      const reason = err instanceof RouterError ? err.reason : isAbort(err) ? 'timeout' : 'network';
      this.options.logger?.warn('llm router call failed; rules router decides', {
        reason,
        error: errorMessage(err),
      });
      return this.fallback(requests, reason, errorMessage(err));
    }
    const latency = this.options.clock.now() - started;
    const usage = response.usage;
    if (usage) this.budget.settle(reservation.entry, usage.input_tokens + usage.output_tokens);

    const raws = this.extract(response, requests);
    if (!raws) {
      this.breaker.onFailure();
      this.stats.failures += 1;
      const text = response.text ? `: ${response.text.slice(0, 120)}` : '';
      return this.fallback(requests, 'invalid_output', `the model did not call the decision tool${text}`);
    }
    this.breaker.onSuccess();
    const share = usage && splitUsage(usage, requests.length);
    return requests.map((request, k) => {
      const parsed = parseDecision(raws[k]);
      const base = {
        model: response.model ?? this.client.model,
        latency_ms: latency,
        ...(share ? { usage: share } : {}),
      };
      if (!parsed.ok) return { ...this.fallbackOne(request, 'invalid_output', parsed.problem), ...base };
      const valid = validateDecision(parsed.decision, request);
      if (!valid) {
        return {
          ...this.fallbackOne(
            request,
            'no_valid_target',
            `LLM named no valid target (${parsed.decision.target_agents.join(', ') || 'none'})`,
          ),
          ...base,
        };
      }
      const result: RouterResult = {
        router: 'llm',
        path: requests.length > 1 ? 'llm_batch' : 'llm',
        decision: valid.decision,
        ...base,
      };
      if (valid.dropped.length > 0) {
        result.fallback_reason = `dropped: ${valid.dropped.join('; ')}`;
        result.dropped = valid.dropped;
      }
      return result;
    });
  }

  /** The raw decision per request, or undefined when the model did not use the tool. */
  private extract(response: LlmResponse, requests: RoutingRequest[]): unknown[] | undefined {
    let input = response.toolInput;
    if (input === undefined && response.text) input = jsonIn(response.text);
    if (input === undefined || input === null) return undefined;
    if (requests.length === 1) {
      const maybeBatch = (input as { decisions?: unknown[] }).decisions;
      return [Array.isArray(maybeBatch) ? maybeBatch[0] : input];
    }
    const decisions = (input as { decisions?: unknown }).decisions;
    if (!Array.isArray(decisions)) return undefined;
    // Match by task_id; a missing one falls back for that task alone.
    return requests.map((r, k) => {
      const byId = decisions.find((d) => (d as { task_id?: unknown } | null)?.task_id === r.task.task_id);
      return byId ?? (decisions.length === requests.length ? decisions[k] : undefined);
    });
  }

  private fallback(requests: RoutingRequest[], reason: string, detail: string): RouterResult[] {
    return requests.map((r) => this.fallbackOne(r, reason, detail));
  }

  private fallbackOne(request: RoutingRequest, reason: string, detail: string): RouterResult {
    this.stats.fallbacks += 1;
    const result = decideByRules(request, `fallback:${reason}`);
    result.fallback_reason = `${reason}: ${detail}`.slice(0, 500);
    return result;
  }
}

export { BATCH_TOOL_NAME };

function isAbort(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError');
}

/** A model that answered in text: take the first JSON object in it, if any. */
function jsonIn(text: string): unknown {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end <= start) return undefined;
  try {
    return JSON.parse(text.slice(start, end + 1));
  } catch {
    return undefined;
  }
}

function splitUsage(usage: NonNullable<LlmResponse['usage']>, n: number): NonNullable<LlmResponse['usage']> {
  return {
    input_tokens: Math.round(usage.input_tokens / n),
    output_tokens: Math.round(usage.output_tokens / n),
    ...(usage.cache_read_tokens !== undefined
      ? { cache_read_tokens: Math.round(usage.cache_read_tokens / n) }
      : {}),
    ...(usage.cache_write_tokens !== undefined
      ? { cache_write_tokens: Math.round(usage.cache_write_tokens / n) }
      : {}),
  };
}
