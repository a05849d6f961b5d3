// The replication link's messages and the layout of their binary framing (encoded and decoded in
// protocol-codec.ts). Over WebSocket each message travels as one binary message, frame and all.
import { crc32c } from '@tandem-mq/shared-store';
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
