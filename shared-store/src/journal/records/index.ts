// The record registry: encode any record into a complete frame, decode a frame's payload by its
// type id. The framing itself (length, CRC, type) and the incremental scanner live in frame.ts.
import { RECORD_HEADER_SIZE, RecordType } from '../constants.js';
import { crc32c } from '../crc32c.js';
import { FieldReader, FieldWriter, RecordFormatError } from './fields.js';
import type { JournalRecord, RecordCodec } from './record-types.js';
import { ackCodec } from './ack.js';
import { cleanShutdownCodec } from './clean-shutdown.js';
import { dispatchMarkCodec } from './dispatch-mark.js';
import { durableSubscriptionAddCodec } from './durable-subscription-add.js';
import { durableSubscriptionRemoveCodec } from './durable-subscription-remove.js';
import { epochCodec } from './epoch.js';
import { messageAddCodec } from './message-add.js';
import { producerSequenceCodec } from './producer-sequence.js';
import { sequenceWatermarkCodec } from './sequence-watermark.js';
import { transactionBeginCodec } from './transaction-begin.js';
import { transactionCommitCodec } from './transaction-commit.js';
import { transactionRollbackCodec } from './transaction-rollback.js';

export type * from './record-types.js';
export { RecordFormatError } from './fields.js';

type AnyCodec = RecordCodec<JournalRecord>;

const ALL = [
  messageAddCodec,
  ackCodec,
  durableSubscriptionAddCodec,
  durableSubscriptionRemoveCodec,
  transactionBeginCodec,
  transactionCommitCodec,
  transactionRollbackCodec,
  producerSequenceCodec,
  dispatchMarkCodec,
  cleanShutdownCodec,
  sequenceWatermarkCodec,
  epochCodec,
] as unknown as AnyCodec[];

const BY_ID: Array<AnyCodec | undefined> = [];
const BY_NAME = new Map<string, AnyCodec>();
for (const codec of ALL) {
  BY_ID[codec.typeId] = codec;
  BY_NAME.set(codec.name, codec);
}

/** Whether a type id names a record this version can read. */
export function isKnownRecordType(typeId: number): boolean {
  return BY_ID[typeId] !== undefined;
}

/** The full frame size of a record: header plus payload. */
export function frameSize(record: JournalRecord): number {
  return RECORD_HEADER_SIZE + BY_NAME.get(record.type)!.size(record);
}

/** Encodes a record as one complete frame in a buffer of its own. */
export function encodeRecord(record: JournalRecord): Buffer {
  const codec = BY_NAME.get(record.type)!;
  const payloadSize = codec.size(record);
  const buf = Buffer.allocUnsafe(RECORD_HEADER_SIZE + payloadSize);
  const out = new FieldWriter(buf, RECORD_HEADER_SIZE);
  codec.write(record, out);
  if (out.pos !== buf.length) {
    throw new Error(`${record.type} wrote ${out.pos - RECORD_HEADER_SIZE} bytes, sized ${payloadSize}`);
  }
  buf.writeUInt32BE(payloadSize, 0);
  buf[8] = codec.typeId;
  buf.writeUInt32BE(crc32c(buf, 8), 4);
  return buf;
}

/** Decodes payload buf[start, end) of a frame with type `typeId`. */
export function decodeRecord(typeId: number, buf: Buffer, start = 0, end = buf.length): JournalRecord {
  const codec = BY_ID[typeId];
  if (codec === undefined) throw new RecordFormatError(`unknown record type ${typeId}`);
  return codec.read(new FieldReader(buf, start, end));
}

export { RecordType };
