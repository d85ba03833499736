/** Builds the router from configuration: the rules router, or an LLM client behind the guard rails. */
import type { Config } from '../core/config';
import { systemClock, type Clock, type LlmClient, type Logger, type Router } from '../core/ports';
import type { LlmRouter } from '../core/routing/llm-router';
import { RulesRouter } from '../core/routing/rules-router';

export function llmRouter(
  client: LlmClient,
  config: Config,
  clock: Clock = systemClock,
  logger?: Logger,
): LlmRouter {
  // Loaded only for an LLM router: its prompt module builds the decision's JSON schema as it
  // loads (and a Lambda bundle keeps it out of the handler's file, scripts/lambda-chunks.cjs).
  const routing = require('../core/routing/llm-router') as typeof import('../core/routing/llm-router');
  return new routing.LlmRouter(client, {
    timeoutMs: config.COORDINATION_TIMEOUT * 1000,
    fastPath: config.FAST_PATH,
    batchSize: config.LLM_BATCH_SIZE,
    maxOutputTokens: config.LLM_MAX_OUTPUT_TOKENS,
    circuitFailures: config.LLM_CIRCUIT_FAILURES,
    circuitCooldownMs: config.LLM_CIRCUIT_COOLDOWN * 1000,
    callsPerMinute: config.LLM_BUDGET_CALLS_PER_MINUTE,
    tokensPerMinute: config.LLM_BUDGET_TOKENS_PER_MINUTE,
    clock,
    ...(logger ? { logger } : {}),
  });
}

/** The router for `ROUTER`, given the LLM client the runtime built for it (if any). */
export function routerFor(
  config: Config,
  client: LlmClient | undefined,
  clock?: Clock,
  logger?: Logger,
): Router {
  if (config.ROUTER === 'rules' || !client) return new RulesRouter();
  return llmRouter(client, config, clock, logger);
}
