// A lock the test drives by hand: it grants acquisition, loses the lock or fails verify() when
// told, and writes every call into a shared journal of calls so effect order can be asserted.
import type { HaAcquisition, HaLock, HaLockHolder, HaLockLoss } from '../ha-lock.js';

export class ScriptedLock implements HaLock {
  epoch = 0;
  held = false;
  /** What verify() answers while held. */
  verifies = true;
  private pending: { resolve: (a: HaAcquisition) => void; reject: (e: unknown) => void } | undefined;
  private readonly listeners: Array<(loss: HaLockLoss) => void> = [];

  constructor(private readonly calls: string[] = []) {}

  /** Whether an acquire() is waiting. */
  get contending(): boolean {
    return this.pending !== undefined;
  }

  acquire(signal?: AbortSignal): Promise<HaAcquisition> {
    this.calls.push('lock.acquire');
    if (this.pending !== undefined) throw new Error('acquire() while another is pending');
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.calls.push('lock.acquire-aborted');
        this.pending = undefined;
        reject(signal!.reason);
      };
      const settled = (): void => signal?.removeEventListener('abort', onAbort);
      this.pending = {
        resolve: (a) => (settled(), resolve(a)),
        reject: (e) => (settled(), reject(e)),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The pending acquire() succeeds with the next epoch. */
  grant(via = 'free'): void {
    const pending = this.pending!;
    this.pending = undefined;
    this.epoch++;
    this.held = true;
    pending.resolve({ ...this.holder()!, via });
  }

  /** The pending acquire() fails. */
  refuse(err: Error): void {
    const pending = this.pending!;
    this.pending = undefined;
    pending.reject(err);
  }

  /** The lock is lost; listeners hear of it on a microtask, as with the real locks. */
  lose(reason = 'replaced', detail = 'another holder took over'): void {
    this.held = false;
    const loss = { reason, detail, epoch: this.epoch };
    queueMicrotask(() => {
      for (const listener of this.listeners) listener(loss);
    });
  }

  async release(): Promise<void> {
    this.calls.push('lock.release');
    this.held = false;
  }
  isHeld(): boolean {
    return this.held;
  }
  async verify(): Promise<boolean> {
    return this.held && this.verifies;
  }
  onLost(listener: (loss: HaLockLoss) => void): void {
    this.listeners.push(listener);
  }
  holder(): HaLockHolder | undefined {
    return this.held ? { host: 'test-host', pid: 4242, epoch: this.epoch, acquiredAt: 1_700_000_000_000 } : undefined;
  }
  async inspect(): Promise<HaLockHolder | undefined> {
    return { host: 'other-host', pid: 77, epoch: this.epoch, acquiredAt: 1_700_000_000_000 };
  }
}
