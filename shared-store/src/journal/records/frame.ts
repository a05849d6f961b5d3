// The record frame: an incremental scanner fed chunks of a segment, emitting whole frames, the
// corrupt stretches it had to skip to find the next good frame, and at the end whatever torn
// bytes remain, or the zeros preallocated after the last record. Pure: it never touches a file.
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

/** What end() found after the last good frame: a torn write, a corrupt tail, or zero fill. */
export interface ScanTail {
  offset: number;
  length: number;
  reason: string;
  /**
   * Present when the tail is nothing but zeros starting with a whole header's worth: space
   * preallocated and never written, the normal end of a head segment (scanners made with
   * `zeroFillEnds` only).
   */
  zeroFill?: true;
}

/** 'zeros': inside a stretch of zero bytes that began where a frame header was expected. */
type State = 'header' | 'resync' | 'zeros';

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
  /** While in zeros: where the zero stretch began. */
  private zeroStart = 0;
  private final = false;

  constructor(
    startOffset = 0,
    /** Frames claiming a larger payload are corrupt (a segment could never hold them). */
    private readonly maxPayload = 0x7fff_ffff,
    /**
     * Segment files may end in preallocated zeros: a header of nine zero bytes (no record has type
     * 0) starts the end of the data rather than a corrupt stretch, if only zeros follow it.
     */
    private readonly zeroFillEnds = false,
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
    if (this.state === 'zeros' && !this.skipZeros()) return undefined;
    if (this.state === 'header') {
      if (this.pos >= this.buf.length) return undefined;
      if (this.zeroFillEnds && this.zerosAt(this.pos)) {
        this.state = 'zeros';
        this.zeroStart = this.base + this.pos;
        if (!this.skipZeros()) return undefined;
      }
    }
    if (this.state === 'header') {
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
    const stop = this.base + this.buf.length;
    if (this.state === 'zeros') {
      return { offset: this.zeroStart, length: stop - this.zeroStart, reason: 'zero fill', zeroFill: true };
    }
    const start = this.state === 'resync' ? this.badStart : this.base + this.pos;
    if (start >= stop) return undefined;
    return { offset: start, length: stop - start, reason: this.state === 'resync' ? this.badReason : 'torn record' };
  }

  /**
   * Whether a zero stretch starts at `at`: a whole header of zeros. Fewer zero bytes at the very
   * end are a torn header, since the journal always leaves room for a whole zero header.
   */
  private zerosAt(at: number): boolean {
    const buf = this.buf;
    if (buf.length - at < RECORD_HEADER_SIZE) return false;
    for (let i = at; i < at + RECORD_HEADER_SIZE; i++) if (buf[i] !== 0) return false;
    return true;
  }

  /**
   * In the zeros state: moves past zero bytes. True when a non-zero byte ended the stretch: the
   * zeros were not the end after all (writes lost out of order, or damage), so the stretch is
   * reported like any bad stretch and the scan resyncs. A header needs a non-zero type byte, so a
   * frame can start no earlier than eight bytes before that byte; the zeros before it are kept in
   * the buffer until then.
   */
  private skipZeros(): boolean {
    const buf = this.buf;
    let probe = this.pos;
    while (probe < buf.length && buf[probe] === 0) probe++;
    if (probe >= buf.length) {
      // Keep the last header's worth of zeros, where a frame after the stretch could begin.
      this.pos = Math.max(this.pos, buf.length - (RECORD_HEADER_SIZE - 1));
      return false;
    }
    this.state = 'resync';
    this.badStart = this.zeroStart;
    this.badReason = 'zeros followed by more records';
    this.pos = Math.max(this.pos, probe - (RECORD_HEADER_SIZE - 1));
    return true;
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
