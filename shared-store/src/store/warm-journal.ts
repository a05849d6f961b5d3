// A journal's state kept current while its bytes arrive from elsewhere (a replica region receiving
// the primary's journal): the replay that recovery would do, fed as the bytes become durable, so
// that opening the store on that directory later (a promotion) reads only what came after. Anything
// it cannot follow exactly (a jump, a seal that cuts what it replayed, a reclaimed segment whose
// records were not carried forward) makes it step aside, and the store then recovers in full.
import { silentLogger, type Logger } from '../log.js';
import { RECORD_HEADER_SIZE, SEGMENT_HEADER_SIZE } from '../journal/constants.js';
import { nodeFileIO, type FileIO } from '../journal/file-io.js';
import { decodeRecord, type JournalRecord } from '../journal/records/index.js';
import { recoverJournal, type RecoveryResume } from '../journal/recovery.js';
import { SegmentRepository } from '../journal/segment-repository.js';
import { JournalReplay } from './journal-replay.js';

/** A journal position: a segment's first offset and a byte offset in it (0: before its header). */
export interface WarmPosition {
  segment: number;
  offset: number;
}

export interface WarmJournalOptions {
  /** The journal directory (the replica's data directory). */
  dir: string;
  /** Where its durable bytes end: recovery of the files must reach exactly here. */
  position: WarmPosition;
  io?: FileIO;
  logger?: Logger;
}

/** What a store opens on: the replayed state and where recovery goes on from. */
export interface WarmStart {
  replay: JournalReplay;
  resume: RecoveryResume;
}

export class WarmJournal {
  private replay: JournalReplay | undefined;
  private at: WarmPosition;
  private epoch: number | undefined;
  private lastType: JournalRecord['type'] | undefined;
  private readonly logger: Logger;
  /** Records replayed so far. */
  records = 0;
  /** Why it stepped aside, once it has. */
  stale: string | undefined;

  private constructor(logger: Logger, at: WarmPosition) {
    this.logger = logger;
    this.at = { ...at };
    this.replay = new JournalReplay(logger);
  }

  /**
   * Replays the journal files in `dir` (read only) up to `position`. Files that do not end exactly
   * there give a journal that has stepped aside from the start.
   */
  static async load(options: WarmJournalOptions): Promise<WarmJournal> {
    const logger = options.logger ?? silentLogger();
    const warm = new WarmJournal(logger, options.position);
    const repo = new SegmentRepository(options.dir, readOnly(options.io ?? nodeFileIO));
    try {
      const report = await recoverJournal(repo, { repair: false, maxPayload: Number.MAX_SAFE_INTEGER, logger }, (record, segment) => warm.apply(record, segment));
      const last = report.segments[report.segments.length - 1];
      const end = last === undefined ? undefined : { segment: last.firstOffset, offset: last.size };
      const { segment, offset } = options.position;
      const reached = end === undefined ? offset === 0 : (end.segment === segment && end.offset === offset) || (offset === 0 && end.segment + end.offset === segment);
      if (!reached) warm.stepAside(`the journal files end at ${end === undefined ? 'nothing' : `${end.segment}+${end.offset}`}, not at ${segment}+${offset}`);
      warm.epoch = report.epoch;
    } catch (err) {
      warm.stepAside(`replaying the files failed: ${(err as Error).message}`);
    }
    return warm;
  }

  /** Where the replayed bytes end. */
  get position(): WarmPosition {
    return { ...this.at };
  }

  get current(): boolean {
    return this.replay !== undefined;
  }

  /**
   * Durable bytes at `position`: whole records with good CRCs, after the segment header when
   * `position.offset` is 0. They must follow on from what was replayed.
   */
  feed(position: WarmPosition, bytes: Buffer): void {
    if (this.replay === undefined) return;
    const follows = position.segment + position.offset === this.at.segment + this.at.offset && (position.offset === 0 || position.segment === this.at.segment);
    if (!follows) {
      this.stepAside(`bytes at ${position.segment}+${position.offset} do not follow ${this.at.segment}+${this.at.offset}`);
      return;
    }
    try {
      let at = position.offset === 0 ? SEGMENT_HEADER_SIZE : 0;
      while (at < bytes.length) {
        const payload = bytes.readUInt32BE(at);
        const start = at + RECORD_HEADER_SIZE;
        this.apply(decodeRecord(bytes[at + 8]!, bytes, start, start + payload), position.segment);
        at = start + payload;
      }
    } catch (err) {
      this.stepAside(`a record at ${position.segment}+${position.offset} does not decode: ${(err as Error).message}`);
      return;
    }
    this.at = { segment: position.segment, offset: position.offset + bytes.length };
  }

  /** The segments before `below` were deleted (after everything before them was fed). */
  deleted(below: number): void {
    if (this.replay === undefined) return;
    if (this.at.segment + this.at.offset < below) {
      this.stepAside(`segments up to ${below} were deleted before their bytes arrived`);
      return;
    }
    const problem = this.replay.segmentsDeleted(below);
    if (problem !== undefined) this.stepAside(problem);
  }

  /** Hands the state to a store, once; undefined when it stepped aside. */
  take(): WarmStart | undefined {
    const replay = this.replay;
    if (replay === undefined) return undefined;
    this.replay = undefined;
    this.stale = 'handed to a store';
    return { replay, resume: { ...this.at, epoch: this.epoch, lastType: this.lastType } };
  }

  /** Stops following (and lets go of the state); a store then recovers in full. */
  stepAside(reason: string): void {
    if (this.replay === undefined) return;
    this.replay = undefined;
    this.stale = reason;
    this.logger.warn({ event: 'journal.warm-state-dropped', reason }, `the replica's replayed state stops following the journal: ${reason}`);
  }

  /** As recovery visits: epochs older than one already seen are passed over. */
  private apply(record: JournalRecord, segment: number): void {
    if (record.type === 'epoch') {
      if (this.epoch !== undefined && record.epoch < this.epoch) return;
      this.epoch = record.epoch;
    }
    this.records++;
    this.lastType = record.type;
    this.replay!.apply(record, segment);
  }
}

/** The journal's I/O with every change refused: loading must leave the files as they are. */
function readOnly(io: FileIO): FileIO {
  const refuse = (what: string) => (): never => {
    throw new Error(`read only: ${what} refused`);
  };
  return {
    ...io,
    open: (path, mode) => (mode === 'read' ? io.open(path, mode) : Promise.reject(new Error(`read only: open for ${mode} refused`))),
    unlink: refuse('unlink'),
    rename: refuse('rename'),
  } as FileIO;
}
