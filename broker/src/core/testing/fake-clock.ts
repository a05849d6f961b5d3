// A hand-driven clock and timer set for tests: nothing fires until advance() moves time past it.
import type { TimerHandle, Timers } from '../timers.js';

interface Scheduled {
  at: number;
  callback: () => void;
  every: number | undefined;
}

export class FakeClock implements Timers {
  time: number;
  private readonly scheduled = new Map<number, Scheduled>();
  private nextId = 1;

  constructor(start = 1_700_000_000_000) {
    this.time = start;
  }

  readonly now = (): number => this.time;

  setTimeout(callback: () => void, ms: number): TimerHandle {
    return this.add(callback, ms, undefined);
  }

  clearTimeout(handle: TimerHandle): void {
    this.scheduled.delete(handle as number);
  }

  setInterval(callback: () => void, ms: number): TimerHandle {
    return this.add(callback, ms, ms);
  }

  clearInterval(handle: TimerHandle): void {
    this.scheduled.delete(handle as number);
  }

  /** Timeouts still waiting (intervals excluded). */
  get pendingTimeouts(): number {
    let count = 0;
    for (const timer of this.scheduled.values()) if (timer.every === undefined) count++;
    return count;
  }

  /** Moves time forward, firing every timer that falls due on the way, in time order. */
  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      let dueId: number | undefined;
      let due: Scheduled | undefined;
      for (const [id, timer] of this.scheduled) {
        if (timer.at <= until && (due === undefined || timer.at < due.at)) {
          dueId = id;
          due = timer;
        }
      }
      if (due === undefined || dueId === undefined) break;
      this.time = Math.max(this.time, due.at);
      if (due.every === undefined) this.scheduled.delete(dueId);
      else due.at += due.every;
      due.callback();
    }
    this.time = until;
  }

  private add(callback: () => void, ms: number, every: number | undefined): number {
    const id = this.nextId++;
    this.scheduled.set(id, { at: this.time + Math.max(0, ms), callback, every: every === undefined ? undefined : Math.max(1, every) });
    return id;
  }
}
