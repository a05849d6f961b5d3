// Every on-disk name, magic number and record type id of the journal, in one place, plus the
// default sizes. Changing any value here changes the file format: bump JOURNAL_VERSION.

/**
 * On-disk layout
 *
 *   <dir>/<first offset, 20 digits>.seg     one segment; names sort in journal order under `ls`
 *
 *   segment header (SEGMENT_HEADER_SIZE = 32 bytes, big-endian):
 *     0  8  magic        "TNDMJRNL"
 *     8  2  version      JOURNAL_VERSION
 *    10  2  flags        0 (reserved)
 *    12  4  reserved     0
 *    16  8  firstOffset  the journal offset of byte 0 of this file (equals the file name)
 *    24  4  headerCrc    CRC32C of bytes 0..23
 *    28  4  reserved     0
 *
 *   record frame (RECORD_HEADER_SIZE = 9 bytes, then the payload):
 *     0  4  length       payload length in bytes (the type byte is not counted)
 *     4  4  crc          CRC32C over the type byte and the payload
 *     8  1  type         one of RecordType
 *     9  *  payload      the record codec's fields (see records/)
 *
 * A record never spans two segments. The journal offset of a record is its segment's firstOffset
 * plus its position in the file, so offsets grow strictly over the journal's life.
 *
 * The head segment may end in zeros preallocated ahead of the last record: nine zero bytes where
 * a record header would start (length 0, CRC 0, type 0, which no record has) mark the end of the
 * written data. A finished segment is cut to its last record.
 */
export const SEGMENT_MAGIC = Buffer.from('TNDMJRNL', 'latin1');
export const JOURNAL_VERSION = 1;
export const SEGMENT_HEADER_SIZE = 32;
export const RECORD_HEADER_SIZE = 9;
export const SEGMENT_SUFFIX = '.seg';
export const SEGMENT_NAME_DIGITS = 20;
export const SEGMENT_NAME_PATTERN = /^(\d{20})\.seg$/;

/** Record type ids as written in the frame's type byte. Never reuse a retired id. */
export const RecordType = {
  MessageAdd: 1,
  Ack: 2,
  DurableSubscriptionAdd: 3,
  DurableSubscriptionRemove: 4,
  TransactionBegin: 5,
  TransactionCommit: 6,
  TransactionRollback: 7,
  ProducerSequence: 8,
  DispatchMark: 9,
  CleanShutdown: 10,
  /** The next seq to assign, carried forward so seqs never repeat after old segments go. */
  SequenceWatermark: 11,
  /** A writer took over (one per lock acquisition): its epoch, and the seal of the segment before. */
  Epoch: 12,
} as const;
export type RecordTypeId = (typeof RecordType)[keyof typeof RecordType];

/** Default maximum segment size: 32 MiB. */
export const DEFAULT_SEGMENT_SIZE = 32 * 1024 * 1024;
/** Smallest segment size accepted; below this a segment would hold almost nothing. */
export const MIN_SEGMENT_SIZE = 64 * 1024;
/** Throughput mode: fdatasync at most this often. */
export const DEFAULT_SYNC_INTERVAL_MS = 100;
/**
 * Durability mode: a record written without waiting for an fdatasync (an ACK that asked for no
 * receipt, a dispatch mark) is fdatasynced at the latest this long after its write, when no
 * durable batch has covered it sooner.
 */
export const DEFAULT_LAZY_SYNC_MS = 50;
/**
 * How far ahead of the write position the head segment is filled with zeros, when the FileIO
 * preallocates: one chunk costs a few milliseconds once per megabyte of journal.
 */
export const PREALLOCATE_BYTES = 1024 * 1024;
/** How often the reclaimer runs. */
export const DEFAULT_RECLAIM_INTERVAL_MS = 1000;
/** Recovery reads segments in chunks of this size. */
export const READ_CHUNK_SIZE = 1024 * 1024;
/**
 * Compact the oldest segment when its live messages are at most this share of the messages it
 * was written with: copying a few survivors forward is cheaper than keeping the whole file.
 */
export const COMPACT_LIVE_RATIO = 0.25;
/** At most this many segments are compacted per reclaimer run, to bound the work per tick. */
export const MAX_COMPACTIONS_PER_RUN = 4;
