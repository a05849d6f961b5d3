// The records the journal holds, as a discriminated union, and the shape of one record codec.
import type { DurableSubscriptionInfo, StoredMessage } from '../../store/types.js';
import type { RecordTypeId } from '../constants.js';
import type { FieldReader, FieldWriter } from './fields.js';

/** `txId` 0 means the record is not part of a transaction. */
export interface MessageAddRecord { type: 'message-add'; txId: number; message: StoredMessage }
export interface AckRecord { type: 'ack'; txId: number; target: string; seq: number }
export interface DurableSubscriptionAddRecord { type: 'durable-subscription-add'; info: DurableSubscriptionInfo }
export interface DurableSubscriptionRemoveRecord { type: 'durable-subscription-remove'; clientId: string; name: string }
export interface TransactionBeginRecord { type: 'transaction-begin'; txId: number }
/** `records` counts the tagged records between begin and commit, so a gap is detectable. */
export interface TransactionCommitRecord { type: 'transaction-commit'; txId: number; records: number }
export interface TransactionRollbackRecord { type: 'transaction-rollback'; txId: number }
export interface ProducerSequenceRecord { type: 'producer-sequence'; producerId: string; producerSeq: number }
export interface DispatchMarkRecord { type: 'dispatch-mark'; target: string; seq: number }
export interface CleanShutdownRecord { type: 'clean-shutdown'; timestamp: number }
export interface SequenceWatermarkRecord { type: 'sequence-watermark'; nextSeq: number }
/** Seals segment `segment` (its first offset) at `length` bytes: nothing past that belongs to the journal. */
export interface EpochSeal { segment: number; length: number }
/** A writer's epoch began: the lock's epoch, who took it, when, and the segment it sealed. */
export interface EpochRecord { type: 'epoch'; epoch: number; host: string; pid: number; timestamp: number; seal?: EpochSeal }

export type JournalRecord =
  | MessageAddRecord
  | AckRecord
  | DurableSubscriptionAddRecord
  | DurableSubscriptionRemoveRecord
  | TransactionBeginRecord
  | TransactionCommitRecord
  | TransactionRollbackRecord
  | ProducerSequenceRecord
  | DispatchMarkRecord
  | CleanShutdownRecord
  | SequenceWatermarkRecord
  | EpochRecord;

export type JournalRecordName = JournalRecord['type'];

/** One record type's payload codec. The frame (length, CRC, type byte) is frame.ts's job. */
export interface RecordCodec<R extends JournalRecord> {
  readonly typeId: RecordTypeId;
  readonly name: R['type'];
  /** Payload bytes `write` will produce. */
  size(record: R): number;
  write(record: R, out: FieldWriter): void;
  /** Reads the whole payload; throws RecordFormatError if it is malformed. */
  read(input: FieldReader): R;
}
