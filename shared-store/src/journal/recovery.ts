// Recovery: read every segment in order and hand each good record to a visitor. A torn or corrupt
// tail of the last segment is cut off and logged; corruption with good records after it refuses
// to start (StoreError TANDEM_ERR_JOURNAL_CORRUPT) unless `repair` skips it. Every cut and skip
// is reported; nothing is dropped silently. Preallocated zeros after the last record are no
// damage: they mark the end of the data and are left for the head to write into.
import { StoreError, StoreErrorCodes } from '../errors.js';
import type { Logger } from '../log.js';
import type { RecoveryProblem } from '../store/types.js';
import { RECORD_HEADER_SIZE, SEGMENT_HEADER_SIZE } from './constants.js';
import { FrameScanner, type ScanEvent } from './records/frame.js';
import { decodeRecord, type JournalRecord } from './records/index.js';
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

export interface RecoveryReport {
  /** The segments that remain, in order, with their sizes after any truncation. */
  segments: SegmentFile[];
  problems: RecoveryProblem[];
  /** The journal is empty, or its last record is a clean-shutdown. */
  cleanShutdown: boolean;
  records: number;
  bytes: number;
}

export async function recoverJournal(
  repo: SegmentRepository,
  options: RecoveryOptions,
  visit: RecordVisitor,
): Promise<RecoveryReport> {
  const files = await repo.list();
  const report: RecoveryReport = { segments: [], problems: [], cleanShutdown: true, records: 0, bytes: 0 };
  let lastType: JournalRecord['type'] | undefined;
  let cutLast = false;

  for (let i = 0; i < files.length; i++) {
    const file = files[i]!;
    const isLast = i === files.length - 1;
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
    const scanner = new FrameScanner(SEGMENT_HEADER_SIZE, maxPayload, true);
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
      lastType = record.type;
      visit(record, file.firstOffset, event.offset);
    };
    await repo.read(file.path, SEGMENT_HEADER_SIZE, (chunk) => {
      scanner.push(chunk);
      for (let event = scanner.next(); event !== undefined; event = scanner.next()) onEvent(event);
    });
    scanner.finish();
    for (let event = scanner.next(); event !== undefined; event = scanner.next()) onEvent(event);

    const tail = scanner.tail();
    let size = file.size;
    if (tail?.zeroFill === true) {
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

/** Reads the good records of one finished segment (for compaction); bad stretches are passed over. */
export async function readSegmentRecords(
  repo: SegmentRepository,
  path: string,
  visit: (record: JournalRecord, offset: number) => void,
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
  await repo.read(path, SEGMENT_HEADER_SIZE, (chunk) => {
    scanner.push(chunk);
    drain();
  });
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
