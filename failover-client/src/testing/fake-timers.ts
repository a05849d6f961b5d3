// A clock moved by hand, for the heart-beat and back-off tests.
import type { TimerHandle, Timers } from '../timers.js';

interface Scheduled {
  at: number;
  fn: () => void;
  handle: TimerHandle;
}

export class FakeTimers implements Timers {
  private time = 0;
  private queue: Scheduled[] = [];

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const handle = { id: Symbol('timer') };
    this.queue.push({ at: this.time + Math.max(0, ms), fn, handle });
    return handle;
  }

  clearTimeout(handle: TimerHandle): void {
    this.queue = this.queue.filter((s) => s.handle !== handle);
  }

  /** Moves the clock forward, firing due timers in time order (including ones they set). */
  advance(ms: number): void {
    const target = this.time + ms;
    for (;;) {
      this.queue.sort((a, b) => a.at - b.at);
      const next = this.queue[0];
      if (next === undefined || next.at > target) break;
      this.queue.shift();
      this.time = next.at;
      next.fn();
    }
    this.time = target;
  }

  get pending(): number {
    return this.queue.length;
  }
}
