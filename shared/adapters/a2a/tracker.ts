/**
 * Status back from A2A agents: push notifications (`POST /a2a/notifications` on the local
 * runtime, an HTTP function route on each cloud) and the sweep's polling (`GetTask`, v0.3
 * `tasks/get`) for agents that do not push, or whose pushes stopped arriving.
 *
 * A notification is a hint, never trusted on its own: it must carry the per-task token the
 * coordinator gave the agent, and a reportable state is confirmed with `GetTask` at the agent's
 * registered interface (which also brings the artifacts) before it becomes a contract message.
 */
import { timingSafeEqual } from 'node:crypto';
import { errorMessage } from '../../core/errors';
import type { Logger } from '../../core/ports';
import type { A2aClient } from './client';
import type { A2aRefs, StatusSink } from './dispatch-bus';
import type { A2aTaskRef } from './endpoint';
import { isReportable, isTerminal, statusMessage } from './status';
import { issueMessage, normaliseState, PushNotificationBody, type A2aState, type A2aTaskView } from './wire';

export interface TrackerOptions {
  refs: A2aRefs;
  client: A2aClient;
  report: StatusSink;
  logger: Logger;
  now?: () => number;
  /** A pushing agent's task not heard of for this long is polled too (default 10 minutes). */
  pushGraceMs?: number;
  /** At most this many A2A tasks polled per sweep (default 100). */
  pollLimit?: number;
}

export interface NotificationAnswer {
  status: number;
  body: Record<string, unknown>;
}

export interface PollResult {
  polled: number;
  reported: number;
  failed: number;
}

export class A2aTracker {
  private readonly now: () => number;

  constructor(private readonly options: TrackerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** One push notification: the body (JSON) and the request headers. */
  async notification(
    body: unknown,
    headers: Record<string, string | string[] | undefined>,
  ): Promise<NotificationAnswer> {
    const parsed = PushNotificationBody.safeParse(body);
    if (!parsed.success) {
      return { status: 400, body: { error: 'invalid_notification', reason: issueMessage(parsed.error) } };
    }
    const n = parsed.data;
    let a2aTaskId: string;
    let contextId: string | undefined;
    let state: A2aState | undefined;
    if ('statusUpdate' in n) {
      a2aTaskId = n.statusUpdate.taskId;
      contextId = n.statusUpdate.contextId;
      state = normaliseState(n.statusUpdate.status.state);
    } else if ('artifactUpdate' in n) {
      a2aTaskId = n.artifactUpdate.taskId;
      contextId = n.artifactUpdate.contextId;
    } else if ('message' in n) {
      return { status: 200, body: { ignored: 'message' } };
    } else {
      const task = 'task' in n ? n.task : n;
      a2aTaskId = task.id;
      contextId = task.contextId;
      state = normaliseState(task.status.state);
    }
    if (!contextId)
      return { status: 400, body: { error: 'invalid_notification', reason: 'contextId: missing' } };
    const ref = (await this.options.refs.list(contextId)).find((r) => r.a2a_task_id === a2aTaskId);
    if (!ref || !ref.push_token)
      return { status: 404, body: { error: 'not_found', reason: 'unknown A2A task' } };
    if (!tokenMatches(headers, ref.push_token)) {
      return { status: 401, body: { error: 'unauthorized', reason: 'missing or wrong notification token' } };
    }
    if (state === undefined || !isReportable(state)) return { status: 200, body: { accepted: true, state } };
    if (isTerminal(ref.state)) return { status: 200, body: { accepted: true, duplicate: true } };
    const reported = await this.confirm(contextId, ref);
    return { status: 200, body: { accepted: true, state: reported ?? state } };
  }

  /** Polls the A2A tasks the coordinator is waiting for; reports those that moved on. */
  async poll(): Promise<PollResult> {
    const { refs, logger } = this.options;
    const grace = this.options.pushGraceMs ?? 10 * 60_000;
    const open = await refs.open(this.options.pollLimit ?? 100);
    const due = open.filter(({ ref }) => !ref.push || this.now() - Date.parse(ref.updated_at) >= grace);
    const result: PollResult = { polled: 0, reported: 0, failed: 0 };
    for (const { task_id, ref } of due) {
      result.polled += 1;
      try {
        if ((await this.confirm(task_id, ref, ref.state)) !== undefined) result.reported += 1;
      } catch (err) {
        result.failed += 1;
        logger.warn('a2a poll failed', { task_id, agent_id: ref.agent_id, error: errorMessage(err) });
      }
    }
    return result;
  }

  /**
   * Reads the A2A task at the agent's registered interface; records its state and reports it
   * when it is reportable and changed. Answers with the state reported, if any.
   */
  private async confirm(taskId: string, ref: A2aTaskRef, previous?: string): Promise<A2aState | undefined> {
    const { refs, client, report } = this.options;
    const endpoint = await refs.endpoint(ref.agent_id);
    if (!endpoint || !ref.a2a_task_id) return undefined;
    const task: A2aTaskView = await client.getTask(ref.agent_id, endpoint, ref.a2a_task_id);
    const nowIso = new Date(this.now()).toISOString();
    if (task.state === previous && !isTerminal(task.state)) {
      await refs.put(taskId, { ...ref, updated_at: nowIso });
      return undefined;
    }
    const next: A2aTaskRef = { ...ref, state: task.state, updated_at: nowIso };
    if (task.message && (task.state === 'input-required' || task.state === 'auth-required')) {
      next.message = task.message;
    }
    // Reported first, recorded after: a report that fails leaves the state to report again.
    const message = statusMessage(taskId, ref.agent_id, task);
    if (message) await report(message);
    await refs.put(taskId, next);
    return message ? task.state : undefined;
  }
}

function tokenMatches(headers: Record<string, string | string[] | undefined>, expected: string): boolean {
  const header = (name: string) => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const auth = header('authorization');
  const given =
    header('x-a2a-notification-token') ??
    (auth?.toLowerCase().startsWith('bearer ') ? auth.slice(7).trim() : undefined);
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
