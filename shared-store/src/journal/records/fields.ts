// The field primitives every record codec is written in: fixed-width big-endian integers,
// length-prefixed strings and bytes. Writers fill a buffer sized up front; readers never read
// past their record and raise RecordFormatError instead.

/** Integers above this do not survive a round trip through a JS number. */
const MAX_U64 = Number.MAX_SAFE_INTEGER;
const TWO_32 = 0x1_0000_0000;

export class RecordFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecordFormatError';
  }
}

/** Bytes a string takes on disk: a u32 length and its UTF-8 bytes. */
export function stringSize(value: string): number {
  return 4 + Buffer.byteLength(value, 'utf8');
}

export class FieldWriter {
  constructor(
    readonly buf: Buffer,
    public pos: number,
  ) {}

  u8(value: number): void {
    this.buf[this.pos++] = value;
  }

  u32(value: number): void {
    this.buf.writeUInt32BE(value, this.pos);
    this.pos += 4;
  }

  /** A non-negative safe integer as eight bytes. */
  u64(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0 || value > MAX_U64) {
      throw new RangeError(`not a non-negative safe integer: ${value}`);
    }
    this.buf.writeUInt32BE(Math.floor(value / TWO_32), this.pos);
    this.buf.writeUInt32BE(value % TWO_32, this.pos + 4);
    this.pos += 8;
  }

  string(value: string): void {
    const length = this.buf.write(value, this.pos + 4, 'utf8');
    this.buf.writeUInt32BE(length, this.pos);
    this.pos += 4 + length;
  }

  bytes(value: Uint8Array): void {
    this.buf.writeUInt32BE(value.length, this.pos);
    this.buf.set(value, this.pos + 4);
    this.pos += 4 + value.length;
  }
}

export class FieldReader {
  constructor(
    private readonly buf: Buffer,
    private pos: number,
    private readonly end: number,
  ) {}

  private need(n: number, what: string): void {
    if (this.pos + n > this.end) {
      throw new RecordFormatError(`record ends inside ${what}`);
    }
  }

  u8(): number {
    this.need(1, 'a u8');
    return this.buf[this.pos++]!;
  }

  u32(): number {
    this.need(4, 'a u32');
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  u64(): number {
    this.need(8, 'a u64');
    const hi = this.buf.readUInt32BE(this.pos);
    const lo = this.buf.readUInt32BE(this.pos + 4);
    this.pos += 8;
    const value = hi * TWO_32 + lo;
    if (value > MAX_U64) throw new RecordFormatError(`integer too large: ${hi}:${lo}`);
    return value;
  }

  string(): string {
    const length = this.u32();
    this.need(length, 'a string');
    const value = this.buf.toString('utf8', this.pos, this.pos + length);
    this.pos += length;
    return value;
  }

  /** A copy, so a recovered body does not pin the whole read buffer in memory. */
  bytes(): Buffer {
    const length = this.u32();
    this.need(length, 'a byte field');
    const value = Buffer.allocUnsafe(length);
    this.buf.copy(value, 0, this.pos, this.pos + length);
    this.pos += length;
    return value;
  }

  /** Every codec ends with this: trailing bytes mean the writer and reader disagree. */
  finish(what: string): void {
    if (this.pos !== this.end) {
      throw new RecordFormatError(`${this.end - this.pos} unexpected trailing bytes in ${what}`);
    }
  }
}
