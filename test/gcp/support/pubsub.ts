/** Reads messages back from a Pub/Sub (emulator) subscription for assertions. */
import type { Message, Subscription } from '@google-cloud/pubsub';

export interface Received {
  id: string;
  data: unknown;
  attributes: Record<string, string>;
  orderingKey?: string;
}

export interface Collector {
  messages: Received[];
  /** Resolves once `predicate` holds for the messages received so far. */
  waitFor(
    predicate: (messages: Received[]) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<Received[]>;
  close(): Promise<void>;
}

/** Streams from `subscription`, acks every message, keeps them in arrival order. */
export function collect(subscription: Subscription): Collector {
  const messages: Received[] = [];
  const waiters = new Set<() => void>();
  subscription.on('message', (m: Message) => {
    messages.push({
      id: m.id,
      data: JSON.parse(m.data.toString('utf8')),
      attributes: { ...m.attributes },
      ...(m.orderingKey ? { orderingKey: m.orderingKey } : {}),
    });
    m.ack();
    for (const w of waiters) w();
  });
  subscription.on('error', (err) => console.error('subscription error', err));
  return {
    messages,
    waitFor(predicate, what, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!predicate(messages)) return;
          cleanup();
          resolve(messages);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(
              `timed out waiting for ${what}; received: ${JSON.stringify(messages.map((m) => m.attributes))}`,
            ),
          );
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    close: () => subscription.close(),
  };
}
