// The record frame: an incremental scanner fed chunks of a segment, emitting whole frames, the
// corrupt stretches it had to skip to find the next good frame, and at the end whatever torn
// bytes remain. Pure: it never touches a file.
import { RECORD_HEADER_SIZE } from '../constants.js';
import { crc32c } from '../crc32c.js';
import { isKnownRecordType } from './index.js';

/** A good frame. `payload` is a view valid until the next push(): decode or copy it first. */
export interface ScannedFrame {
  kind: 'frame';
  /** Position of the frame's first byte, counted from the scanner's start offset. */
  offset: number;
  typeId: number;
  payload: Buffer;
  /** Frame length including the header. */
  length: number;
}

/** Bytes between two good frames that are not a good frame: corruption in the middle. */
export interface SkippedStretch {
  kind: 'skipped';
  offset: number;
  length: number;
  reason: string;
}

export type ScanEvent = ScannedFrame | SkippedStretch;

/** What end() found after the last good frame: a torn write or a corrupt tail. */
export interface ScanTail {
  offset: number;
  length: number;
  reason: string;
}

type State = 'header' | 'resync';

export class FrameScanner {
  private buf: Buffer = Buffer.alloc(0);
  /** Read position in buf. */
  private pos = 0;
  /** Offset of buf[0]. */
  private base: number;
  private state: State = 'header';
  /** While resyncing: where the bad stretch began and why. */
  private badStart = 0;
  private badReason = '';
  private final = false;

  constructor(
    startOffset = 0,
    /** Frames claiming a larger payload are corrupt (a segment could never hold them). */
    private readonly maxPayload = 0x7fff_ffff,
  ) {
    this.base = startOffset;
  }

  push(chunk: Buffer): void {
    if (this.pos >= this.buf.length) {
      this.base += this.buf.length;
      this.buf = chunk;
    } else {
      this.base += this.pos;
      this.buf = Buffer.concat([this.buf.subarray(this.pos), chunk]);
    }
    this.pos = 0;
  }

  /** The next event the bytes pushed so far allow, or undefined when it needs more bytes. */
  next(): ScanEvent | undefined {
    if (this.state === 'header') {
      if (this.pos >= this.buf.length) return undefined;
      const check = this.check(this.pos);
      if (check === 'need-more') return undefined;
      if (typeof check === 'string') {
        this.state = 'resync';
        this.badStart = this.base + this.pos;
        this.badReason = check;
        this.pos += 1;
      } else {
        return this.take(check);
      }
    }
    // Resync: slide one byte at a time until a complete frame with a good CRC starts here.
    while (this.pos < this.buf.length) {
      const check = this.check(this.pos);
      if (check === 'need-more') return undefined;
      if (typeof check === 'string') {
        this.pos += 1;
        continue;
      }
      this.state = 'header';
      const offset = this.badStart;
      return { kind: 'skipped', offset, length: this.base + this.pos - offset, reason: this.badReason };
    }
    return undefined;
  }

  /**
   * Call after the last push. Frames still waiting for bytes can no longer complete, so next()
   * now reports them as torn and keeps looking past them; drain next() before asking tail().
   */
  finish(): void {
    this.final = true;
  }

  /** After finish() and a drained next(): the bytes after the last good frame, if any. */
  tail(): ScanTail | undefined {
    const start = this.state === 'resync' ? this.badStart : this.base + this.pos;
    const stop = this.base + this.buf.length;
    if (start >= stop) return undefined;
    return { offset: start, length: stop - start, reason: this.state === 'resync' ? this.badReason : 'torn record' };
  }

  private take(length: number): ScannedFrame {
    const at = this.pos;
    this.pos += length;
    return {
      kind: 'frame',
      offset: this.base + at,
      typeId: this.buf[at + 8]!,
      payload: this.buf.subarray(at + RECORD_HEADER_SIZE, at + length),
      length,
    };
  }

  /** The frame length if a good frame starts at `at`, 'need-more', or why it is not one. */
  private check(at: number): number | 'need-more' | string {
    const buf = this.buf;
    if (buf.length - at < RECORD_HEADER_SIZE) return this.final ? 'torn record header' : 'need-more';
    const payload = buf.readUInt32BE(at);
    if (payload > this.maxPayload) return `record length ${payload} exceeds the segment`;
    if (!isKnownRecordType(buf[at + 8]!)) return `unknown record type ${buf[at + 8]}`;
    const length = RECORD_HEADER_SIZE + payload;
    if (buf.length - at < length) return this.final ? 'torn record' : 'need-more';
    if (crc32c(buf, at + 8, at + length) !== buf.readUInt32BE(at + 4)) return 'CRC mismatch';
    return length;
  }
}
