// The lock's semantics without a file system, for fast deterministic tests: the same lease, epoch,
// pid check and loss reasons as the file lock, over a shared MemoryLockDirectory and injected time.
import { randomUUID } from 'node:crypto';
import type { TimerHandle, Timers } from '../journal/timers.js';
import { silentLogger, type Logger } from '../log.js';
import { abortableDelay } from './abortable-delay.js';
import type {
  Acquisition,
  AcquiredVia,
  DirectoryLock,
  LockHolder,
  LockLoss,
  LockLossReason,
  LockLostListener,
  LockSettings,
} from './directory-lock.js';
import { resolveLockSettings } from './directory-lock.js';
import type { ProcessIdentity } from './host-identity.js';

interface MemoryRecord extends LockHolder {
  hostKey: string;
  token: string;
  lockId: number;
}

/** The directory being locked: the lock (an id and its lease), the holder record, live processes. */
export class MemoryLockDirectory {
  lock: { id: number; renewedAt: number } | undefined;
  record: MemoryRecord | undefined;
  private nextLockId = 1;
  private nextPid = 1000;
  private readonly dead = new Set<number>();
  private readonly stalled = new Set<number>();

  /** A pid for a new simulated process on this directory's one host. */
  newPid(): number {
    return this.nextPid++;
  }
  isAlive(pid: number): boolean {
    return !this.dead.has(pid);
  }
  /** The process is gone, as after kill -9. */
  kill(pid: number): void {
    this.dead.add(pid);
  }
  /** The process runs, but its renewals hang (a stuck disk). */
  stallRenewals(pid: number): void {
    this.stalled.add(pid);
  }
  renewalsStalled(pid: number): boolean {
    return this.stalled.has(pid);
  }
  makeLock(now: number): number {
    const id = this.nextLockId++;
    this.lock = { id, renewedAt: now };
    return id;
  }
}

export interface MemoryDirectoryLockOptions extends Partial<LockSettings> {
  directory: MemoryLockDirectory;
  timers: Timers;
  identity?: ProcessIdentity;
  logger?: Logger;
}

interface Session {
  record: MemoryRecord;
  renewedAt: number;
  ended: boolean;
  timer?: TimerHandle;
}

export class MemoryDirectoryLock implements DirectoryLock {
  readonly settings: LockSettings;
  readonly identity: ProcessIdentity;
  private readonly directory: MemoryLockDirectory;
  private readonly timers: Timers;
  private readonly logger: Logger;
  private readonly listeners: LockLostListener[] = [];
  private session: Session | undefined;
  private acquiring = false;

  constructor(options: MemoryDirectoryLockOptions) {
    this.settings = resolveLockSettings(options);
    this.directory = options.directory;
    this.timers = options.timers;
    this.logger = options.logger ?? silentLogger();
    this.identity = options.identity ?? { host: 'memory', hostKey: 'memory', pid: this.directory.newPid() };
  }

  async acquire(signal?: AbortSignal): Promise<Acquisition> {
    if (this.acquiring) throw new Error('acquire() is already in progress');
    if (this.session !== undefined && !this.session.ended) throw new Error('the lock is already held');
    this.acquiring = true;
    try {
      for (;;) {
        signal?.throwIfAborted();
        const acquired = this.acquireOnce();
        if (acquired !== undefined) return acquired;
        await abortableDelay(this.timers, this.settings.retryIntervalMs, signal);
      }
    } finally {
      this.acquiring = false;
    }
  }

  async release(): Promise<void> {
    const session = this.session;
    if (session === undefined || session.ended) return;
    this.end(session);
    if (this.directory.lock?.id === session.record.lockId) this.directory.lock = undefined;
    this.logger.info({ event: 'lock.released', epoch: session.record.epoch }, 'released the lock');
  }

  isHeld(): boolean {
    const session = this.session;
    if (session === undefined || session.ended) return false;
    const age = this.timers.now() - session.renewedAt;
    if (age < this.settings.leaseMs - this.settings.safetyMarginMs) return true;
    this.lose(session, 'lease-expired', `the lease was last renewed ${age} ms ago`);
    return false;
  }

  async verify(): Promise<boolean> {
    const session = this.session;
    if (session === undefined || !this.isHeld()) return false;
    return this.checkDirectory(session);
  }

  onLost(listener: LockLostListener): void {
    this.listeners.push(listener);
  }

  holder(): LockHolder | undefined {
    const session = this.session;
    return session === undefined || session.ended ? undefined : publicHolder(session.record);
  }

  async inspect(): Promise<LockHolder | undefined> {
    const { lock, record } = this.directory;
    return lock === undefined || record === undefined ? undefined : publicHolder(record);
  }

  private acquireOnce(): Acquisition | undefined {
    const dir = this.directory;
    const now = this.timers.now();
    let via: AcquiredVia = 'free';
    if (dir.lock !== undefined) {
      const record = dir.record;
      if (now >= dir.lock.renewedAt + this.settings.leaseMs) via = 'stale';
      else if (
        this.settings.pidCheck &&
        record !== undefined &&
        record.lockId === dir.lock.id &&
        record.hostKey === this.identity.hostKey &&
        record.pid !== this.identity.pid &&
        !dir.isAlive(record.pid)
      ) {
        via = 'process-gone';
      } else return undefined;
    }
    const previous = dir.record;
    const record: MemoryRecord = {
      host: this.identity.host,
      hostKey: this.identity.hostKey,
      pid: this.identity.pid,
      epoch: (previous?.epoch ?? 0) + 1,
      acquiredAt: now,
      token: randomUUID(),
      lockId: dir.makeLock(now),
    };
    dir.record = record;
    const session: Session = { record, renewedAt: now, ended: false };
    this.session = session;
    this.scheduleRenewal(session);
    const acquisition: Acquisition = { ...publicHolder(record), via };
    if (previous !== undefined) acquisition.previous = publicHolder(previous);
    this.logger.info({ event: 'lock.acquired', epoch: record.epoch, via }, `acquired the lock (epoch ${record.epoch}, ${via})`);
    return acquisition;
  }

  /** Renews like proper-lockfile plus the file lock's watchdog: check, then extend the lease. */
  private scheduleRenewal(session: Session): void {
    session.timer = this.timers.setTimeout(() => {
      session.timer = undefined;
      if (session.ended || !this.isHeld() || !this.checkDirectory(session)) return;
      if (this.directory.renewalsStalled(this.identity.pid)) {
        this.scheduleRenewal(session);
        return;
      }
      const now = this.timers.now();
      this.directory.lock!.renewedAt = now;
      session.renewedAt = now;
      this.scheduleRenewal(session);
    }, this.settings.renewIntervalMs);
  }

  private checkDirectory(session: Session): boolean {
    const { lock, record } = this.directory;
    if (lock === undefined) this.lose(session, 'removed', 'the lock is gone');
    else if (lock.id !== session.record.lockId) this.lose(session, 'replaced', 'another lock replaced ours');
    else if (record === undefined) this.lose(session, 'removed', 'the holder record is gone');
    else if (record.token !== session.record.token) this.lose(session, 'replaced', `the holder record now names pid ${record.pid}`);
    return !session.ended && this.session === session;
  }

  private lose(session: Session, reason: LockLossReason, detail: string): void {
    if (session.ended) return;
    this.end(session);
    // Give up a lease we no longer trust, so a contender need not wait it out.
    if (this.directory.lock?.id === session.record.lockId) this.directory.lock = undefined;
    if (this.session !== session) return;
    const loss: LockLoss = { reason, detail, epoch: session.record.epoch };
    this.logger.warn({ event: 'lock.lost', ...loss }, `lost the lock: ${detail}`);
    queueMicrotask(() => {
      for (const listener of this.listeners) listener(loss);
    });
  }

  private end(session: Session): void {
    session.ended = true;
    if (session.timer !== undefined) this.timers.clearTimeout(session.timer);
    session.timer = undefined;
  }
}

function publicHolder(record: MemoryRecord): LockHolder {
  return { host: record.host, pid: record.pid, epoch: record.epoch, acquiredAt: record.acquiredAt };
}
