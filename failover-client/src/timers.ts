// Time, injected: the heart-beat monitor, the reconnect back-off and send timeouts read the clock
// and set timers only through this interface, so tests can move time by hand.

export type TimerHandle = { readonly id: unknown };

export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => ({ id: setTimeout(fn, ms) }),
  clearTimeout: (handle) => clearTimeout(handle.id as NodeJS.Timeout),
};

/** Resolves after `ms`, or at once when `signal` aborts; true when the full time passed. */
export function sleep(timers: Timers, ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      timers.clearTimeout(handle);
      resolve(false);
    };
    const handle = timers.setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Rejects with `onTimeout()` when `promise` has not settled within `ms`; `ms` <= 0 means no bound. */
export function withTimeout<T>(timers: Timers, promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  if (ms <= 0) return promise;
  return new Promise<T>((resolve, reject) => {
    const timer = timers.setTimeout(() => reject(onTimeout()), ms);
    promise.then(
      (value) => {
        timers.clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        timers.clearTimeout(timer);
        reject(error);
      },
    );
  });
}
