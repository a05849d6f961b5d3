// Timers a test can pause (callbacks that fall due wait for resume()) or kill (they never run),
// to stop one in-process lock's clock-driven work the way SIGSTOP or kill -9 would.
import type { TimerHandle, Timers } from '../../journal/timers.js';

export class PausableTimers implements Timers {
  private paused = false;
  private dead = false;
  private held: Array<() => void> = [];

  constructor(private readonly inner: Timers) {}

  now(): number {
    return this.inner.now();
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.inner.setTimeout(() => {
      if (this.dead) return;
      if (this.paused) this.held.push(fn);
      else fn();
    }, ms);
  }
  clearTimeout(handle: TimerHandle): void {
    this.inner.clearTimeout(handle);
  }

  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
    const held = this.held;
    this.held = [];
    for (const fn of held) if (!this.dead) fn();
  }
  kill(): void {
    this.dead = true;
    this.held = [];
  }
}
