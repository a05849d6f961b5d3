// Follows a journal directory from a position: the open segment's growth, new segments, and
// segments the primary's reclaimer deleted. It hands out whole records only (a half-written record
// waits for its end) by polling the files, which costs a stat per poll and needs no watcher.
import { join } from 'node:path';
import {
  nodeFileIO,
  realTimers,
  segmentFileName,
  silentLogger,
  type FileHandleIO,
  type FileIO,
  type Logger,
  type Timers,
} from '@tandem-mq/shared-store';
import { ReplicationError } from './errors.js';
import { SEGMENT_HEADER_SIZE, segmentHeaderProblem, wholeRecords } from './journal-bytes.js';
import { dataEnd, listSegments, readFrom, readJournalEnd } from './journal-dir.js';
import { formatPosition, journalOffset, type Position } from './position.js';

/** Bytes to ship: whole records (after the segment header when `position.offset` is 0). */
export interface TailBatch {
  kind: 'batch';
  position: Position;
  bytes: Buffer;
  records: number;
  /** When the tailer first saw bytes beyond its position that these belong to. */
  observedAt: number;
  /** The position right after these bytes. */
  end: Position;
}

/** The primary holds no segment starting before `below` any more. */
export interface TailDeletion {
  kind: 'segment-deleted';
  below: number;
  /** The tailer's position when it noticed, before any jump the deletion caused. */
  from: Position;
  /** The position after it: `from`, or (below, 0) when the segment being read was deleted. */
  end: Position;
}

export type TailEvent = TailBatch | TailDeletion;

export interface TailerOptions {
  /** The primary's data directory. */
  dir: string;
  /** Where to start: the receiver's durable position. */
  from: Position;
  io?: FileIO;
  timers?: Timers;
  logger?: Logger;
  /** Wait between polls when nothing is new. Default 10 ms. */
  pollIntervalMs?: number;
  /** Largest batch, unless one record alone is larger. Default 1 MiB. */
  maxBatchBytes?: number;
  /** List the directory at least this often while data flows, to see deletions. Default 500 ms. */
  listIntervalMs?: number;
  /**
   * A complete record with a bad CRC may be a write still landing; after this long it is reported
   * as corruption (and shipping keeps waiting). Default 2000 ms.
   */
  corruptAfterMs?: number;
  /** Bytes past `from` have been waiting since this time (carried over from an earlier link). */
  waitingSince?: number;
}

type Step = TailEvent | 'again' | undefined;

/** The first read of a poll; it widens sixteenfold at a time while whole records keep coming. */
const FIRST_READ_BYTES = 4096;

export class JournalTailer {
  private seg: number;
  private off: number;
  private handle: FileHandleIO | undefined;
  private readonly io: FileIO;
  private readonly timers: Timers;
  private readonly logger: Logger;
  private readonly pollMs: number;
  private readonly maxBatch: number;
  private readonly listMs: number;
  private readonly corruptMs: number;
  /** Segment first offsets at the last listing, oldest first. */
  private segments: number[] = [];
  private listedAt = -Infinity;
  /** The oldest segment already reported; deletions are reported when it moves. */
  private deletedBelow = 0;
  /**
   * A deletion seen but not reported yet: it goes out once everything the primary had written when
   * it was seen is shipped, since that includes the records the reclaimer carried forward out of
   * the deleted segments (a replica must never hold the deletion without them).
   */
  private pendingDeletion: { below: number; after: number } | undefined;
  private headOffset = 0;
  private polledAt = -Infinity;
  private unreadSince: number | undefined;
  private suspect: { at: number; since: number; reason: string } | undefined;
  private corruption: ReplicationError | undefined;
  private closed = false;
  /** Ends the current sleep early (on close). */
  private wake: (() => void) | undefined;

  constructor(private readonly options: TailerOptions) {
    this.seg = options.from.segment;
    this.off = options.from.offset;
    this.io = options.io ?? nodeFileIO;
    this.timers = options.timers ?? realTimers;
    this.logger = options.logger ?? silentLogger();
    this.pollMs = options.pollIntervalMs ?? 10;
    this.maxBatch = options.maxBatchBytes ?? 1024 * 1024;
    this.listMs = options.listIntervalMs ?? 500;
    this.corruptMs = options.corruptAfterMs ?? 2000;
    this.unreadSince = options.waitingSince;
  }

  /** Where the next batch starts. */
  get position(): Position {
    return { segment: this.seg, offset: this.off };
  }

  /** Journal offset of the end of the primary's journal, as last seen (whole records or not). */
  get head(): number {
    return Math.max(this.headOffset, journalOffset(this.position));
  }

  /** Since when bytes beyond the position have been waiting to be read, if any are. */
  get waitingSince(): number | undefined {
    return this.head > journalOffset(this.position) ? this.unreadSince : undefined;
  }

  /** The primary's corruption that stalls shipping, while it lasts. */
  get problem(): ReplicationError | undefined {
    return this.corruption;
  }

  /** The next event; waits (polling) until there is one. Rejects once close() is called. */
  async next(): Promise<TailEvent> {
    for (;;) {
      if (this.closed) throw new Error('the tailer is closed');
      const step = await this.step();
      if (step === 'again') continue;
      if (step !== undefined) return step;
      await this.sleep(this.pollMs);
    }
  }

  /**
   * Re-reads the primary's end, for lag reports while nobody asks for events (the sender's window
   * is full). A tailer that polled just now knows it already.
   */
  async refreshHead(): Promise<void> {
    if (this.closed || this.timers.now() - this.polledAt < Math.max(50, 5 * this.pollMs)) return;
    const end = await readJournalEnd(this.options.dir, this.io);
    if (end !== undefined) this.noteHead(end, true);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close().catch(() => undefined);
  }

  private async step(): Promise<Step> {
    const now = this.timers.now();
    this.polledAt = now;
    const pending = this.pendingDeletion;
    if (pending !== undefined && journalOffset(this.position) >= pending.after) return this.reportDeletion(pending.below);
    if (now - this.listedAt >= this.listMs || this.handle === undefined) {
      const listed = await this.relist();
      if (listed !== 'ok') return listed;
    }
    const read = await this.readCurrent();
    if (read !== undefined) return read;
    // Nothing new here: is this segment finished (a later one exists)? List first, size second:
    // the journal closes a segment for good before it creates the next.
    const listed = await this.relist();
    if (listed !== 'ok') return listed;
    const next = this.segments.find((s) => s > this.seg);
    if (next === undefined) return undefined;
    if (next < this.seg + this.off) {
      // The next segment starts inside this one: a new epoch sealed it there (docs/adr/0002), and
      // the bytes past the seal, written by a broker that had lost the journal, count for nothing
      // on either side (recovery ignores them; the replica holds the same epoch record).
      this.logger.warn(
        { event: 'replication.sealed-bytes-skipped', segment: this.seg, sealedAt: next - this.seg, shippedTo: this.off },
        'moved past bytes a fenced broker wrote after its segment was sealed',
      );
      await this.moveTo(next);
      return 'again';
    }
    const size = await this.handle?.size();
    if (size === undefined) return undefined;
    if (size > this.off && this.seg + size <= next) {
      const again = await this.readCurrent();
      if (again !== undefined) return again;
      this.suspectAt(this.off, 'the bytes at the end of a finished segment are not a whole record');
      return undefined;
    }
    if (next !== this.seg + this.off) {
      this.suspectAt(this.off, `the next segment starts at ${next}, not at ${this.seg + this.off} where this one ends`);
      return undefined;
    }
    await this.moveTo(next);
    return 'again';
  }

  /** Lists the directory; reports a deletion, or waits when there is nothing to read yet. */
  private async relist(): Promise<'ok' | TailDeletion | undefined> {
    this.segments = await this.list();
    this.listedAt = this.timers.now();
    const oldest = this.segments[0];
    if (oldest === undefined) return undefined;
    const last = this.segments[this.segments.length - 1]!;
    const deleting = oldest > this.deletedBelow && oldest > (this.pendingDeletion?.below ?? 0);
    // The segment we stand in (or everything up to our position) is gone on the primary. The
    // reclaimer deletes only segments nothing live is left in, so the rest of it is not needed.
    if (deleting && this.seg < oldest) return this.reportDeletion(oldest);
    let end: number | undefined;
    if (last !== this.seg || deleting) {
      const size = await dataEnd(this.io, join(this.options.dir, segmentFileName(last)));
      if (size !== undefined) end = last + size;
      if (end !== undefined && last !== this.seg) this.noteHead(end, true);
      // The end of the journal now: the carried-forward records were durable before the deletion.
      if (deleting) this.pendingDeletion = { below: oldest, after: end ?? last };
    }
    if (!this.segments.includes(this.seg)) {
      // Standing exactly where the primary's journal ends, before its next segment exists, is
      // waiting; any other position the primary has no segment for is one it never had.
      if (this.off === 0 && this.seg === end) return undefined;
      throw new ReplicationError(
        'TANDEM_ERR_REPLICATION_DIVERGED',
        `the replica's position ${formatPosition(this.position)} is not a position in the primary's journal (segments ${oldest} to ${last}, ending at ${end ?? 'unknown'})`,
      );
    }
    if (this.handle === undefined) {
      try {
        this.handle = await this.openSegment(this.seg);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // deleted meanwhile: the next listing says so
        throw err;
      }
    }
    return this.handle === undefined ? undefined : 'ok';
  }

  /** The next whole records of the current segment, or undefined when there are none yet. */
  private async readCurrent(): Promise<TailBatch | undefined> {
    const handle = this.handle;
    if (handle === undefined) return undefined;
    const size = await handle.size();
    const isHead = this.seg === this.segments[this.segments.length - 1];
    if (size < this.off) {
      throw new ReplicationError(
        'TANDEM_ERR_REPLICATION_DIVERGED',
        `the replica holds ${this.off} bytes of segment ${this.seg} but the primary's file has ${size}`,
      );
    }
    if (size === this.off) return undefined;
    // Once a later segment exists, this one ends where that one begins: bytes past that point were
    // written after a new epoch sealed it, and are never shipped.
    const later = this.segments.find((s) => s > this.seg);
    const end = later === undefined ? size : Math.min(size, later - this.seg);
    if (end <= this.off) return undefined;
    if (size < SEGMENT_HEADER_SIZE) {
      await this.reopenLater(); // a header being written, or a file recovery will remove and recreate
      return undefined;
    }
    const start = this.off === 0 ? SEGMENT_HEADER_SIZE : 0;
    const limit = Math.min(end - this.off, Math.max(this.maxBatch, start + 1));
    // A preallocated head does not grow in size as records land in its zeros, so every poll has to
    // look; a small first read keeps an idle poll cheap, and a busy one widens it.
    let want = Math.min(limit, start + FIRST_READ_BYTES);
    for (;;) {
      const bytes = await readFrom(handle, this.off, want);
      if (start > 0) {
        const problem = segmentHeaderProblem(bytes.subarray(0, SEGMENT_HEADER_SIZE), this.seg);
        if (problem !== undefined) {
          this.suspectAt(0, problem);
          await this.reopenLater();
          return undefined;
        }
      }
      const run = wholeRecords(bytes, start);
      if ((run.stop === 'end' || run.stop === 'partial') && bytes.length === want && want < limit) {
        want = Math.min(limit, want * 16);
        continue;
      }
      if (run.records === 0 && run.stop === 'partial' && start + run.needed! > want && start + run.needed! <= end - this.off) {
        want = start + run.needed!; // one record larger than a batch: read all of it
        continue;
      }
      if (run.records === 0 && run.stop === 'bad') this.suspectAt(this.off + start, run.reason!);
      const length = start + run.length;
      // Zeros right after the last record mark the end exactly; otherwise the data goes at least as
      // far as what was read (the file's size may count preallocated zeros, so it is no guide).
      if (isHead) this.noteHead(this.seg + this.off + (run.stop === 'zeros' ? length : bytes.length), run.stop === 'zeros');
      if (length === 0) return undefined;
      // Cut short by the batch limit, or with finished segments after this one, the rest was already
      // there when these bytes were first seen; otherwise what remains is a record still being
      // written, seen from now on (keeping the older time would make the lag grow under any load).
      const backlog = later !== undefined || ((run.stop === 'end' || run.stop === 'partial') && bytes.length === limit && limit < end - this.off);
      return this.emit(bytes.subarray(0, length), run.records, backlog);
    }
  }

  private async reportDeletion(below: number): Promise<TailDeletion> {
    this.deletedBelow = below;
    if (this.pendingDeletion !== undefined && this.pendingDeletion.below <= below) this.pendingDeletion = undefined;
    const from = this.position;
    if (this.seg < below) await this.moveTo(below);
    return { kind: 'segment-deleted', below, from, end: this.position };
  }

  private emit(bytes: Buffer, records: number, backlog: boolean): TailBatch {
    const position = this.position;
    this.off += bytes.length;
    const now = this.timers.now();
    const observedAt = this.unreadSince ?? now;
    const unread = this.head > journalOffset(this.position);
    this.unreadSince = unread ? (backlog ? observedAt : now) : undefined;
    if (this.corruption !== undefined) {
      this.logger.info({ event: 'replication.source-readable', position: formatPosition(position) }, 'the primary journal reads cleanly again');
    }
    this.suspect = undefined;
    this.corruption = undefined;
    return { kind: 'batch', position, bytes, records, observedAt, end: this.position };
  }

  /**
   * A new view of where the primary's data ends. An exact one (zeros found right after the last
   * record) replaces the estimate; an estimate from a file size (which may count preallocated
   * zeros) only raises it.
   */
  private noteHead(offset: number, exact = false): void {
    if (exact || offset > this.headOffset) this.headOffset = offset;
    if (this.unreadSince === undefined && this.head > journalOffset(this.position)) this.unreadSince = this.timers.now();
  }

  /** A record that does not check out at `offset`: a write in flight, or corruption if it stays. */
  private suspectAt(offset: number, reason: string): void {
    const now = this.timers.now();
    const at = this.seg + offset;
    if (this.suspect === undefined || this.suspect.at !== at) this.suspect = { at, since: now, reason };
    if (this.corruption === undefined && now - this.suspect.since >= this.corruptMs) {
      this.corruption = new ReplicationError(
        'TANDEM_ERR_REPLICATION_SOURCE_CORRUPT',
        `segment ${segmentFileName(this.seg)} offset ${offset}: ${reason}; shipping waits here`,
      );
      this.logger.error({ event: 'replication.source-corrupt', segment: this.seg, offset, reason }, this.corruption.message);
    }
  }

  /** Opens a segment to read; one opened as the tailer closes is closed again at once. */
  private async openSegment(segment: number): Promise<FileHandleIO | undefined> {
    const handle = await this.io.open(join(this.options.dir, segmentFileName(segment)), 'read');
    if (!this.closed) return handle;
    await handle.close().catch(() => undefined);
    return undefined;
  }

  /** Drops the open file so the next listing opens the name again, in case it now names a new file. */
  private async reopenLater(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close().catch(() => undefined);
  }

  private async moveTo(segment: number): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close().catch(() => undefined);
    this.seg = segment;
    this.off = 0;
    this.suspect = undefined;
    if (this.segments.includes(segment)) {
      this.handle = await this.openSegment(segment).catch(() => undefined);
    }
  }

  private list(): Promise<number[]> {
    return listSegments(this.options.dir, this.io);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const handle = this.timers.setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        this.wake = undefined;
        this.timers.clearTimeout(handle);
        resolve();
      };
    });
  }
}
