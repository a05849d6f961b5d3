// The replication link's binary framing (the layout is documented in protocol.ts). Pure:
// encodeMessage() builds bytes, decodeMessage() reads one whole message, LinkDecoder is fed chunks
// of a byte stream; none of them touches a socket.
import { ReplicationError } from './errors.js';
import type { Position } from './position.js';
import {
  FRAME_HEADER_SIZE,
  DEFAULT_MAX_MESSAGE_SIZE,
  MessageType,
  type MessageKind,
  type PromotionMode,
  type Promotion,
  type LinkMessage,
} from './protocol.js';

// ---------------------------------------------------------------- encoding

class Writer {
  private readonly parts: Buffer[] = [];
  private size = 0;

  u8(v: number): this {
    return this.put(Buffer.from([v]));
  }
  u16(v: number, field: string): this {
    checkUint(v, 0xffff, field);
    const b = Buffer.allocUnsafe(2);
    b.writeUInt16BE(v);
    return this.put(b);
  }
  u32(v: number, field: string): this {
    checkUint(v, 0xffff_ffff, field);
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(v);
    return this.put(b);
  }
  u64(v: number, field: string): this {
    checkUint(v, Number.MAX_SAFE_INTEGER, field);
    const b = Buffer.allocUnsafe(8);
    b.writeBigUInt64BE(BigInt(v));
    return this.put(b);
  }
  pos(p: Position, field: string): this {
    return this.u64(p.segment, `${field}.segment`).u64(p.offset, `${field}.offset`);
  }
  str16(s: string, field: string): this {
    const b = Buffer.from(s, 'utf8');
    return this.u16(b.length, `${field} length`).put(b);
  }
  str32(s: string, field: string): this {
    const b = Buffer.from(s, 'utf8');
    return this.u32(b.length, `${field} length`).put(b);
  }
  put(b: Buffer): this {
    this.parts.push(b);
    this.size += b.length;
    return this;
  }
  frame(type: number): Buffer {
    const out = Buffer.allocUnsafe(FRAME_HEADER_SIZE + this.size);
    out.writeUInt32BE(1 + this.size, 0);
    out[4] = type;
    let at = FRAME_HEADER_SIZE;
    for (const p of this.parts) at += p.copy(out, at);
    return out;
  }
}

function checkUint(v: number, max: number, field: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`${field} must be an integer from 0 to ${max} (got ${v})`);
}

const MODE_IDS: Record<PromotionMode, number> = { SWITCHOVER: 1, FAILOVER: 2 };

function writePromotion(w: Writer, p: Promotion): void {
  w.u32(p.generation, 'promotion.generation').u8(MODE_IDS[p.mode]).u64(p.at, 'promotion.at').str16(p.promotedRegion, 'promotion.promotedRegion');
  w.pos(p.endOfPrevious, 'promotion.endOfPrevious').u64(p.rpoTime ?? 0, 'promotion.rpoTime').u8(p.lostUnknown === true ? 1 : 0);
}

/** The bytes of one message, frame header included. Throws RangeError on a value the format cannot hold. */
export function encodeMessage(m: LinkMessage): Buffer {
  const w = new Writer();
  switch (m.type) {
    case 'hello':
      w.u16(m.version, 'version').str16(m.token, 'token').str16(m.sender, 'sender').str16(m.region, 'region');
      w.u32(m.generation, 'generation').u8(m.probe ? 1 : 0);
      break;
    case 'welcome':
      w.u16(m.version, 'version').pos(m.position, 'position').u32(m.anchor.length, 'anchor.length').u32(m.anchor.crc, 'anchor.crc');
      w.str16(m.receiver, 'receiver').str16(m.region, 'region').u32(m.generation, 'generation');
      break;
    case 'batch':
      w.u64(m.seq, 'seq').pos(m.position, 'position').u64(m.observedAt, 'observedAt');
      w.u32(m.records, 'records').u32(m.crc, 'crc').put(m.bytes);
      break;
    case 'ack':
    case 'resend':
      w.u64(m.seq, 'seq').pos(m.position, 'position');
      break;
    case 'segment-deleted':
      w.u64(m.seq, 'seq').u64(m.below, 'below');
      break;
    case 'status':
      w.u64(m.head, 'head').u64(m.records, 'records').u32(Math.min(m.ageMs, 0xffff_ffff), 'ageMs').u64(m.sentAt, 'sentAt');
      break;
    case 'error':
      w.str16(m.code, 'code').str32(m.message, 'message');
      break;
    case 'drain':
      break;
    case 'drained':
      w.pos(m.position, 'position');
      break;
    case 'promoted':
      writePromotion(w, m.promotion);
      break;
    case 'refusal':
      w.str16(m.code, 'code').str32(m.message, 'message').str16(m.region, 'region').u32(m.generation, 'generation');
      w.u8(m.promotion === undefined ? 0 : 1);
      if (m.promotion !== undefined) writePromotion(w, m.promotion);
      break;
  }
  return w.frame(MessageType[m.type]);
}

// ---------------------------------------------------------------- decoding

function malformed(message: string): ReplicationError {
  return new ReplicationError('TANDEM_ERR_REPLICATION_PROTOCOL', `malformed link message: ${message}`);
}

class Reader {
  private at = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly kind: string,
  ) {}

  private need(n: number, field: string): void {
    if (this.buf.length - this.at < n) throw malformed(`${this.kind} ends inside ${field}`);
  }
  u8(field: string): number {
    this.need(1, field);
    return this.buf[this.at++]!;
  }
  u16(field: string): number {
    this.need(2, field);
    const v = this.buf.readUInt16BE(this.at);
    this.at += 2;
    return v;
  }
  u32(field: string): number {
    this.need(4, field);
    const v = this.buf.readUInt32BE(this.at);
    this.at += 4;
    return v;
  }
  u64(field: string): number {
    this.need(8, field);
    const v = this.buf.readBigUInt64BE(this.at);
    this.at += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed(`${this.kind} ${field} ${v} is beyond 2^53`);
    return Number(v);
  }
  pos(field: string): Position {
    return { segment: this.u64(`${field}.segment`), offset: this.u64(`${field}.offset`) };
  }
  str16(field: string): string {
    return this.text(this.u16(`${field} length`), field);
  }
  str32(field: string): string {
    return this.text(this.u32(`${field} length`), field);
  }
  private text(n: number, field: string): string {
    this.need(n, field);
    const slice = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(slice);
    } catch {
      throw malformed(`${this.kind} ${field} is not UTF-8`);
    }
  }
  rest(): Buffer {
    const b = this.buf.subarray(this.at);
    this.at = this.buf.length;
    return b;
  }
  end(): void {
    if (this.at !== this.buf.length) throw malformed(`${this.buf.length - this.at} bytes after the end of ${this.kind}`);
  }
}

const KIND_BY_ID = new Map<number, MessageKind>(
  (Object.entries(MessageType) as Array<[MessageKind, number]>).map(([k, v]) => [v, k]),
);

/** Decodes a type byte and body (the frame's length field already stripped). */
function decodeBody(type: number, body: Buffer): LinkMessage {
  const kind = KIND_BY_ID.get(type);
  if (kind === undefined) throw malformed(`unknown message type ${type}`);
  const r = new Reader(body, kind);
  let m: LinkMessage;
  switch (kind) {
    case 'hello':
      m = {
        type: kind,
        version: r.u16('version'),
        token: r.str16('token'),
        sender: r.str16('sender'),
        region: r.str16('region'),
        generation: r.u32('generation'),
        probe: flag(r.u8('flags'), kind),
      };
      break;
    case 'welcome':
      m = {
        type: kind,
        version: r.u16('version'),
        position: r.pos('position'),
        anchor: { length: r.u32('anchor.length'), crc: r.u32('anchor.crc') },
        receiver: r.str16('receiver'),
        region: r.str16('region'),
        generation: r.u32('generation'),
      };
      break;
    case 'batch':
      m = {
        type: kind,
        seq: r.u64('seq'),
        position: r.pos('position'),
        observedAt: r.u64('observedAt'),
        records: r.u32('records'),
        crc: r.u32('crc'),
        bytes: r.rest(),
      };
      break;
    case 'ack':
    case 'resend':
      m = { type: kind, seq: r.u64('seq'), position: r.pos('position') };
      break;
    case 'segment-deleted':
      m = { type: kind, seq: r.u64('seq'), below: r.u64('below') };
      break;
    case 'status':
      m = { type: kind, head: r.u64('head'), records: r.u64('records'), ageMs: r.u32('ageMs'), sentAt: r.u64('sentAt') };
      break;
    case 'error':
      m = { type: kind, code: r.str16('code'), message: r.str32('message') };
      break;
    case 'drain':
      m = { type: kind };
      break;
    case 'drained':
      m = { type: kind, position: r.pos('position') };
      break;
    case 'promoted':
      m = { type: kind, promotion: readPromotion(r) };
      break;
    case 'refusal': {
      const code = r.str16('code');
      const message = r.str32('message');
      const region = r.str16('region');
      const generation = r.u32('generation');
      const has = flag(r.u8('promotion flag'), kind);
      m = { type: kind, code, message, region, generation, promotion: has ? readPromotion(r) : undefined };
      break;
    }
  }
  r.end();
  return m;
}

/** A one-byte flag: 0 or 1, nothing else. */
function flag(v: number, kind: string): boolean {
  if (v > 1) throw malformed(`${kind} has flags ${v}; only 0 and 1 are defined`);
  return v === 1;
}

function readPromotion(r: Reader): Promotion {
  const generation = r.u32('promotion.generation');
  const modeId = r.u8('promotion.mode');
  const mode = modeId === 1 ? 'SWITCHOVER' : modeId === 2 ? 'FAILOVER' : undefined;
  if (mode === undefined) throw malformed(`promotion mode ${modeId} is neither 1 (SWITCHOVER) nor 2 (FAILOVER)`);
  const at = r.u64('promotion.at');
  const promotedRegion = r.str16('promotion.promotedRegion');
  const endOfPrevious = r.pos('promotion.endOfPrevious');
  const rpoTime = r.u64('promotion.rpoTime');
  const lostUnknown = flag(r.u8('promotion.flags'), 'promotion');
  const p: Promotion = { generation, mode, at, promotedRegion, endOfPrevious };
  if (rpoTime !== 0) p.rpoTime = rpoTime;
  if (lostUnknown) p.lostUnknown = true;
  return p;
}

/** One whole message, as a WebSocket delivers it: the frame's length must match exactly. */
export function decodeMessage(buf: Buffer, maxSize = DEFAULT_MAX_MESSAGE_SIZE): LinkMessage {
  if (buf.length < FRAME_HEADER_SIZE) throw malformed(`${buf.length} bytes is shorter than a frame header`);
  const length = buf.readUInt32BE(0);
  if (length === 0) throw malformed('a frame with no type byte');
  if (length + 4 > maxSize) throw malformed(`a frame of ${length + 4} bytes exceeds the limit of ${maxSize}`);
  if (length + 4 !== buf.length) throw malformed(`the frame says ${length + 4} bytes but the message has ${buf.length}`);
  return decodeBody(buf[4]!, buf.subarray(FRAME_HEADER_SIZE));
}

/**
 * The incremental decoder for a byte stream: push chunks, get whole messages. After an error it
 * stays failed, since a stream that lost its framing cannot be trusted to find it again.
 */
export class LinkDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private state: 'length' | 'body' | 'failed' = 'length';
  private need = 4;

  constructor(private readonly maxSize = DEFAULT_MAX_MESSAGE_SIZE) {}

  push(chunk: Buffer): LinkMessage[] {
    if (this.state === 'failed') throw malformed('the stream already failed');
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: LinkMessage[] = [];
    try {
      while (this.buffered >= this.need) {
        const bytes = this.consume(this.need);
        if (this.state === 'length') {
          const length = bytes.readUInt32BE(0);
          if (length === 0) throw malformed('a frame with no type byte');
          if (length + 4 > this.maxSize) throw malformed(`a frame of ${length + 4} bytes exceeds the limit of ${this.maxSize}`);
          this.state = 'body';
          this.need = length;
        } else {
          out.push(decodeBody(bytes[0]!, bytes.subarray(1)));
          this.state = 'length';
          this.need = 4;
        }
      }
    } catch (err) {
      this.state = 'failed';
      throw err;
    }
    return out;
  }

  /** Bytes of an unfinished frame held waiting for the rest (its length field included). */
  get pending(): number {
    return this.buffered + (this.state === 'body' ? 4 : 0);
  }

  /** Takes exactly n buffered bytes, copying only when they span chunks. */
  private consume(n: number): Buffer {
    this.buffered -= n;
    const first = this.chunks[0]!;
    if (first.length === n) {
      this.chunks.shift();
      return first;
    }
    if (first.length > n) {
      this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0]!;
      const take = Math.min(c.length, n - filled);
      c.copy(out, filled, 0, take);
      filled += take;
      if (take === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(take);
    }
    return out;
  }
}
