/**
 * Decorators that make every state-store call, publish and LLM call a span through the core's
 * `Telemetry` port (OpenTelemetry, Powertools, or anything implementing it). They import no
 * SDK. Attributes say what was done (operation, record kind, ids, counts, provider, model,
 * tokens), never `task_data`, results, prompts or credentials.
 */
import type {
  EventBus,
  LlmClient,
  LlmRequest,
  LlmResponse,
  SpanAttributes,
  StateStore,
  Telemetry,
} from '../../core/ports';
import type { OutboundEvent } from '../../core/model';

/** A telemetry that can add attributes to the span in progress (known only once a call returns). */
export interface AnnotatingTelemetry extends Telemetry {
  annotate(attributes: SpanAttributes): void;
}

const annotate = (telemetry: Telemetry, attributes: SpanAttributes) =>
  (telemetry as Partial<AnnotatingTelemetry>).annotate?.(attributes);

/** The port's methods, with the kind of record each one reads or writes. */
const STORE_OPERATIONS: Record<string, 'agent' | 'task' | 'store'> = {
  getAgent: 'agent',
  listAgents: 'agent',
  putAgent: 'agent',
  getTask: 'task',
  putTask: 'task',
  listTasksByStatus: 'task',
  listQueue: 'task',
  listQueueKeys: 'task',
  listPendingOutbox: 'task',
  listOverdue: 'task',
  close: 'store',
};

function recordId(first: unknown): SpanAttributes {
  if (typeof first === 'string') return { 'store.key': first };
  const r = first as { task_id?: unknown; agent_id?: unknown; version?: unknown } | null | undefined;
  if (r && typeof r === 'object') {
    if (typeof r.task_id === 'string') return { 'store.key': r.task_id, 'store.version': num(r.version) };
    if (typeof r.agent_id === 'string') return { 'store.key': r.agent_id, 'store.version': num(r.version) };
  }
  return {};
}

const num = (v: unknown) => (typeof v === 'number' ? v : undefined);

/**
 * The store with each port call in a span `store.<operation>` (`store.operation`,
 * `store.kind` agent/task, `store.name`, the record's key and version, how many records a
 * read returned). Anything else on the store (its name, adapter-specific members) passes
 * through untouched, and a method the store lacks stays absent.
 */
export function instrumentStore<S extends StateStore>(store: S, telemetry: Telemetry): S {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      const kind = typeof prop === 'string' ? STORE_OPERATIONS[prop] : undefined;
      if (!kind || typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => Promise<unknown>;
      return (...args: unknown[]) =>
        telemetry.span(
          `store.${String(prop)}`,
          {
            'store.operation': String(prop),
            'store.kind': kind,
            'store.name': target.name,
            ...recordId(args[0]),
          },
          async () => {
            const result = await method.apply(target, args);
            const items = Array.isArray(result)
              ? result.length
              : Array.isArray((result as { items?: unknown[] } | undefined)?.items)
                ? (result as { items: unknown[] }).items.length
                : undefined;
            if (items !== undefined) annotate(telemetry, { 'store.records': items });
            else if (String(prop).startsWith('get'))
              annotate(telemetry, { 'store.found': result !== undefined });
            return result;
          },
        );
    },
  });
}

/** The bus with each publish in a span `bus.publish` (`bus.name`, the event count and types). */
export function instrumentBus<B extends EventBus>(bus: B, telemetry: Telemetry): B {
  return new Proxy(bus, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (prop !== 'publish' || typeof value !== 'function') return value;
      return (events: readonly OutboundEvent[]) =>
        telemetry.span(
          'bus.publish',
          {
            'bus.name': target.name,
            'bus.events': events.length,
            'bus.event_types': [...new Set(events.map((e) => e.type))].sort().join(','),
          },
          () => (value as EventBus['publish']).call(target, events),
        );
    },
  });
}

/**
 * The LLM client with each call in a span `llm.complete`: provider and model (OpenTelemetry's
 * `gen_ai.*` names), the output cap, then the tokens, stop reason and whether the tool was
 * called. The prompt and the answer are never recorded.
 */
export function instrumentLlmClient(client: LlmClient, telemetry: Telemetry): LlmClient {
  return {
    get provider() {
      return client.provider;
    },
    get model() {
      return client.model;
    },
    complete: (request: LlmRequest, signal: AbortSignal): Promise<LlmResponse> =>
      telemetry.span(
        'llm.complete',
        {
          'gen_ai.system': client.provider,
          'gen_ai.request.model': client.model,
          'gen_ai.request.max_tokens': request.maxOutputTokens,
          'llm.tool': request.tool.name,
        },
        async () => {
          const response = await client.complete(request, signal);
          annotate(telemetry, {
            'gen_ai.response.model': response.model,
            'gen_ai.usage.input_tokens': response.usage?.input_tokens,
            'gen_ai.usage.output_tokens': response.usage?.output_tokens,
            'gen_ai.response.finish_reasons': response.stopReason,
            'llm.tool_called': response.toolInput !== undefined,
          });
          return response;
        },
      ),
  };
}
