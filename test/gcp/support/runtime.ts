/** Test plumbing for the GCP functions: a store with injectable failures, function servers. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StoreUnavailableError } from '../../../shared/core/errors';
import type { StateStore } from '../../../shared/core/ports';
import type { PublishTarget } from '../../../shared/adapters/gcp/pubsub-bus';

type Method = Exclude<keyof StateStore, 'name' | 'close'>;

/** Delegates to a real store; `failNext(method, n)` makes the next n calls throw StoreUnavailableError. */
export class FlakyStore implements StateStore {
  readonly name: string;
  private readonly failures = new Map<Method, number>();
  constructor(readonly inner: StateStore) {
    this.name = `flaky(${inner.name})`;
  }
  failNext(method: Method, times = 1): void {
    this.failures.set(method, times);
  }
  private gate(method: Method): void {
    const left = this.failures.get(method) ?? 0;
    if (left <= 0) return;
    this.failures.set(method, left - 1);
    throw new StoreUnavailableError(`injected: ${method} unavailable`);
  }
  getAgent: StateStore['getAgent'] = async (id) => (this.gate('getAgent'), this.inner.getAgent(id));
  listAgents: StateStore['listAgents'] = async () => (this.gate('listAgents'), this.inner.listAgents());
  putAgent: StateStore['putAgent'] = async (a, v) => (this.gate('putAgent'), this.inner.putAgent(a, v));
  getTask: StateStore['getTask'] = async (id) => (this.gate('getTask'), this.inner.getTask(id));
  putTask: StateStore['putTask'] = async (t, v) => (this.gate('putTask'), this.inner.putTask(t, v));
  listTasksByStatus: StateStore['listTasksByStatus'] = async (s, l) => (
    this.gate('listTasksByStatus'),
    this.inner.listTasksByStatus(s, l)
  );
  listQueue: StateStore['listQueue'] = async (k, l, c) => (
    this.gate('listQueue'),
    this.inner.listQueue(k, l, c)
  );
  listQueueKeys: StateStore['listQueueKeys'] = async () => (
    this.gate('listQueueKeys'),
    this.inner.listQueueKeys()
  );
  listPendingOutbox: StateStore['listPendingOutbox'] = async (l, c) => (
    this.gate('listPendingOutbox'),
    this.inner.listPendingOutbox(l, c)
  );
  listOverdue: StateStore['listOverdue'] = async (b, l, c) => (
    this.gate('listOverdue'),
    this.inner.listOverdue(b, l, c)
  );
}

/** Counts what the topic accepted, so a reader knows how many messages to wait for. */
export function countingTopic(topic: PublishTarget): PublishTarget & { accepted: Set<string> } {
  const accepted = new Set<string>();
  return {
    name: topic.name,
    accepted,
    publishMessage: (async (message: Parameters<PublishTarget['publishMessage']>[0]) => {
      const id = await topic.publishMessage(message);
      accepted.add(String(message.attributes?.event_id));
      return id;
    }) as PublishTarget['publishMessage'],
  };
}

export async function listen(server: Server): Promise<{ url: string; close(): Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
