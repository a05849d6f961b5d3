// Group commit: every append made while the previous batch is being written, or within one turn
// of the event loop, goes out in one write and one fdatasync that settles every waiter at once.
// An I/O error rejects the whole batch and every later append, and the journal is failed.
import { StoreError, StoreErrorCodes } from '../errors.js';
import type { StorageMode } from '../store/types.js';
import type { Segment } from './segment.js';
import type { TimerHandle, Timers } from './timers.js';

/** Consecutive frames bound for one segment. */
export interface BatchRun {
  segment: Segment;
  frames: Buffer[];
  bytes: number;
}

/** Where batches go: the journal writes runs to their segments and fdatasyncs the head. */
export interface BatchSink {
  write(runs: BatchRun[]): Promise<void>;
  /** fdatasync of what was written since the last sync; returns how many fdatasync calls it made. */
  sync(): Promise<number>;
}

export interface GroupCommitOptions {
  mode: StorageMode;
  syncIntervalMs: number;
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

  add(segment: Segment, frame: Buffer): void {
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
  private syncDue = false;
  private unsynced = false;
  private lastSyncAt: number;
  private timer: TimerHandle | undefined;
  private failure: StoreError | undefined;
  private failed: Promise<void> | undefined;
  private readonly drainNow = (): void => void this.drain();

  constructor(
    private readonly sink: BatchSink,
    private readonly options: GroupCommitOptions,
  ) {
    this.lastSyncAt = options.timers.now();
  }

  get error(): StoreError | undefined {
    return this.failure;
  }

  /** Queues a frame for `segment`; settles with the batch that carries it. */
  append(segment: Segment, frame: Buffer): Promise<void> {
    if (this.failed !== undefined) return this.failed;
    const batch = (this.open ??= new Batch());
    batch.add(segment, frame);
    this.schedule();
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

  /** Ensures a drain will run even with nothing appended (a beforeSeal hook has work). */
  schedule(): void {
    if (this.busy || this.scheduled || this.failure !== undefined) return;
    this.scheduled = true;
    setImmediate(this.drainNow);
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
          await this.sink.write(batch.runs);
          this.writes++;
          this.records += batch.records;
          this.unsynced = true;
          if (this.options.mode === 'durability') await this.syncNow();
          else this.armTimer();
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

  private async syncNow(): Promise<void> {
    this.unsynced = false;
    this.syncs += await this.sink.sync();
    this.lastSyncAt = this.options.timers.now();
    this.stop();
  }

  /** Throughput mode: one fdatasync at most every syncIntervalMs, covering every write before it. */
  private armTimer(): void {
    if (this.timer !== undefined) return;
    const { timers, syncIntervalMs } = this.options;
    const delay = Math.max(0, this.lastSyncAt + syncIntervalMs - timers.now());
    this.timer = timers.setTimeout(() => {
      this.timer = undefined;
      if (this.unsynced && this.failure === undefined) {
        this.syncDue = true;
        this.schedule();
      }
    }, delay);
  }
}
