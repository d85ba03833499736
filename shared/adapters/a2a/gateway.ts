/**
 * The A2A adapter assembled: the references kept on the task records of any state store, the
 * gateway the core's use cases call (card resolution, polling, notifications), and the
 * dispatch bus that wraps the runtime's bus. `createA2a` builds all three from the config.
 */
import { ConditionFailedError, ConfigError, errorMessage } from '../../core/errors';
import type { Config } from '../../core/config';
import type { A2aEndpoint, A2aTaskRef, TaskRecord } from '../../core/model';
import type { A2aGateway, Clock, EventBus, Logger, ResolvedAgentCard, StateStore } from '../../core/ports';
import { cardLocation, fetchAgentCard, type CardFetchOptions } from './card';
import { A2aClient, secretsFromJson, type A2aSecrets } from './client';
import { A2aDispatchBus, type A2aRefs, type StatusSink } from './dispatch-bus';
import { isTerminal } from './status';
import { A2aTracker } from './tracker';

/** A2A task references on the coordinator's task records, with conditional writes. */
export class StoreA2aRefs implements A2aRefs {
  constructor(private readonly store: StateStore) {}

  async endpoint(agentId: string): Promise<A2aEndpoint | undefined> {
    return (await this.store.getAgent(agentId))?.a2a;
  }

  async list(taskId: string): Promise<A2aTaskRef[]> {
    return (await this.store.getTask(taskId))?.a2a_tasks ?? [];
  }

  async lookup(taskId: string): Promise<{ refs: A2aTaskRef[]; assigned: string[] } | undefined> {
    const task = await this.store.getTask(taskId);
    if (!task) return undefined;
    return { refs: task.a2a_tasks ?? [], assigned: task.status === 'assigned' ? task.assigned_agents : [] };
  }

  async put(taskId: string, ref: A2aTaskRef): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const task = await this.store.getTask(taskId);
      if (!task) return;
      const next: TaskRecord = {
        ...task,
        a2a_tasks: [...(task.a2a_tasks ?? []).filter((r) => r.agent_id !== ref.agent_id), ref],
        version: task.version + 1,
      };
      try {
        await this.store.putTask(next, task.version);
        return;
      } catch (err) {
        if (!(err instanceof ConditionFailedError) || attempt >= 8) throw err;
      }
    }
  }

  async open(limit: number): Promise<Array<{ task_id: string; ref: A2aTaskRef }>> {
    const tasks = await this.store.listTasksByStatus('assigned', limit);
    return tasks.flatMap((t) =>
      (t.a2a_tasks ?? [])
        .filter((r) => r.a2a_task_id && t.assigned_agents.includes(r.agent_id) && !isTerminal(r.state))
        .map((ref) => ({ task_id: t.task_id, ref })),
    );
  }
}

export interface A2aParts {
  gateway: A2aGateway;
  /** Wraps the runtime's bus: A2A agents' assignments are also sent to them. */
  wrap(bus: EventBus): EventBus;
  /** Where agents push updates; the local server sets its own URL when none is configured. */
  setNotificationUrl(url: string): void;
  notificationUrl(): string | undefined;
}

export interface A2aDeps {
  store: StateStore;
  logger: Logger;
  clock: Clock;
  /** Hands a status message to the coordinator (set once the coordinator exists). */
  report: StatusSink;
  fetch?: typeof fetch;
  secrets?: A2aSecrets;
}

export function createA2a(config: Config, deps: A2aDeps): A2aParts {
  const logger = deps.logger.child({ component: 'a2a' });
  const now = () => deps.clock.now();
  const refs = new StoreA2aRefs(deps.store);
  let secrets: A2aSecrets;
  try {
    secrets = deps.secrets ?? secretsFromJson(config.A2A_SECRETS);
  } catch (err) {
    // The value itself is never repeated: it holds secrets.
    throw new ConfigError(`invalid configuration: A2A_SECRETS: ${errorMessage(err).split(':')[0]}`);
  }
  const client = new A2aClient({
    secrets,
    timeoutMs: config.A2A_TIMEOUT * 1000,
    maxReplyBytes: Math.max(config.MAX_MESSAGE_BYTES, 1024 * 1024),
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  });
  const cardOptions: CardFetchOptions = {
    allowInsecure: config.A2A_ALLOW_INSECURE_URLS,
    skillMapping: config.A2A_SKILL_MAPPING,
    timeoutMs: config.A2A_TIMEOUT * 1000,
    maxBytes: config.A2A_CARD_MAX_BYTES,
    now,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  };
  let notificationUrl = config.A2A_NOTIFICATION_URL;
  const tracker = new A2aTracker({ refs, client, report: deps.report, logger, now });
  const gateway: A2aGateway = {
    async resolveCard(url: string, current?: A2aEndpoint): Promise<ResolvedAgentCard> {
      const fresh =
        current &&
        current.card_url === cardLocation(url) &&
        now() - Date.parse(current.fetched_at) < config.A2A_CARD_REFRESH * 1000;
      if (fresh) return { capabilities: current.card_capabilities, a2a: current };
      const card = await fetchAgentCard(url, cardOptions);
      if (current && current.card_sha256 !== card.a2a.card_sha256) {
        logger.info('a2a agent card changed', { card_url: card.a2a.card_url });
      }
      return card;
    },
    poll: () => tracker.poll(),
    notification: (body, headers) => tracker.notification(body, headers),
  };
  return {
    gateway,
    wrap: (bus) =>
      new A2aDispatchBus(bus, {
        refs,
        client,
        report: deps.report,
        logger,
        now,
        notificationUrl: () => notificationUrl,
      }),
    setNotificationUrl: (url) => {
      notificationUrl ??= url;
    },
    notificationUrl: () => notificationUrl,
  };
}
