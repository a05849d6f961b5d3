// The replication link's messages and their binary framing. Pure: encodeMessage() builds bytes,
// decodeMessage() reads one whole message, LinkDecoder is fed chunks of a byte stream; none of them
// touches a socket. Over WebSocket each message travels as one binary message, frame and all.
import { crc32c } from '@tandem-mq/shared-store';
import { ReplicationError } from './errors.js';
import type { Position } from './position.js';

/**
 * Wire layout (big-endian):
 *
 *   frame:  0 4 length   bytes after this field (the type byte and the body)
 *           4 1 type     one of MessageType
 *           5 * body     per type, below; every byte must be used
 *
 *   str16 = u16 byte length + UTF-8;  str32 = u32 byte length + UTF-8;  pos = u64 segment, u64 offset
 *
 *   hello           u16 version | str16 token | str16 sender name | str16 region | u32 generation
 *                   | u8 flags (bit 0: a probe, which only asks who answers)  sender -> receiver, first
 *   welcome         u16 version | pos durable | u32 anchor length | u32 anchor crc32c | str16 receiver
 *                   | str16 region | u32 generation
 *                   (receiver -> sender, the reply: the anchor is the CRC of the last bytes before
 *                   the durable position in its segment, for the sender to compare with its own)
 *   batch           u64 seq | pos | u64 observedAt ms | u32 records | u32 crc32c(bytes) | bytes
 *   ack             u64 seq | pos durable                                  everything up to seq
 *   resend          u64 next seq | pos from                                receiver asks again
 *   segment-deleted u64 seq | u64 below     the primary has no segment starting before `below`
 *   status          u64 head journal offset | u64 records behind | u32 age ms | u64 sentAt ms
 *   error           str16 code | str32 message                             then the link closes
 *   drain           (no body)          receiver -> sender: a switchover asks the primary to stop
 *   drained         pos end            sender -> receiver: stopped, and everything up to end is sent
 *   promoted        promotion          receiver -> sender: the replica is primary now
 *   refusal         str16 code | str32 message | str16 region | u32 generation | u8 has promotion
 *                   | promotion        the answering side's region role refuses the link (a primary
 *                   refuses every sender; a newer replica refuses a stale primary), then it closes
 *
 *   promotion = u32 generation | u8 mode (1 SWITCHOVER, 2 FAILOVER) | u64 at ms | str16 promoted
 *               region | pos endOfPrevious | u64 rpoTime ms (0: none) | u8 flags (bit 0: lostUnknown)
 *
 * Generation 0 is a side without region state (the standalone replicator and receiver).
 */
export const PROTOCOL_VERSION = 2;
/** The WebSocket subprotocol both ends name, so a stray client is refused at the handshake. */
export const WS_SUBPROTOCOL = 'tandem-replication.v2';
export const FRAME_HEADER_SIZE = 5;
/** Default ceiling on one message: a batch is at most 1 MiB unless one record is larger (a default segment is 32 MiB). */
export const DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024;

export const MessageType = {
  hello: 1,
  welcome: 2,
  batch: 3,
  ack: 4,
  resend: 5,
  'segment-deleted': 6,
  status: 7,
  error: 8,
  drain: 9,
  drained: 10,
  promoted: 11,
  refusal: 12,
} as const;
export type MessageKind = keyof typeof MessageType;

export interface HelloMessage {
  type: 'hello';
  version: number;
  token: string;
  /** Who is sending, for the receiver's log and admin API (host and pid). */
  sender: string;
  /** The sender's region, '' for the standalone replicator. */
  region: string;
  /** The sender's region generation (0: no region state). */
  generation: number;
  /** Only asks who answers: a replica welcomes and forgets it, and ships nothing. */
  probe: boolean;
}
export interface WelcomeMessage {
  type: 'welcome';
  version: number;
  /** The receiver's last durable position: shipping resumes here. */
  position: Position;
  /** The last `length` bytes before `position` in its segment, by CRC32C: the sender checks they are its own. */
  anchor: Anchor;
  receiver: string;
  region: string;
  generation: number;
}

export interface Anchor {
  length: number;
  crc: number;
}
export interface BatchMessage {
  type: 'batch';
  seq: number;
  /** Where `bytes` start in the segment; offset 0 means the bytes begin with the segment header. */
  position: Position;
  /** When the sender first saw these bytes in the journal (its clock), for lag in seconds. */
  observedAt: number;
  /** Whole records in `bytes`. */
  records: number;
  /** CRC32C of `bytes`. */
  crc: number;
  bytes: Buffer;
}
export interface AckMessage {
  type: 'ack';
  seq: number;
  position: Position;
}
export interface ResendMessage {
  type: 'resend';
  /** The seq the receiver expects next; the resent stream numbers from here. */
  seq: number;
  position: Position;
}
export interface SegmentDeletedMessage {
  type: 'segment-deleted';
  seq: number;
  below: number;
}
export interface StatusMessage {
  type: 'status';
  /** Journal offset of the end of the primary's journal, as the sender last saw it. */
  head: number;
  /** Records the sender has not had acknowledged as durable. */
  records: number;
  /** Age of the oldest of them, in ms; 0 when none. */
  ageMs: number;
  sentAt: number;
}
export interface ErrorMessage {
  type: 'error';
  code: string;
  message: string;
}

export type PromotionMode = 'SWITCHOVER' | 'FAILOVER';

/** One promotion, as region.json's history keeps it and the link carries it. */
export interface Promotion {
  /** The generation the promotion began. */
  generation: number;
  mode: PromotionMode;
  /** Epoch ms. */
  at: number;
  promotedRegion: string;
  /** Where the previous generation's replicated data ends: the new primary's journal continues here. */
  endOfPrevious: Position;
  /** FAILOVER: when the primary first saw the last record the replica had (epoch ms, its clock). */
  rpoTime?: number;
  /** FAILOVER without a link: how much the old primary held past endOfPrevious is not known. */
  lostUnknown?: boolean;
}

export interface DrainMessage {
  type: 'drain';
}
export interface DrainedMessage {
  type: 'drained';
  /** The end of the primary's journal, all of it sent before this message. */
  position: Position;
}
export interface PromotedMessage {
  type: 'promoted';
  promotion: Promotion;
}
export interface RefusalMessage {
  type: 'refusal';
  code: string;
  message: string;
  /** The answering side's region and generation. */
  region: string;
  generation: number;
  /** The promotion that ended the sender's generation, when the answering side knows it. */
  promotion: Promotion | undefined;
}

export type LinkMessage =
  | HelloMessage
  | WelcomeMessage
  | BatchMessage
  | AckMessage
  | ResendMessage
  | SegmentDeletedMessage
  | StatusMessage
  | ErrorMessage
  | DrainMessage
  | DrainedMessage
  | PromotedMessage
  | RefusalMessage;

/** A batch message with its CRC computed from its bytes. */
export function batchMessage(seq: number, position: Position, bytes: Buffer, records: number, observedAt: number): BatchMessage {
  return { type: 'batch', seq, position: { ...position }, observedAt, records, crc: crc32c(bytes), bytes };
}

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
