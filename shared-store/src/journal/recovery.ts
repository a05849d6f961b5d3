// Recovery: read every segment in order and hand each good record to a visitor. A torn or corrupt
// tail of the last segment is cut off and logged; corruption with good records after it refuses
// to start (StoreError TANDEM_ERR_JOURNAL_CORRUPT) unless `repair` skips it. Every cut and skip
// is reported; nothing is dropped silently. Preallocated zeros after the last record are no
// damage: they mark the end of the data and are left for the head to write into. A segment sealed
// by the next epoch ends at its seal: bytes past it (a fenced writer's late writes) are ignored.
import { StoreError, StoreErrorCodes } from '../errors.js';
import type { Logger } from '../log.js';
import type { RecoveryProblem } from '../store/types.js';
import { RECORD_HEADER_SIZE, SEGMENT_HEADER_SIZE } from './constants.js';
import { FrameScanner, type ScanEvent } from './records/frame.js';
import { decodeRecord, type EpochRecord, type JournalRecord } from './records/index.js';
import { decodeSegmentHeader } from './segment.js';
import type { SegmentFile, SegmentRepository } from './segment-repository.js';

/** Receives each good record: its segment's first offset and its position in the file. */
export type RecordVisitor = (record: JournalRecord, segment: number, offset: number) => void;

export interface RecoveryOptions {
  repair: boolean;
  /** The largest payload a frame may claim (the segment size less the headers). */
  maxPayload: number;
  logger: Logger;
}

/** Bytes past a segment's seal: written after a newer epoch had taken the journal over. */
export interface IgnoredBytes {
  segment: string;
  offset: number;
  bytes: number;
  /** The epoch whose record sealed the segment. */
  sealedBy: number;
}

export interface RecoveryReport {
  /** The segments that remain, in order, with their sizes after any truncation (a sealed one: its seal). */
  segments: SegmentFile[];
  problems: RecoveryProblem[];
  /** The journal is empty, or its last record is a clean-shutdown. */
  cleanShutdown: boolean;
  records: number;
  bytes: number;
  /** The highest epoch an epoch record names; undefined when the journal holds none. */
  epoch: number | undefined;
  /** Stretches past a seal that recovery passed over, oldest first. */
  ignored: IgnoredBytes[];
}

/**
 * Where an earlier pass over these same bytes stopped (a replica that replayed what it received):
 * recovery trusts everything before it, visits nothing there, and reads on from it.
 */
export interface RecoveryResume {
  segment: number;
  offset: number;
  /** The latest epoch the earlier pass accepted. */
  epoch: number | undefined;
  /** The type of the last record it visited. */
  lastType: JournalRecord['type'] | undefined;
}

/** The first epoch record must fit in this much of a segment, header included, to seal the one before. */
const SEAL_PEEK_BYTES = 4096;

export async function recoverJournal(
  repo: SegmentRepository,
  options: RecoveryOptions,
  visit: RecordVisitor,
  resume?: RecoveryResume,
): Promise<RecoveryReport> {
  const files = await repo.list();
  const report: RecoveryReport = { segments: [], problems: [], cleanShutdown: true, records: 0, bytes: 0, epoch: resume?.epoch, ignored: [] };
  let lastType: JournalRecord['type'] | undefined = resume?.lastType;
  let cutLast = false;
  if (resume !== undefined) {
    const problem = resumeProblem(files, resume);
    if (problem !== undefined) throw new StoreError(StoreErrorCodes.JOURNAL_RESUME, `cannot resume recovery at ${resume.segment}+${resume.offset}: ${problem}`);
  }

  for (let i = 0; i < files.length; i++) {
    const file = files[i]!;
    const isLast = i === files.length - 1;
    if (resume !== undefined && file.firstOffset < resume.segment) {
      // Replayed already: only its length matters, a sealed one's being its seal.
      const seal = isLast ? undefined : await peekSeal(repo, file, files[i + 1]!, options.logger);
      const size = seal === undefined ? file.size : Math.min(file.size, seal.seal!.length);
      report.segments.push({ ...file, size });
      report.bytes += size;
      continue;
    }
    const startAt = resume !== undefined && file.firstOffset === resume.segment ? Math.max(resume.offset, SEGMENT_HEADER_SIZE) : SEGMENT_HEADER_SIZE;
    const header = decodeSegmentHeader(await repo.readHead(file.path, SEGMENT_HEADER_SIZE));
    const headerProblem =
      'problem' in header
        ? header.problem
        : header.firstOffset !== file.firstOffset
          ? `segment header names offset ${header.firstOffset}`
          : undefined;
    if (headerProblem !== undefined) {
      if (isLast && file.size <= SEGMENT_HEADER_SIZE) {
        // A crash while the segment was being created: nothing was ever written to it.
        await repo.delete(file.path);
        cut(report, options.logger, file, 0, file.size, headerProblem);
        cutLast = true;
        continue;
      }
      refuseOrSkip(report, options, file, 0, file.size, headerProblem);
      report.segments.push(file);
      continue;
    }

    // A journal written with a larger segmentSize than configured now still holds good records.
    const maxPayload = Math.max(options.maxPayload, file.size - SEGMENT_HEADER_SIZE - RECORD_HEADER_SIZE);
    const scanner = new FrameScanner(startAt, maxPayload, true);
    const onEvent = (event: ScanEvent): void => {
      if (event.kind === 'skipped') {
        refuseOrSkip(report, options, file, event.offset, event.length, event.reason);
        return;
      }
      let record: JournalRecord;
      try {
        record = decodeRecord(event.typeId, event.payload);
      } catch (err) {
        // A frame with a good CRC and a bad payload: written by a different version, or a bug.
        refuseOrSkip(report, options, file, event.offset, event.length, (err as Error).message);
        return;
      }
      report.records++;
      if (record.type === 'epoch' && !acceptEpoch(report, options.logger, record, file, event.offset)) return;
      lastType = record.type;
      visit(record, file.firstOffset, event.offset);
    };
    const drain = (): void => {
      for (let event = scanner.next(); event !== undefined; event = scanner.next()) onEvent(event);
    };
    const feed = (chunk: Buffer): void => {
      scanner.push(chunk);
      drain();
    };

    // The next segment's first record may seal this one; whether the seal counts is decided at the
    // sealed length, once every epoch record before it has been read.
    const seal = isLast ? undefined : await peekSeal(repo, file, files[i + 1]!, options.logger);
    const sealedAt = seal?.seal!.length;
    let reached = await repo.read(file.path, startAt, feed, sealedAt);
    const sealed = seal !== undefined && (report.epoch === undefined || seal.epoch >= report.epoch);
    if (seal !== undefined && !sealed && reached === sealedAt) reached = await repo.read(file.path, reached, feed);
    scanner.finish();
    drain();

    const tail = scanner.tail();
    let size = file.size;
    if (sealed) {
      // The seal was written for bytes the sealing epoch read whole: good records up to it, exactly.
      const end = tail?.offset ?? reached;
      if (end < sealedAt!) {
        const reason = tail !== undefined && tail.zeroFill !== true ? tail.reason : `the segment's records end at ${end} bytes but epoch ${seal.epoch} sealed it at ${sealedAt}`;
        refuseOrSkip(report, options, file, end, sealedAt! - end, reason);
      }
      size = Math.min(file.size, sealedAt!);
      if (file.size > sealedAt!) ignorePastSeal(report, options.logger, file, sealedAt!, file.size - sealedAt!, seal.epoch);
    } else if (tail?.zeroFill === true) {
      size = tail.offset;
    } else if (tail !== undefined) {
      if (isLast) {
        await repo.truncate(file.path, tail.offset);
        cut(report, options.logger, file, tail.offset, tail.length, tail.reason);
        size = tail.offset;
        cutLast = true;
      } else {
        // Segments are synced before the next one is written, so only damage leaves a bad tail here.
        refuseOrSkip(report, options, file, tail.offset, tail.length, tail.reason);
      }
    }
    report.segments.push({ ...file, size });
    report.bytes += size;
  }
  if (lastType !== undefined) report.cleanShutdown = lastType === 'clean-shutdown' && !cutLast;
  else if (cutLast) report.cleanShutdown = false;
  return report;
}

/** Why `resume` is not a position in these files: it must fall inside one, or at the end of the last. */
function resumeProblem(files: SegmentFile[], resume: RecoveryResume): string | undefined {
  const at = files.find((f) => f.firstOffset === resume.segment);
  if (at !== undefined) return at.size >= resume.offset ? undefined : `segment ${at.name} holds ${at.size} bytes`;
  const last = files[files.length - 1];
  if (resume.offset === 0 && (last === undefined || last.firstOffset + last.size === resume.segment)) return undefined;
  return 'no segment starts there';
}

/**
 * An epoch record counts unless a newer epoch was already recorded before it: then an older
 * writer wrote it after losing the journal, and it (with its seal) is logged and passed over.
 */
function acceptEpoch(report: RecoveryReport, logger: Logger, record: EpochRecord, file: SegmentFile, offset: number): boolean {
  if (report.epoch !== undefined && record.epoch < report.epoch) {
    logger.warn(
      { event: 'journal.epoch-stale', segment: file.name, offset, epoch: record.epoch, latest: report.epoch, host: record.host, pid: record.pid },
      `ignored the record of epoch ${record.epoch}, written after epoch ${report.epoch} had taken the journal over`,
    );
    return false;
  }
  report.epoch = record.epoch;
  return true;
}

/**
 * The epoch record that seals `file`: the first record of the segment after it, naming `file`,
 * and placing that next segment exactly where the seal ends `file`. Anything else is no seal.
 */
async function peekSeal(repo: SegmentRepository, file: SegmentFile, next: SegmentFile, logger: Logger): Promise<EpochRecord | undefined> {
  const head = await repo.readHead(next.path, SEAL_PEEK_BYTES);
  const header = decodeSegmentHeader(head);
  if ('problem' in header || header.firstOffset !== next.firstOffset) return undefined;
  const scanner = new FrameScanner(SEGMENT_HEADER_SIZE);
  scanner.push(head.subarray(SEGMENT_HEADER_SIZE));
  const first = scanner.next();
  if (first?.kind !== 'frame' || first.offset !== SEGMENT_HEADER_SIZE) return undefined;
  let record: JournalRecord;
  try {
    record = decodeRecord(first.typeId, first.payload);
  } catch {
    return undefined; // the main pass reports it when it reaches that segment
  }
  if (record.type !== 'epoch' || record.seal === undefined) return undefined;
  const { segment, length } = record.seal;
  if (segment !== file.firstOffset || length < SEGMENT_HEADER_SIZE || segment + length !== next.firstOffset) {
    logger.warn(
      { event: 'journal.seal-mismatch', segment: next.name, epoch: record.epoch, sealed: segment, length },
      'an epoch record seals a segment that does not end where its own segment begins; the seal is not applied',
    );
    return undefined;
  }
  return record;
}

function ignorePastSeal(report: RecoveryReport, logger: Logger, file: SegmentFile, offset: number, bytes: number, sealedBy: number): void {
  report.ignored.push({ segment: file.name, offset, bytes, sealedBy });
  logger.warn(
    { event: 'journal.zombie-bytes-ignored', segment: file.name, offset, bytes, sealedBy },
    `ignored ${bytes} bytes written into a segment after epoch ${sealedBy} sealed it (a fenced broker's late writes)`,
  );
}

/** Reads the good records of one finished segment (for compaction); bad stretches are passed over. */
export async function readSegmentRecords(
  repo: SegmentRepository,
  path: string,
  visit: (record: JournalRecord, offset: number) => void,
  /** The segment's valid length: a sealed segment's bytes past its seal are not the journal's. */
  until?: number,
): Promise<void> {
  // Recovery already accepted this segment; the length bound is only the CRC's to enforce.
  const scanner = new FrameScanner(SEGMENT_HEADER_SIZE, undefined, true);
  const drain = (): void => {
    for (let event = scanner.next(); event !== undefined; event = scanner.next()) {
      if (event.kind !== 'frame') continue;
      let record: JournalRecord;
      try {
        record = decodeRecord(event.typeId, event.payload);
      } catch {
        continue; // recovery already reported it; compaction only carries good records forward
      }
      visit(record, event.offset);
    }
  };
  await repo.read(
    path,
    SEGMENT_HEADER_SIZE,
    (chunk) => {
      scanner.push(chunk);
      drain();
    },
    until,
  );
  scanner.finish();
  drain();
}

function cut(
  report: RecoveryReport,
  logger: Logger,
  file: SegmentFile,
  offset: number,
  length: number,
  reason: string,
): void {
  report.problems.push({ segment: file.name, offset, reason, action: 'truncated' });
  logger.warn(
    { event: 'journal.tail-truncated', segment: file.name, offset, bytes: length, reason },
    'journal tail was torn or corrupt and has been truncated',
  );
}

function refuseOrSkip(
  report: RecoveryReport,
  options: RecoveryOptions,
  file: SegmentFile,
  offset: number,
  length: number,
  reason: string,
): void {
  if (!options.repair) {
    throw new StoreError(
      StoreErrorCodes.JOURNAL_CORRUPT,
      `journal segment ${file.name} is corrupt at offset ${offset} (${reason}); ` +
        'valid records follow it, so it is not a torn write. Start with --repair to skip it.',
    );
  }
  report.problems.push({ segment: file.name, offset, reason, action: 'skipped' });
  options.logger.error(
    { event: 'journal.record-skipped', segment: file.name, offset, bytes: length, reason },
    'corrupt journal bytes skipped by repair',
  );
}
