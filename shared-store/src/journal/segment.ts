// One segment file: its header codec, its name, and the append position the journal writes at.
// A segment is written strictly in order; only the newest segment (the head) is ever appended to,
// possibly into zeros preallocated ahead of that position.
import {
  JOURNAL_VERSION,
  PREALLOCATE_BYTES,
  SEGMENT_HEADER_SIZE,
  SEGMENT_MAGIC,
  SEGMENT_NAME_DIGITS,
  SEGMENT_NAME_PATTERN,
  SEGMENT_SUFFIX,
} from './constants.js';
import { crc32c } from './crc32c.js';
import { writeFullySync, type FileHandleIO } from './file-io.js';

const TWO_32 = 0x1_0000_0000;
/** Written over and over to preallocate; never modified. */
const ZEROS = Buffer.alloc(PREALLOCATE_BYTES);

export function segmentFileName(firstOffset: number): string {
  return String(firstOffset).padStart(SEGMENT_NAME_DIGITS, '0') + SEGMENT_SUFFIX;
}

/** The first offset a segment file name stands for, or undefined if it is not a segment name. */
export function parseSegmentFileName(name: string): number | undefined {
  const match = SEGMENT_NAME_PATTERN.exec(name);
  if (match === null) return undefined;
  const value = Number(match[1]);
  return Number.isSafeInteger(value) ? value : undefined;
}

export function encodeSegmentHeader(firstOffset: number): Buffer {
  const buf = Buffer.alloc(SEGMENT_HEADER_SIZE);
  SEGMENT_MAGIC.copy(buf, 0);
  buf.writeUInt16BE(JOURNAL_VERSION, 8);
  buf.writeUInt32BE(Math.floor(firstOffset / TWO_32), 16);
  buf.writeUInt32BE(firstOffset % TWO_32, 20);
  buf.writeUInt32BE(crc32c(buf, 0, 24), 24);
  return buf;
}

/** The header's first offset, or the reason the bytes are not a valid header of this version. */
export function decodeSegmentHeader(buf: Buffer): { firstOffset: number } | { problem: string } {
  if (buf.length < SEGMENT_HEADER_SIZE) return { problem: `torn segment header (${buf.length} bytes)` };
  if (!buf.subarray(0, 8).equals(SEGMENT_MAGIC)) return { problem: 'bad segment magic' };
  if (crc32c(buf, 0, 24) !== buf.readUInt32BE(24)) return { problem: 'segment header CRC mismatch' };
  const version = buf.readUInt16BE(8);
  if (version !== JOURNAL_VERSION) return { problem: `unsupported journal version ${version}` };
  return { firstOffset: buf.readUInt32BE(16) * TWO_32 + buf.readUInt32BE(20) };
}

export class Segment {
  readonly name: string;
  /** Bytes in the file: the position of the next write. */
  written: number;
  /**
   * Bytes assigned to this segment, written or still waiting in the group commit. Placement is
   * decided when a record is appended, so the store knows at once which segment holds it.
   */
  placed: number;
  /** Written since the last fdatasync. */
  dirty = false;
  /** The file's size: `written`, plus the zeros preallocated ahead of it. */
  allocated: number;

  constructor(
    readonly firstOffset: number,
    readonly path: string,
    size: number,
    /** Open once the file exists; a segment placed ahead of the writer has none yet. */
    public handle: FileHandleIO | undefined,
    fileSize = size,
  ) {
    this.name = segmentFileName(firstOffset);
    this.written = size;
    this.placed = size;
    this.allocated = Math.max(size, fileSize);
  }

  /** Where the next segment starts once this one is full. */
  get endOffset(): number {
    return this.firstOffset + this.placed;
  }

  /** Writes at the append position, on the calling thread (see FileHandleIO.writeSync). */
  append(buf: Buffer): void {
    writeFullySync(this.handle!, buf, this.written);
    this.written += buf.length;
    this.dirty = true;
  }

  /**
   * Makes sure the file holds at least `end` bytes, filling with zeros from its end: a chunk of
   * PREALLOCATE_BYTES (not past `limit`), or up to `end` if that is further. The zeros go out with
   * the next fdatasync; after that, appends into them change neither the file's size nor its blocks.
   */
  preallocate(end: number, limit: number): void {
    if (end <= this.allocated) return;
    const target = Math.max(end, Math.min(limit, this.allocated + PREALLOCATE_BYTES));
    for (let at = this.allocated; at < target; at += ZEROS.length) {
      writeFullySync(this.handle!, ZEROS, at, 0, Math.min(ZEROS.length, target - at));
    }
    this.allocated = target;
    this.dirty = true;
  }

  /** The segment is done (rolled or closing): cuts the unused zeros and fdatasyncs. */
  async finish(): Promise<void> {
    if (this.handle === undefined) return;
    if (this.allocated > this.written) {
      await this.handle.truncate(this.written);
      this.allocated = this.written;
      this.dirty = true;
    }
    await this.datasync();
  }

  /** datasync() on the calling thread; undefined when the file offers no such call. */
  datasyncNow(): boolean | undefined {
    const handle = this.handle;
    if (handle?.datasyncSync === undefined) return undefined;
    if (!this.dirty) return false;
    this.dirty = false;
    try {
      handle.datasyncSync();
    } catch (err) {
      this.dirty = true;
      throw err;
    }
    return true;
  }

  async datasync(): Promise<boolean> {
    if (!this.dirty || this.handle === undefined) return false;
    // Cleared first: a write landing while the sync runs sets it again and is synced next time.
    this.dirty = false;
    try {
      await this.handle.datasync();
    } catch (err) {
      this.dirty = true;
      throw err;
    }
    return true;
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    if (handle !== undefined) await handle.close();
  }
}
