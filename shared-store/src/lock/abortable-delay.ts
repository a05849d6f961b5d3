// A wait on injected timers that an AbortSignal cuts short: how a contender sleeps between polls.
import type { Timers } from '../journal/timers.js';

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function abortableDelay(timers: Timers, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      timers.clearTimeout(handle);
      reject(signal!.reason);
    };
    const handle = timers.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
