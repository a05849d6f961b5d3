// The data-directory lock on proper-lockfile: mkdir is the mutual exclusion, the lock directory's
// mtime is the lease, and the holder record beside it carries host, pid and the fencing epoch.
import { randomUUID } from 'node:crypto';
import { rmdirSync, statSync } from 'node:fs';
import { lock as lockDirectory } from 'proper-lockfile';
import { realTimers, type TimerHandle, type Timers } from '../journal/timers.js';
import { silentLogger, type Logger } from '../log.js';
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
import {
  holderOf,
  isRecordedLockDir,
  lockPaths,
  readHolderRecord,
  writeHolderRecord,
  type HolderRecord,
} from './holder-record.js';
import { currentIdentity, isProcessAlive, type ProcessIdentity } from './host-identity.js';
import { LockError, LockErrorCodes } from './lock-errors.js';
import { nodeLockFs, type LockFs } from './lock-fs.js';
import { abortableDelay } from './abortable-delay.js';

export interface FileDirectoryLockOptions extends Partial<LockSettings> {
  /** The directory to lock; created if missing. The lock and its record live inside it. */
  dataDir: string;
  logger?: Logger;
  fs?: LockFs;
  /** For polling and the lease watchdog; now() must be wall-clock time, as the lease is an mtime. */
  timers?: Timers;
  identity?: ProcessIdentity;
  isProcessAlive?: (pid: number) => boolean;
}

/** One acquisition, from mkdir to release or loss. */
interface Session {
  /** Also proper-lockfile's key for this acquisition (see acquireOnce). */
  token: string;
  /** The lease as others see it: the last mtime we set on the lock directory. */
  renewedAt: number;
  /** proper-lockfile removed a stale lock on our way in. */
  removedStale: boolean;
  /** The lock directory we made (set as soon as mkdir succeeded and we statted it). */
  lockIno?: number;
  lockBirthtimeMs?: number;
  record?: HolderRecord;
  release?: () => Promise<void>;
  ended: boolean;
  watchdog?: TimerHandle;
}

/** Errors that polling will not cure: the operator has to fix the directory. */
const FATAL_FS_CODES = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'ENOSPC']);

export class FileDirectoryLock implements DirectoryLock {
  readonly settings: LockSettings;
  private readonly paths: ReturnType<typeof lockPaths>;
  private readonly logger: Logger;
  private readonly fs: LockFs;
  private readonly timers: Timers;
  private readonly identity: ProcessIdentity;
  private readonly processAlive: (pid: number) => boolean;
  private readonly listeners: LockLostListener[] = [];
  private session: Session | undefined;
  private acquiring = false;
  private lastPollError: string | undefined;

  constructor(options: FileDirectoryLockOptions) {
    this.settings = resolveLockSettings(options);
    this.paths = lockPaths(options.dataDir);
    this.logger = options.logger ?? silentLogger();
    this.fs = options.fs ?? nodeLockFs;
    this.timers = options.timers ?? realTimers;
    this.identity = options.identity ?? currentIdentity();
    this.processAlive = options.isProcessAlive ?? isProcessAlive;
  }

  async acquire(signal?: AbortSignal): Promise<Acquisition> {
    if (this.acquiring) throw new Error('acquire() is already in progress');
    if (this.session !== undefined && !this.session.ended) throw new Error('the lock is already held');
    this.acquiring = true;
    try {
      signal?.throwIfAborted();
      await this.fs.mkdirp(this.paths.dir).catch((err: unknown) => {
        throw this.fatal(err, `cannot create the data directory ${this.paths.dir}`);
      });
      for (;;) {
        signal?.throwIfAborted();
        const acquired = await this.acquireOnce(signal);
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
    await session.release?.().catch(() => undefined);
    this.logger.info({ event: 'lock.released', epoch: session.record?.epoch, dir: this.paths.dir }, 'released the data-directory lock');
  }

  isHeld(): boolean {
    const session = this.session;
    if (session === undefined || session.ended || session.record === undefined) return false;
    const { leaseMs, safetyMarginMs } = this.settings;
    if (this.timers.now() < session.renewedAt + leaseMs - safetyMarginMs) return true;
    this.lose(session, 'lease-expired', `the lease was last renewed ${this.timers.now() - session.renewedAt} ms ago`);
    return false;
  }

  async verify(): Promise<boolean> {
    const session = this.session;
    if (session === undefined || !this.isHeld()) return false;
    const record = session.record!;
    try {
      const stat = await this.fs.stat(this.paths.lockDir);
      if (!isRecordedLockDir(record, stat)) {
        this.lose(session, 'replaced', 'another lock directory replaced ours');
        return false;
      }
      const onDisk = await readHolderRecord(this.fs, this.paths.holderFile);
      if (onDisk === undefined) {
        this.lose(session, 'removed', 'the holder record is gone');
        return false;
      }
      if (onDisk.token !== record.token) {
        this.lose(session, 'replaced', `the holder record now names ${describe(onDisk)}`);
        return false;
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.lose(session, 'removed', 'the lock directory is gone');
        return false;
      }
      if (err instanceof LockError) {
        this.lose(session, 'replaced', err.message);
        return false;
      }
      // Unproven is not confirmed; a lasting I/O problem runs the lease out and fires onLost.
      this.logger.warn({ event: 'lock.verify-failed', err }, 'could not check the data-directory lock');
      return false;
    }
    return this.session === session && this.isHeld();
  }

  onLost(listener: LockLostListener): void {
    this.listeners.push(listener);
  }

  holder(): LockHolder | undefined {
    const session = this.session;
    return session !== undefined && !session.ended && session.record !== undefined ? holderOf(session.record) : undefined;
  }

  async inspect(): Promise<LockHolder | undefined> {
    try {
      await this.fs.stat(this.paths.lockDir);
      const record = await readHolderRecord(this.fs, this.paths.holderFile);
      return record === undefined ? undefined : holderOf(record);
    } catch {
      return undefined;
    }
  }

  /** One try: break a dead local holder's lock if allowed, then mkdir. Undefined: held by another. */
  private async acquireOnce(signal: AbortSignal | undefined): Promise<Acquisition | undefined> {
    let via: AcquiredVia = 'free';
    if (this.settings.pidCheck && (await this.breakIfHolderGone())) via = 'process-gone';

    const session: Session = { token: randomUUID(), renewedAt: 0, removedStale: false, ended: false };
    try {
      session.release = await lockDirectory(`${this.paths.lockDir}#${session.token}`, {
        // proper-lockfile keeps one registry entry per `file` per process; a key of its own per
        // acquisition lets two locks in one process contend like two processes (tests, an embedded
        // pair), and realpath: false lets that key name no real file.
        realpath: false,
        lockfilePath: this.paths.lockDir,
        stale: this.settings.leaseMs,
        update: this.settings.renewIntervalMs,
        retries: 0,
        fs: this.properLockfileFs(session),
        onCompromised: (err) => this.compromised(session, err),
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ELOCKED') return undefined;
      if (FATAL_FS_CODES.has((err as NodeJS.ErrnoException).code ?? '')) throw this.fatal(err, `cannot lock ${this.paths.lockDir}`);
      this.pollError(err);
      return undefined;
    }
    if (session.removedStale && via === 'free') via = 'stale';

    let previous: HolderRecord | undefined;
    try {
      const stat = await this.fs.stat(this.paths.lockDir);
      session.lockIno = stat.ino;
      session.lockBirthtimeMs = stat.birthtimeMs;
      // Only the holder writes the record, so reading then writing it cannot race another holder.
      previous = await readHolderRecord(this.fs, this.paths.holderFile);
      const record: HolderRecord = {
        epoch: (previous?.epoch ?? 0) + 1,
        host: this.identity.host,
        hostKey: this.identity.hostKey,
        pid: this.identity.pid,
        token: session.token,
        acquiredAt: Math.floor(this.timers.now()),
        lockIno: stat.ino,
        lockBirthtimeMs: stat.birthtimeMs,
      };
      await writeHolderRecord(this.fs, this.paths.holderFile, this.paths.dir, record);
      session.record = record;
    } catch (err) {
      this.end(session);
      await session.release().catch(() => undefined);
      if (err instanceof LockError) throw err;
      if (FATAL_FS_CODES.has((err as NodeJS.ErrnoException).code ?? '')) throw this.fatal(err, `cannot write ${this.paths.holderFile}`);
      this.pollError(err);
      return undefined;
    }
    if (session.ended || signal?.aborted) {
      // Lost while writing the record, or nobody wants the lock any more.
      this.end(session);
      await session.release().catch(() => undefined);
      signal?.throwIfAborted();
      return undefined;
    }

    this.session = session;
    this.lastPollError = undefined;
    this.scheduleWatchdog(session);
    const acquisition: Acquisition = { ...holderOf(session.record), via };
    if (previous !== undefined) acquisition.previous = holderOf(previous);
    this.logger.info(
      { event: 'lock.acquired', epoch: acquisition.epoch, via, previous: acquisition.previous, dir: this.paths.dir },
      `acquired the data-directory lock (epoch ${acquisition.epoch}, ${via})`,
    );
    return acquisition;
  }

  /**
   * The pid check. The record must describe the very lock directory that exists now, or a record
   * left by a dead holder could condemn a lock that a live process has just made and not yet
   * recorded. Between the last stat and the rmdir another contender could still replace the lock;
   * no system call closes that window, and the loser then finds out through verify() and its
   * renewal (see the ADR).
   */
  private async breakIfHolderGone(): Promise<boolean> {
    let record: HolderRecord | undefined;
    try {
      const before = await this.fs.stat(this.paths.lockDir);
      record = await readHolderRecord(this.fs, this.paths.holderFile);
      if (record === undefined || record.hostKey !== this.identity.hostKey || !isRecordedLockDir(record, before)) return false;
      if (record.pid === this.identity.pid || this.processAlive(record.pid)) return false;
      const now = await this.fs.stat(this.paths.lockDir);
      if (!isRecordedLockDir(record, now) || now.mtimeMs !== before.mtimeMs) return false;
      await this.fs.rmdir(this.paths.lockDir);
    } catch {
      // No lock, a corrupt record or a race lost: the ordinary attempt sorts it out.
      return false;
    }
    this.logger.warn(
      { event: 'lock.broken', holder: holderOf(record), dir: this.paths.dir },
      `broke the lock of ${describe(record)}: its process is gone`,
    );
    return true;
  }

  /** proper-lockfile's file system, routed through ours and watched per acquisition. */
  private properLockfileFs(session: Session): Record<string, unknown> {
    const fs = this.fs;
    const lockDir = this.paths.lockDir;
    type Callback = (err: Error | null, value?: unknown) => void;
    const settle = (promise: Promise<unknown>, callback: Callback): void => {
      promise.then(
        (value) => callback(null, value),
        (err: Error) => callback(err),
      );
    };
    const isOurs = (stat: { ino: number; birthtimeMs: number }): boolean =>
      stat.ino === session.lockIno && stat.birthtimeMs === session.lockBirthtimeMs;
    return {
      mkdir: (path: string, callback: Callback) => settle(fs.mkdir(path), callback),
      // Rounded as node's own Stats.mtime is: utimes stores a Date as float seconds, so a time set
      // to ...323 ms can read back as ...322.999, and proper-lockfile compares mtimes exactly.
      stat: (path: string, callback: Callback) =>
        settle(fs.stat(path).then((s) => ({ mtime: new Date(Math.round(s.mtimeMs)) })), callback),
      utimes: (path: string, atime: Date, mtime: Date, callback: Callback) =>
        settle(
          fs.utimes(path, atime, mtime).then(() => {
            if (path === lockDir) session.renewedAt = Math.max(session.renewedAt, mtime.getTime());
          }),
          callback,
        ),
      rmdir: (path: string, callback: Callback) => {
        if (session.lockIno === undefined) {
          // Before we hold it, proper-lockfile removes only a lock it judged stale.
          session.removedStale = true;
          settle(fs.rmdir(path), callback);
          return;
        }
        // Releasing: remove the lock directory only while it is still the one we made.
        settle(
          fs.stat(path).then(
            (s) => (isOurs(s) ? fs.rmdir(path) : undefined),
            (err: NodeJS.ErrnoException) => {
              if (err.code !== 'ENOENT') throw err;
            },
          ),
          callback,
        );
      },
      // proper-lockfile's exit hook: release what we hold as the process ends (never after SIGKILL).
      rmdirSync: (path: string) => {
        if (session.ended || session.lockIno === undefined) return;
        const s = statSync(path);
        if (isOurs(s)) rmdirSync(path);
      },
    };
  }

  private compromised(session: Session, err: Error): void {
    const errno = (err as NodeJS.ErrnoException).errno;
    let reason: LockLossReason = 'renew-failed';
    if (errno === -2 || err.message.startsWith('ENOENT')) reason = 'removed';
    else if (err.message.includes('stale threshold')) reason = 'replaced';
    this.lose(session, reason, `renewing the lease failed: ${err.message}`);
  }

  /** Ends a held session as lost and tells the listeners, once. */
  private lose(session: Session, reason: LockLossReason, detail: string): void {
    if (session.ended) return;
    this.end(session);
    // Stop renewing. The release removes the lock directory only if it is still ours, so a lease
    // we gave up on frees the lock for the standby at once, and a newer holder's lock is untouched.
    void session.release?.().catch(() => undefined);
    if (this.session !== session || session.record === undefined) return;
    const loss: LockLoss = { reason, detail, epoch: session.record.epoch };
    this.logger.warn({ event: 'lock.lost', ...loss, dir: this.paths.dir }, `lost the data-directory lock: ${detail}`);
    // Listeners run on a fresh microtask: a loss found inside isHeld() must not re-enter the caller.
    queueMicrotask(() => {
      for (const listener of this.listeners) listener(loss);
    });
  }

  private end(session: Session): void {
    session.ended = true;
    if (session.watchdog !== undefined) this.timers.clearTimeout(session.watchdog);
    session.watchdog = undefined;
  }

  /** Checks the lease every renewal interval, so a loss is noticed even while nothing is written. */
  private scheduleWatchdog(session: Session): void {
    session.watchdog = this.timers.setTimeout(() => {
      session.watchdog = undefined;
      if (session.ended) return;
      void this.verify().then(() => {
        if (!session.ended) this.scheduleWatchdog(session);
      });
    }, this.settings.renewIntervalMs);
  }

  private fatal(err: unknown, what: string): LockError {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
    return new LockError(LockErrorCodes.LOCK_FAILED, `${what}: ${code} (${(err as Error).message})`, { cause: err });
  }

  /** Logs a transient failure while polling, once per distinct error rather than every poll. */
  private pollError(err: unknown): void {
    const key = `${(err as NodeJS.ErrnoException).code}:${(err as Error).message}`;
    if (key === this.lastPollError) return;
    this.lastPollError = key;
    this.logger.warn({ event: 'lock.poll-failed', err }, 'trying for the data-directory lock failed; will retry');
  }
}

function describe(record: HolderRecord): string {
  return `${record.host} pid ${record.pid} (epoch ${record.epoch})`;
}
