// @tandem-mq/shared-store: the storage engine the broker and the replicator share.
export { TandemError, StoreError, StoreErrorCodes } from './errors.js';
export type { TandemErrorOptions, StoreErrorCode } from './errors.js';
export { createLogger, silentLogger } from './log.js';
export type { Logger, LoggerSettings } from './log.js';
export { durableKey } from './store/types.js';
export type * from './store/types.js';

export { MemoryStore, MemoryStoreData } from './store/memory-store.js';
export type { MemoryStoreOptions } from './store/memory-store.js';
export { FileStore, openFileStore } from './store/file-store.js';
export type { FileStoreSettings } from './store/file-store.js';
export { WarmJournal } from './store/warm-journal.js';
export type { WarmJournalOptions, WarmPosition } from './store/warm-journal.js';
export { runStoreConformance } from './store/conformance.js';
export type { StoreHarness, StoreHarnessFactory } from './store/conformance.js';

export { Journal } from './journal/journal.js';
export type { JournalOptions, JournalState, JournalStats } from './journal/journal.js';
export { nodeFileIO, FaultyFileIO, InjectedIOError, writeFully, replaceFile, readWholeFile } from './journal/file-io.js';
export type { FileIO, FileHandleIO, OpenMode } from './journal/file-io.js';
export { realTimers, ManualTimers } from './journal/timers.js';
export type { Timers, TimerHandle } from './journal/timers.js';
export { crc32c } from './journal/crc32c.js';
export * as journalFormat from './journal/constants.js';
export { encodeRecord, decodeRecord, RecordFormatError } from './journal/records/index.js';
export type * from './journal/records/record-types.js';
export { FrameScanner } from './journal/records/frame.js';
export type { ScanEvent, ScannedFrame, SkippedStretch, ScanTail } from './journal/records/frame.js';
export { segmentFileName, parseSegmentFileName } from './journal/segment.js';
export * from './lock/index.js';
