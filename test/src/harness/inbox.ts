// An async queue of received items (messages, frames) with deadlines, so tests read deliveries in order.
import { sleep } from './wait.js';

export class Inbox<T> {
  readonly items: T[] = [];
  private waiters: Array<() => void> = [];
  private failure?: Error;

  push(item: T): void {
    this.items.push(item);
    this.wake();
  }

  /** Makes pending and later reads fail, e.g. when the connection behind the inbox dies. */
  fail(error: Error): void {
    this.failure ??= error;
    this.wake();
  }

  get size(): number {
    return this.items.length;
  }

  async next(timeoutMs = 5000, what = 'a message'): Promise<T> {
    const [item] = await this.take(1, timeoutMs, what);
    return item!;
  }

  /** Removes and returns the next `count` items, waiting up to `timeoutMs` for them. */
  async take(count: number, timeoutMs = 5000, what = 'messages'): Promise<T[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.items.length < count) {
      if (this.failure) throw this.failure;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${count} ${what}; got ${this.items.length}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.items.splice(0, count);
  }

  /** Asserts nothing arrives for `ms` (for "is not delivered" checks; the wait is a bound, not a speed claim). */
  async expectNothing(ms: number, what = 'no message'): Promise<void> {
    await sleep(ms);
    if (this.items.length > 0) throw new Error(`expected ${what}, but ${this.items.length} arrived`);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
