// Group commit: every append made while the previous batch is being written or synced, or in the
// same task as the first, goes out in one write and (when any of them needs it) one fdatasync that
// settles every waiter at once. Appends nobody waits on may wait for the end of the event loop's
// turn, to share the write of one that somebody does. An I/O error rejects the whole batch and
// every later append, and the journal is failed.
import { StoreError, StoreErrorCodes } from '../errors.js';
import type { StorageMode } from '../store/types.js';
import type { Segment } from './segment.js';
import type { TimerHandle, Timers } from './timers.js';

/**
 * The largest batch fdatasynced on the calling thread: the event loop stalls for as long as the
 * disk takes, which grows with the bytes to flush.
 */
const ON_THREAD_SYNC_MAX_BYTES = 64 * 1024;

// Drains are scheduled with a promise callback rather than queueMicrotask(), which wraps every call
// in an AsyncResource; a lone writer schedules one per append.
const RESOLVED = Promise.resolve();

/** Consecutive frames bound for one segment. */
export interface BatchRun {
  segment: Segment;
  frames: Buffer[];
  bytes: number;
}

/** Where batches go: the journal writes runs to their segments and fdatasyncs the head. */
export interface BatchSink {
  /** Writes on the calling thread; returns a promise only when it must wait (rolling to a new segment). */
  write(runs: BatchRun[]): Promise<void> | void;
  /**
   * fdatasync of what was written since the last sync; returns how many fdatasync calls it made.
   * `onThisThread` allows it to run on the calling thread and return the count directly.
   */
  sync(onThisThread: boolean): number | Promise<number>;
}

export interface GroupCommitOptions {
  mode: StorageMode;
  syncIntervalMs: number;
  /** Durability mode: how soon records appended with `sync: false` are fdatasynced at the latest. */
  lazySyncMs: number;
  timers: Timers;
  /** Called just before a batch is sealed, to add records that coalesce per batch. */
  beforeSeal?: () => void;
  /**
   * Called after a batch is written (and, in durability mode, synced) and before anyone hears of it;
   * throwing refuses the confirmation and fails the journal. The HA fencing check lives here, so a
   * broker that lost its lock while a write was under way never confirms it.
   */
  confirm?: () => void;
  onFailure: (error: StoreError) => void;
}

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
}

class Batch implements Waiter {
  readonly runs: BatchRun[] = [];
  records = 0;
  bytes = 0;
  /** Appends that wait for an fdatasync (durability mode); with none, the write settles the batch. */
  durable = 0;
  readonly promise: Promise<void>;
  resolve!: () => void;
  reject!: (error: Error) => void;

  constructor() {
    this.promise = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // Callers that never await (dispatch marks) must not turn a failure into an unhandled rejection.
    this.promise.catch(() => undefined);
  }

  add(segment: Segment, frame: Buffer, sync: boolean): void {
    if (sync) this.durable++;
    this.bytes += frame.length;
    const last = this.runs[this.runs.length - 1];
    if (last !== undefined && last.segment === segment) {
      last.frames.push(frame);
      last.bytes += frame.length;
    } else {
      this.runs.push({ segment, frames: [frame], bytes: frame.length });
    }
    this.records++;
  }
}

export class GroupCommit {
  writes = 0;
  syncs = 0;
  records = 0;
  private open: Batch | undefined;
  private inflight: Batch | undefined;
  private syncWaiters: Waiter[] = [];
  private syncing: Waiter[] = [];
  private busy = false;
  private scheduled = false;
  private scheduledLater = false;
  private syncDue = false;
  private unsynced = false;
  private lastSyncAt: number;
  private timer: TimerHandle | undefined;
  private failure: StoreError | undefined;
  private failed: Promise<void> | undefined;
  private readonly drainNow = (): void => void this.drain();
  private readonly drainLater = (): void => {
    this.scheduledLater = false;
    if (this.open !== undefined) this.schedule();
  };

  constructor(
    private readonly sink: BatchSink,
    private readonly options: GroupCommitOptions,
  ) {
    this.lastSyncAt = options.timers.now();
  }

  get error(): StoreError | undefined {
    return this.failure;
  }

  /**
   * Queues a frame for `segment`; settles with the batch that carries it. With `sync` false the
   * frame alone does not make its batch wait for an fdatasync in durability mode, and it is written
   * by the end of the event loop's turn (sooner if an append somebody waits on joins its batch);
   * the next fdatasync makes it durable, within lazySyncMs.
   */
  append(segment: Segment, frame: Buffer, sync = true): Promise<void> {
    if (this.failed !== undefined) return this.failed;
    const batch = (this.open ??= new Batch());
    batch.add(segment, frame, sync);
    if (sync) this.schedule();
    else this.scheduleLater();
    return batch.promise;
  }

  /** Settles once everything appended so far is written and fdatasynced, in either mode. */
  flushAndSync(): Promise<void> {
    if (this.failed !== undefined) return this.failed;
    return new Promise<void>((resolve, reject) => {
      this.syncWaiters.push({ resolve, reject });
      this.schedule();
    });
  }

  /**
   * Ensures a drain will run even with nothing appended (a beforeSeal hook has work). It runs as a
   * microtask: everything the current task appends still joins the batch, and a lone send does
   * not wait for the rest of the event loop's turn before its write.
   */
  schedule(): void {
    if (this.busy || this.scheduled || this.failure !== undefined) return;
    this.scheduled = true;
    void RESOLVED.then(this.drainNow);
  }

  /**
   * A drain by the end of this turn of the event loop. An ACK nobody waits on often arrives just
   * before the next send: waiting lets both go out in the send's write.
   */
  private scheduleLater(): void {
    if (this.scheduledLater || this.failure !== undefined) return;
    this.scheduledLater = true;
    setImmediate(this.drainLater);
  }

  /** Stops the sync timer; the owner has already flushed what it wanted. */
  stop(): void {
    if (this.timer !== undefined) this.options.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Fails the journal from outside (an error the sink met between batches). */
  fail(cause: unknown): StoreError {
    if (this.failure !== undefined) return this.failure;
    const error =
      cause instanceof StoreError && (cause.code === StoreErrorCodes.JOURNAL_FAILED || cause.code === StoreErrorCodes.FENCED)
        ? cause
        : new StoreError(
            StoreErrorCodes.JOURNAL_FAILED,
            `journal I/O failed, refusing further writes until restart: ${(cause as Error)?.message ?? String(cause)}`,
            { cause },
          );
    this.failure = error;
    this.failed = Promise.reject(error);
    this.failed.catch(() => undefined);
    this.stop();
    const waiters: Waiter[] = [...this.syncing, ...this.syncWaiters];
    if (this.inflight !== undefined) waiters.push(this.inflight);
    if (this.open !== undefined) waiters.push(this.open);
    this.inflight = this.open = undefined;
    this.syncing = [];
    this.syncWaiters = [];
    for (const waiter of waiters) waiter.reject(error);
    this.options.onFailure(error);
    return error;
  }

  private async drain(): Promise<void> {
    this.scheduled = false;
    if (this.busy || this.failure !== undefined) return;
    this.busy = true;
    try {
      for (;;) {
        this.options.beforeSeal?.();
        const batch = this.open;
        if (batch !== undefined) {
          this.open = undefined;
          this.inflight = batch;
          const writing = this.sink.write(batch.runs);
          if (writing !== undefined) await writing;
          this.writes++;
          this.records += batch.records;
          this.unsynced = true;
          if (this.options.mode === 'durability' && batch.durable > 0) {
            // One durable append is a lone writer waiting, with nothing for the event loop to do
            // meanwhile: a small batch is fdatasynced right here. With more, the loop gathers the
            // next batch while the thread pool syncs this one.
            const syncing = this.syncNow(batch.durable === 1 && batch.bytes <= ON_THREAD_SYNC_MAX_BYTES);
            if (syncing !== undefined) await syncing;
          } else {
            this.armTimer();
          }
          this.options.confirm?.();
          this.inflight = undefined;
          batch.resolve();
          continue;
        }
        if (this.syncWaiters.length > 0 || this.syncDue) {
          this.syncing = this.syncWaiters;
          this.syncWaiters = [];
          this.syncDue = false;
          await this.syncNow();
          this.options.confirm?.();
          const done = this.syncing;
          this.syncing = [];
          for (const waiter of done) waiter.resolve();
          continue;
        }
        break;
      }
    } catch (err) {
      this.fail(err);
    } finally {
      this.busy = false;
    }
  }

  /** Settles at once (undefined) when the sink synced on this thread. */
  private syncNow(onThisThread = false): Promise<void> | undefined {
    this.unsynced = false;
    const done = this.sink.sync(onThisThread);
    if (typeof done === 'number') {
      this.synced(done);
      return undefined;
    }
    return done.then((count) => this.synced(count));
  }

  private synced(count: number): void {
    this.syncs += count;
    this.lastSyncAt = this.options.timers.now();
    this.stop();
  }

  /**
   * Writes not yet synced get an fdatasync at most every syncIntervalMs in throughput mode, and
   * within lazySyncMs in durability mode (where only `sync: false` appends are left unsynced).
   */
  private armTimer(): void {
    if (this.timer !== undefined) return;
    const { timers, mode } = this.options;
    const interval = mode === 'durability' ? this.options.lazySyncMs : this.options.syncIntervalMs;
    const delay = Math.max(0, this.lastSyncAt + interval - timers.now());
    this.timer = timers.setTimeout(() => {
      this.timer = undefined;
      if (this.unsynced && this.failure === undefined) {
        this.syncDue = true;
        this.schedule();
      }
    }, delay);
  }
}
