// Time as the core sees it: a clock and timers, injected so tests can move time by hand.

export type TimerHandle = unknown;

export interface Timers {
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  setInterval(callback: () => void, ms: number): TimerHandle;
  clearInterval(handle: TimerHandle): void;
}

/** Node's timers, unref'd so a pending redelivery or sweep never keeps the process alive. */
export const systemTimers: Timers = {
  setTimeout(callback, ms) {
    return setTimeout(callback, ms).unref();
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
  setInterval(callback, ms) {
    return setInterval(callback, ms).unref();
  },
  clearInterval(handle) {
    clearInterval(handle as NodeJS.Timeout);
  },
};
