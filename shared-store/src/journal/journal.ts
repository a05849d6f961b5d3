// The journal: an append-only sequence of segment files holding framed records. States:
// closed -> opening -> open -> (failed) -> closed. Appends are placed in a segment at once and
// made durable by the group commit; recovery replays every record to a visitor on open(). Opened
// for a new epoch, it seals the last segment and starts a new one with an epoch record.
import { hostname } from 'node:os';
import { StoreError, StoreErrorCodes } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import type { StorageMode } from '../store/types.js';
import {
  DEFAULT_LAZY_SYNC_MS,
  DEFAULT_SEGMENT_SIZE,
  DEFAULT_SYNC_INTERVAL_MS,
  MIN_SEGMENT_SIZE,
  RECORD_HEADER_SIZE,
  SEGMENT_HEADER_SIZE,
} from './constants.js';
import { nodeFileIO, type FileIO } from './file-io.js';
import { GroupCommit, type BatchRun } from './group-commit.js';
import { encodeRecord, type EpochRecord, type JournalRecord } from './records/index.js';
import { readSegmentRecords, recoverJournal, type RecordVisitor, type RecoveryReport, type RecoveryResume } from './recovery.js';
import type { Segment } from './segment.js';
import { SegmentRepository, type SegmentFile } from './segment-repository.js';
import { realTimers, type Timers } from './timers.js';

export type JournalState = 'opening' | 'open' | 'failed' | 'closed';

export interface JournalOptions {
  dir: string;
  mode: StorageMode;
  segmentSize?: number;
  syncIntervalMs?: number;
  /** Durability mode: the longest a `sync: false` append stays without an fdatasync; default 50 ms. */
  lazySyncMs?: number;
  repair?: boolean;
  fileIO?: FileIO;
  logger?: Logger;
  timers?: Timers;
  /** Called just before each batch is sealed, to add records that coalesce per batch. */
  beforeSeal?: () => void;
  /** See GroupCommitOptions.confirm: throw to refuse confirming a written batch (fencing). */
  confirm?: () => void;
  /**
   * The writer's epoch (the data-directory lock's, one per acquisition). When given, open() seals
   * the last segment at its last whole record and starts a new segment whose first record is the
   * epoch record carrying the seal; the sealed segment is never appended to again. An epoch not
   * above the highest one recorded is raised to one above it (logged), so epochs only grow.
   */
  epoch?: number;
}

export interface AppendOptions {
  /**
   * Durability mode only: false settles the append once it is written instead of once it is
   * fdatasynced. It is durable after the journal's next fdatasync (any durable append's, or the
   * lazy timer's); until then it survives the process dying but not the machine.
   */
  sync?: boolean;
}

export interface JournalStats {
  state: JournalState;
  segments: number;
  bytes: number;
  appendedRecords: number;
  writes: number;
  syncs: number;
}

export class Journal {
  readonly segmentSize: number;
  private current: JournalState = 'closed';
  private readonly repo: SegmentRepository;
  private readonly logger: Logger;
  private commit: GroupCommit;
  /** Finished segments, oldest first, with their sizes; the head is kept apart. */
  private older: Segment[] = [];
  private head: Segment | undefined;
  /** The one segment with an open file: the head, or the old head until the new one is written. */
  private writer: Segment | undefined;
  private closing = false;
  private placedIn: number | undefined;
  private readonly preallocate: boolean;
  private currentEpoch: number | undefined;
  private started: { record: EpochRecord; segment: number } | undefined;

  constructor(private readonly options: JournalOptions) {
    this.segmentSize = options.segmentSize ?? DEFAULT_SEGMENT_SIZE;
    if (this.segmentSize < MIN_SEGMENT_SIZE) {
      throw new RangeError(`segmentSize must be at least ${MIN_SEGMENT_SIZE} bytes`);
    }
    const io = options.fileIO ?? nodeFileIO;
    this.repo = new SegmentRepository(options.dir, io);
    this.preallocate = io.preallocate === true;
    this.logger = options.logger ?? silentLogger();
    this.commit = this.newGroupCommit();
  }

  /** A fresh group commit per open(), so a journal that failed can be closed and opened again. */
  private newGroupCommit(): GroupCommit {
    const { options } = this;
    const commitOptions = {
      mode: options.mode,
      syncIntervalMs: options.syncIntervalMs ?? DEFAULT_SYNC_INTERVAL_MS,
      lazySyncMs: options.lazySyncMs ?? DEFAULT_LAZY_SYNC_MS,
      timers: options.timers ?? realTimers,
      onFailure: (error: StoreError) => {
        this.current = 'failed';
        this.logger.error({ event: 'journal.failed', err: error.cause ?? error }, error.message);
      },
    };
    return new GroupCommit(
      { write: (runs) => this.writeRuns(runs), sync: (onThisThread) => this.syncHead(onThisThread) },
      {
        ...commitOptions,
        ...(options.beforeSeal === undefined ? {} : { beforeSeal: options.beforeSeal }),
        ...(options.confirm === undefined ? {} : { confirm: options.confirm }),
      },
    );
  }

  get state(): JournalState {
    return this.current;
  }

  /** The epoch this journal writes in (opened with one), else the highest recorded; undefined if none. */
  get epoch(): number | undefined {
    return this.currentEpoch;
  }

  /** The epoch record the last open() wrote, and the segment it opened; undefined without an epoch. */
  get startedEpoch(): { record: EpochRecord; segment: number } | undefined {
    return this.started;
  }

  /** The largest payload one record may carry. */
  get maxPayload(): number {
    return this.segmentSize - SEGMENT_HEADER_SIZE - RECORD_HEADER_SIZE;
  }

  /**
   * First offset of the segment the latest append() or appendAll() was placed in, read right
   * after the call; undefined when that call was refused.
   */
  get lastPlaced(): number | undefined {
    return this.placedIn;
  }

  /**
   * First offsets of the finished segments, oldest first: the head is excluded, and so is a
   * segment still waiting for a write or an fdatasync (and everything after it).
   */
  finishedSegments(): number[] {
    const done: number[] = [];
    for (const s of this.older) {
      if (s.written !== s.placed || s.dirty) break;
      done.push(s.firstOffset);
    }
    return done;
  }

  /** Recovers (from `resume` on, when given: see RecoveryResume) and opens for writing. */
  async open(visit: RecordVisitor, resume?: RecoveryResume): Promise<RecoveryReport> {
    if (this.current !== 'closed' || this.closing) {
      throw new StoreError(StoreErrorCodes.JOURNAL_CLOSED, `the journal cannot open while ${this.current}`);
    }
    this.current = 'opening';
    this.commit = this.newGroupCommit();
    try {
      const report = await recoverJournal(
        this.repo,
        { repair: this.options.repair ?? false, maxPayload: this.maxPayload, logger: this.logger },
        visit,
        resume,
      );
      const files = report.segments;
      const last = files[files.length - 1];
      this.older = files.map((f) => this.repo.existing(f));
      this.currentEpoch = report.epoch;
      this.started = undefined;
      if (this.options.epoch !== undefined) {
        await this.startEpoch(this.options.epoch, report.epoch, last);
      } else if (last !== undefined && last.size < this.segmentSize && !report.problems.some((p) => p.segment === last.name && p.action === 'skipped')) {
        this.older.pop();
        this.head = await this.repo.openForAppend(last, last.size);
      } else {
        this.head = this.repo.place(last === undefined ? 0 : last.firstOffset + last.size);
        await this.repo.create(this.head);
      }
      this.writer = this.head;
      this.current = 'open';
      return report;
    } catch (err) {
      this.current = 'closed';
      await this.head?.close().catch(() => undefined);
      this.head = this.writer = undefined;
      throw err;
    }
  }

  /**
   * A new epoch: the last segment is cut to its last whole record (its preallocated zeros go, so a
   * reader sees where it ends) and sealed by the epoch record that opens the next segment, written
   * with that segment's header in one write. Naming the new segment by the sealed length keeps
   * segment names contiguous journal offsets, as replication expects.
   */
  private async startEpoch(requested: number, recorded: number | undefined, last: SegmentFile | undefined): Promise<void> {
    const epoch = recorded !== undefined && requested <= recorded ? recorded + 1 : requested;
    if (epoch !== requested) {
      this.logger.warn(
        { event: 'journal.epoch-advanced', requested, recorded, epoch },
        `the journal already records epoch ${recorded}; writing as epoch ${epoch} so that epochs keep growing`,
      );
    }
    const record: EpochRecord = { type: 'epoch', epoch, host: hostname(), pid: process.pid, timestamp: Date.now() };
    if (last !== undefined) {
      record.seal = { segment: last.firstOffset, length: last.size };
      await this.repo.cutTo(last.path, last.size);
    }
    this.head = this.repo.place(last === undefined ? 0 : last.firstOffset + last.size);
    await this.repo.create(this.head, encodeRecord(record));
    this.currentEpoch = epoch;
    this.started = { record, segment: this.head.firstOffset };
    this.logger.info(
      { event: 'journal.epoch-started', epoch, segment: this.head.firstOffset, sealed: last?.name, sealedLength: last?.size },
      `journal epoch ${epoch} started${last === undefined ? '' : `, sealing ${last.name} at ${last.size} bytes`}`,
    );
  }

  append(record: JournalRecord, options?: AppendOptions): Promise<void> {
    this.placedIn = undefined;
    const refused = this.refusal();
    return refused ?? this.appendFrame(record, options?.sync !== false);
  }

  private appendFrame(record: JournalRecord, sync = true): Promise<void> {
    let frame: Buffer;
    try {
      frame = encodeRecord(record);
    } catch (err) {
      return Promise.reject(err); // a value the format cannot hold (say a seq beyond 2^53): the caller's bug
    }
    const segment = this.place(frame.length);
    if (segment === undefined) return this.tooLarge(record, frame.length);
    this.placedIn = segment.firstOffset;
    return this.commit.append(segment, frame, sync);
  }

  /** Appends records contiguously in one segment and one batch: a transaction is never split. */
  appendAll(records: JournalRecord[]): Promise<void> {
    this.placedIn = undefined;
    const refused = this.refusal();
    if (refused !== undefined) return refused;
    let frames: Buffer[];
    try {
      frames = records.map(encodeRecord);
    } catch (err) {
      return Promise.reject(err);
    }
    let total = 0;
    for (const f of frames) total += f.length;
    const segment = this.place(total);
    if (segment === undefined) return this.tooLarge(records[0]!, total);
    this.placedIn = segment.firstOffset;
    let done: Promise<void> = Promise.resolve();
    for (const frame of frames) done = this.commit.append(segment, frame);
    return done;
  }

  /**
   * Fencing: this process lost the data directory to another. Every waiting and later write is
   * refused with TANDEM_ERR_FENCED and nothing more is confirmed; the files are left as they are.
   */
  fence(reason: string): void {
    if (this.current === 'closed') return;
    this.commit.fail(new StoreError(StoreErrorCodes.FENCED, `fenced: ${reason}; this broker no longer owns the journal`));
  }

  /** Asks for a batch even with nothing appended, so the beforeSeal hook gets to run. */
  requestFlush(): void {
    if (this.current === 'open') this.commit.schedule();
  }

  /** Everything appended so far written and fdatasynced. */
  flushAndSync(): Promise<void> {
    const refused = this.refusal();
    return refused ?? this.commit.flushAndSync();
  }

  /** Reads a finished segment's records back from disk. */
  readSegment(firstOffset: number, visit: (record: JournalRecord, offset: number) => void): Promise<void> {
    const segment = this.older.find((s) => s.firstOffset === firstOffset);
    if (segment === undefined) return Promise.reject(new Error(`no finished segment at ${firstOffset}`));
    return readSegmentRecords(this.repo, segment.path, visit, segment.placed);
  }

  /** Deletes the oldest finished segment. Callers make sure nothing in it is still needed. */
  async deleteOldest(firstOffset: number): Promise<void> {
    const oldest = this.older[0];
    if (oldest === undefined || oldest.firstOffset !== firstOffset) {
      throw new Error(`segment ${firstOffset} is not the oldest finished segment`);
    }
    await this.repo.delete(oldest.path);
    this.older.shift();
    this.logger.debug({ event: 'journal.segment-deleted', segment: firstOffset }, 'segment deleted');
  }

  /** Flushes, writes a clean-shutdown record, fdatasyncs and closes. A failed journal just closes. */
  async close(): Promise<void> {
    if (this.current === 'closed' || this.closing) return;
    this.closing = true;
    let error: unknown;
    if (this.current === 'open') {
      try {
        await this.appendFrame({ type: 'clean-shutdown', timestamp: Date.now() });
        await this.commit.flushAndSync();
        await this.writer?.finish();
      } catch (err) {
        error = err;
      }
    }
    this.commit.stop();
    await this.writer?.close().catch(() => undefined);
    this.head = this.writer = undefined;
    this.current = 'closed';
    this.closing = false;
    if (error !== undefined) throw error;
  }

  stats(): JournalStats {
    let bytes = this.head?.placed ?? 0;
    for (const s of this.older) bytes += s.placed;
    return {
      state: this.current,
      segments: this.older.length + (this.head === undefined ? 0 : 1),
      bytes,
      appendedRecords: this.commit.records,
      writes: this.commit.writes,
      syncs: this.commit.syncs,
    };
  }

  private refusal(): Promise<void> | undefined {
    if (this.current === 'failed') return this.commit.flushAndSync();
    if (this.current !== 'open' || this.closing) {
      const error = new StoreError(StoreErrorCodes.JOURNAL_CLOSED, `the journal is ${this.closing ? 'closing' : this.current}`);
      const refused = Promise.reject(error);
      refused.catch(() => undefined);
      return refused;
    }
    return undefined;
  }

  private tooLarge(record: JournalRecord, size: number): Promise<void> {
    return Promise.reject(
      new StoreError(
        StoreErrorCodes.RECORD_TOO_LARGE,
        `a ${record.type} record of ${size} bytes does not fit a segment of ${this.segmentSize} bytes`,
        { httpStatus: 413 },
      ),
    );
  }

  /** Chooses the segment for `size` bytes, rolling to a new head when the current one is full. */
  private place(size: number): Segment | undefined {
    if (size > this.segmentSize - SEGMENT_HEADER_SIZE) return undefined;
    let head = this.head!;
    if (head.placed + size > this.segmentSize) {
      this.older.push(head);
      head = this.head = this.repo.place(head.endOffset);
    }
    head.placed += size;
    return head;
  }

  /** Synchronous unless the batch rolls to a new segment, which needs a file created first. */
  private writeRuns(runs: BatchRun[]): Promise<void> | void {
    for (let i = 0; i < runs.length; i++) {
      const run = runs[i]!;
      if (run.segment !== this.writer) return this.rollAndWrite(runs, i);
      this.writeRun(run);
    }
  }

  private async rollAndWrite(runs: BatchRun[], from: number): Promise<void> {
    for (let i = from; i < runs.length; i++) {
      const run = runs[i]!;
      const segment = run.segment;
      if (segment !== this.writer) {
        // Rolling: the old segment is cut to its last record, made durable and closed before the
        // new one receives a byte, so a torn tail can only ever be in the last segment.
        const old = this.writer;
        if (old !== undefined) {
          await old.finish();
          await old.close();
        }
        this.writer = undefined;
        await this.repo.create(segment);
        this.writer = segment;
        this.logger.debug({ event: 'journal.segment-created', segment: segment.firstOffset }, 'segment created');
      }
      this.writeRun(run);
    }
  }

  private writeRun(run: BatchRun): void {
    const segment = run.segment;
    if (this.preallocate) {
      // Zeros always extend a whole record header past the data (so past segmentSize, until the
      // segment is finished and cut): recovery reads nine zero bytes as the end, and fewer as a
      // torn header.
      segment.preallocate(segment.written + run.bytes + RECORD_HEADER_SIZE, this.segmentSize + RECORD_HEADER_SIZE);
    }
    segment.append(run.frames.length === 1 ? run.frames[0]! : Buffer.concat(run.frames, run.bytes));
  }

  private syncHead(onThisThread: boolean): number | Promise<number> {
    const writer = this.writer;
    if (writer === undefined) return 0;
    const synced = onThisThread ? writer.datasyncNow() : undefined;
    if (synced !== undefined) return synced ? 1 : 0;
    return writer.datasync().then((done) => (done ? 1 : 0));
  }
}
