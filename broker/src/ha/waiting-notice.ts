// Passes the data-directory lock through to the HA controller and says when an acquisition has to
// wait behind another holder: the moment a broker knows it is a standby, which operators and
// tests want to hear about (the `ha.standby` log line) before any takeover.
import { hostname } from 'node:os';
import type { HaAcquisition, HaLock, HaLockHolder, HaLockLoss } from './ha-lock.js';

export interface WaitingNoticeOptions {
  /** Called once per acquisition that did not succeed at once, with the holder recorded beside the lock. */
  onWaiting: (holder: HaLockHolder | undefined) => void;
  /**
   * How long an acquisition may take before it counts as waiting, when the lock was taken at the
   * start (a dead holder's lock is broken within this) and when it was free (a contender raced us).
   */
  heldGraceMs?: number;
  freeGraceMs?: number;
}

export class WaitingNoticeLock implements HaLock {
  private readonly heldGraceMs: number;
  private readonly freeGraceMs: number;

  constructor(
    private readonly inner: HaLock,
    private readonly options: WaitingNoticeOptions,
  ) {
    this.heldGraceMs = options.heldGraceMs ?? 50;
    this.freeGraceMs = options.freeGraceMs ?? 1000;
  }

  async acquire(signal?: AbortSignal): Promise<HaAcquisition> {
    const holder = await this.inner.inspect().catch(() => undefined);
    let done = false;
    const timer = setTimeout(
      () => {
        void this.inner
          .inspect()
          .catch(() => undefined)
          .then((now) => {
            if (!done) this.options.onWaiting(now ?? holder);
          });
      },
      holder === undefined ? this.freeGraceMs : this.heldGraceMs,
    );
    try {
      return await this.inner.acquire(signal);
    } finally {
      done = true;
      clearTimeout(timer);
    }
  }

  release(): Promise<void> {
    return this.inner.release();
  }
  isHeld(): boolean {
    return this.inner.isHeld();
  }
  verify(): Promise<boolean> {
    return this.inner.verify();
  }
  onLost(listener: (loss: HaLockLoss) => void): void {
    this.inner.onLost(listener);
  }
  holder(): HaLockHolder | undefined {
    return this.inner.holder();
  }
  inspect(): Promise<HaLockHolder | undefined> {
    return this.inner.inspect();
  }
}

/**
 * The lock of a broker that runs without HA (`ha.enabled: false`): granted at once, never lost,
 * epoch 0. The role machine still runs, so the logs and the admin API read the same either way.
 */
export class UnsharedLock implements HaLock {
  private held = false;
  private readonly since = Date.now();

  async acquire(signal?: AbortSignal): Promise<HaAcquisition> {
    signal?.throwIfAborted();
    this.held = true;
    return { ...this.self(), via: 'ha disabled' };
  }
  async release(): Promise<void> {
    this.held = false;
  }
  isHeld(): boolean {
    return this.held;
  }
  async verify(): Promise<boolean> {
    return this.held;
  }
  onLost(): void {
    // Never lost: nobody else contends.
  }
  holder(): HaLockHolder | undefined {
    return this.held ? this.self() : undefined;
  }
  async inspect(): Promise<HaLockHolder | undefined> {
    return this.holder();
  }

  private self(): HaLockHolder {
    return { host: hostname(), pid: process.pid, epoch: 0, acquiredAt: this.since };
  }
}
