// The client's status events, a discriminated union an application can switch on exhaustively,
// and a small typed emitter that also serves them as an async iterator.
import type { FailoverClientError } from './errors.js';

export type Status =
  /** The first connection is up (CONNECTED received, nothing to restore). */
  | { type: 'connected'; endpoint: string }
  /** The connection was lost; sends wait for the next one, open transactions are rolled back. */
  | { type: 'interrupted'; endpoint: string; reason: string }
  /** A reconnect pass over the endpoints starts after `delayMs`; `attempt` counts from 1 after each loss. */
  | { type: 'reconnecting'; attempt: number; delayMs: number }
  /** A new connection is up and subscriptions are restored; unconfirmed sends are being resent. */
  | { type: 'resumed'; from: string; to: string }
  /** The broker sent an ERROR frame (it then closes the connection). */
  | { type: 'broker-error'; endpoint: string; brokerCode: string; message: string }
  /** Reconnecting gave up (maxReconnectAttempts); every pending operation was rejected. Final. */
  | { type: 'failed'; error: FailoverClientError }
  /** close() finished. Final. */
  | { type: 'closed' };

export type StatusType = Status['type'];
export type StatusListener = (status: Status) => void;

export class StatusEmitter {
  private readonly listeners = new Set<StatusListener>();
  private readonly iterators = new Set<{ push(status: Status): void; end(): void }>();
  private ended = false;

  /** Adds a listener; returns the function that removes it. */
  on(listener: StatusListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(status: Status): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(status);
      } catch {
        // A listener's own bug must not break reconnection.
      }
    }
    for (const iterator of this.iterators) iterator.push(status);
    if (status.type === 'failed' || status.type === 'closed') this.end();
  }

  /** Every status from now on, ending after 'failed' or 'closed' (nats.js style `for await`). */
  iterate(): AsyncIterableIterator<Status> {
    const queue: Status[] = [];
    let wake: (() => void) | undefined;
    let done = this.ended;
    const entry = {
      push: (status: Status) => {
        queue.push(status);
        wake?.();
      },
      end: () => {
        done = true;
        wake?.();
      },
    };
    this.iterators.add(entry);
    const iterators = this.iterators;
    const iterator: AsyncIterableIterator<Status> = {
      async next(): Promise<IteratorResult<Status>> {
        while (queue.length === 0 && !done) await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        const value = queue.shift();
        if (value !== undefined) return { value, done: false };
        iterators.delete(entry);
        return { value: undefined, done: true };
      },
      async return(): Promise<IteratorResult<Status>> {
        iterators.delete(entry);
        done = true;
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  private end(): void {
    this.ended = true;
    for (const iterator of this.iterators) iterator.end();
  }
}
