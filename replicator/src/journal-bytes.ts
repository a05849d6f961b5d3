// Reading journal bytes as replication needs them: a segment header, and the longest run of whole
// records with good CRCs. Both sides use it: the tailer to cut batches on record boundaries, the
// receiver to check every record of a batch before writing it. Pure. The record type is not
// checked: replication copies bytes, and the broker that opens the copy judges the types. A head
// segment may end in zeros the journal preallocated: a whole header of zeros is the end of data.
import { crc32c, decodeRecord, journalFormat } from '@tandem-mq/shared-store';

const { RECORD_HEADER_SIZE, SEGMENT_HEADER_SIZE, SEGMENT_MAGIC, JOURNAL_VERSION } = journalFormat;
const TWO_32 = 0x1_0000_0000;

export { RECORD_HEADER_SIZE, SEGMENT_HEADER_SIZE };

/** Why these bytes are not the header of segment `firstOffset`, or undefined when they are. */
export function segmentHeaderProblem(buf: Buffer, firstOffset: number): string | undefined {
  if (buf.length < SEGMENT_HEADER_SIZE) return `torn segment header (${buf.length} bytes)`;
  if (!buf.subarray(0, 8).equals(SEGMENT_MAGIC)) return 'bad segment magic';
  if (crc32c(buf, 0, 24) !== buf.readUInt32BE(24)) return 'segment header CRC mismatch';
  const version = buf.readUInt16BE(8);
  if (version !== JOURNAL_VERSION) return `unsupported journal version ${version}`;
  const first = buf.readUInt32BE(16) * TWO_32 + buf.readUInt32BE(20);
  if (first !== firstOffset) return `the header names segment ${first}, not ${firstOffset}`;
  return undefined;
}

export interface RecordRun {
  /** Bytes of whole, good records from the start. */
  length: number;
  records: number;
  /**
   * What stopped the run: the end of the bytes (`end`), a record that continues past them
   * (`partial`, with `needed` = bytes from the start to that record's end), a header's worth of
   * zeros where the journal has not written yet (`zeros`), or a record that is complete but wrong
   * (`bad`, with the reason).
   */
  stop: 'end' | 'partial' | 'zeros' | 'bad';
  needed?: number;
  reason?: string;
}

/** The whole records at the start of buf[start, end), framed `u32 length | u32 crc | u8 type | payload`. */
export function wholeRecords(buf: Buffer, start = 0, end = buf.length, maxPayload = 0x7fff_ffff): RecordRun {
  let at = start;
  let records = 0;
  for (;;) {
    const left = end - at;
    if (left === 0) return { length: at - start, records, stop: 'end' };
    if (left < RECORD_HEADER_SIZE) return { length: at - start, records, stop: 'partial', needed: at - start + RECORD_HEADER_SIZE };
    if (isZeroHeader(buf, at)) return { length: at - start, records, stop: 'zeros' };
    const payload = buf.readUInt32BE(at);
    if (payload > maxPayload) {
      return { length: at - start, records, stop: 'bad', reason: `record length ${payload} exceeds a segment` };
    }
    const size = RECORD_HEADER_SIZE + payload;
    if (left < size) return { length: at - start, records, stop: 'partial', needed: at - start + size };
    if (crc32c(buf, at + 8, at + size) !== buf.readUInt32BE(at + 4)) {
      return { length: at - start, records, stop: 'bad', reason: `record CRC mismatch at byte ${at - start}` };
    }
    at += size;
    records++;
  }
}

function isZeroHeader(buf: Buffer, at: number): boolean {
  for (let i = at; i < at + RECORD_HEADER_SIZE; i++) if (buf[i] !== 0) return false;
  return true;
}

/**
 * Checks that a batch for `position` is exactly: the segment header when it starts at offset 0,
 * then whole records with good CRCs, nothing left over. Returns the record count or the problem.
 */
export function checkBatchBytes(segment: number, offset: number, bytes: Buffer): { records: number } | { problem: string } {
  let start = 0;
  if (offset === 0) {
    const problem = segmentHeaderProblem(bytes.subarray(0, SEGMENT_HEADER_SIZE), segment);
    if (problem !== undefined) return { problem };
    start = SEGMENT_HEADER_SIZE;
  } else if (offset < SEGMENT_HEADER_SIZE) {
    return { problem: `offset ${offset} is inside the segment header` };
  }
  const run = wholeRecords(bytes, start);
  if (run.stop === 'end') return { records: run.records };
  if (run.stop === 'partial') return { problem: `a record is cut off at byte ${start + run.length}` };
  if (run.stop === 'zeros') return { problem: `zeros instead of a record at byte ${start + run.length}` };
  return { problem: run.reason! };
}

/**
 * The seal a new segment's bytes (header first) open with: a new epoch's first record names the
 * segment before it and that segment's valid length (docs/adr/0002). Undefined for any other start.
 * The bytes' CRCs are checked already.
 */
export function sealOf(bytes: Buffer): { segment: number; length: number } | undefined {
  const at = SEGMENT_HEADER_SIZE;
  if (bytes.length < at + RECORD_HEADER_SIZE || bytes[at + 8] !== journalFormat.RecordType.Epoch) return undefined;
  const size = RECORD_HEADER_SIZE + bytes.readUInt32BE(at);
  if (bytes.length < at + size) return undefined;
  try {
    const record = decodeRecord(journalFormat.RecordType.Epoch, bytes, at + RECORD_HEADER_SIZE, at + size);
    return record.type === 'epoch' ? record.seal : undefined;
  } catch {
    return undefined;
  }
}
