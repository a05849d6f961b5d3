// A LockFs that a test can pause, stall or kill, so one in-process lock behaves like a process
// under SIGSTOP, on a hung disk, or after kill -9, while the test itself keeps running.
import type { LockFs, LockStat } from '../lock-fs.js';

type Operation = keyof LockFs;

export class ControlledLockFs implements LockFs {
  private paused = false;
  private dead = false;
  private readonly stalled = new Set<Operation>();
  private waiting: Array<() => void> = [];

  constructor(private readonly inner: LockFs) {}

  /** Holds every call (and every result not yet delivered) until resume(). */
  pause(): void {
    this.paused = true;
  }
  /** Holds only these operations until resume(): a disk that hangs on some calls. */
  stall(...operations: Operation[]): void {
    for (const op of operations) this.stalled.add(op);
  }
  resume(): void {
    this.paused = false;
    this.stalled.clear();
    const waiting = this.waiting;
    this.waiting = [];
    for (const go of waiting) go();
  }
  /** No call settles any more: the process is gone. */
  kill(): void {
    this.dead = true;
  }

  private gate(op: Operation): Promise<void> {
    if (this.dead) return new Promise(() => undefined);
    if (!this.paused && !this.stalled.has(op)) return Promise.resolve();
    return new Promise<void>((resolve) => this.waiting.push(resolve)).then(() => this.gate(op));
  }

  private async run<T>(op: Operation, call: () => Promise<T>): Promise<T> {
    await this.gate(op);
    try {
      const value = await call();
      await this.gate(op);
      return value;
    } catch (err) {
      await this.gate(op);
      throw err;
    }
  }

  mkdir(path: string): Promise<void> {
    return this.run('mkdir', () => this.inner.mkdir(path));
  }
  mkdirp(path: string): Promise<void> {
    return this.run('mkdirp', () => this.inner.mkdirp(path));
  }
  rmdir(path: string): Promise<void> {
    return this.run('rmdir', () => this.inner.rmdir(path));
  }
  stat(path: string): Promise<LockStat> {
    return this.run('stat', () => this.inner.stat(path));
  }
  utimes(path: string, atime: Date, mtime: Date): Promise<void> {
    return this.run('utimes', () => this.inner.utimes(path, atime, mtime));
  }
  readFile(path: string): Promise<Buffer> {
    return this.run('readFile', () => this.inner.readFile(path));
  }
  writeNewFileSynced(path: string, data: Buffer): Promise<void> {
    return this.run('writeNewFileSynced', () => this.inner.writeNewFileSynced(path, data));
  }
  rename(from: string, to: string): Promise<void> {
    return this.run('rename', () => this.inner.rename(from, to));
  }
  unlink(path: string): Promise<void> {
    return this.run('unlink', () => this.inner.unlink(path));
  }
  fsyncDir(dir: string): Promise<void> {
    return this.run('fsyncDir', () => this.inner.fsyncDir(dir));
  }
}
