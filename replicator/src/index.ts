// @tandem-mq/replicator: cross-region replication of the journal. The sender tails the primary's
// journal and ships its bytes over a WebSocket link; the receiver writes them into the replica's
// data directory, byte for byte, and both report how far behind the replica is.
export { ReplicationError, ReplicationErrors, replicationErrorCodes, isReplicationErrorCode } from './errors.js';
export type { ReplicationErrorCode } from './errors.js';
export { START, journalOffset, samePosition, formatPosition, describePosition } from './position.js';
export type { Position } from './position.js';
export { PROTOCOL_VERSION, WS_SUBPROTOCOL, MessageType, batchMessage } from './protocol.js';
export { LinkDecoder, encodeMessage, decodeMessage } from './protocol-codec.js';
export type * from './protocol.js';
export { JournalTailer } from './tailer.js';
export { listSegments, readJournalEnd, dataEnd, journalEndPosition } from './journal-dir.js';
export { anchorOf, checkAnchor, ANCHOR_BYTES } from './anchor.js';
export type { TailerOptions, TailEvent, TailBatch, TailDeletion } from './tailer.js';
export { Cursor, CURSOR_FILE_NAME } from './cursor.js';
export { ReplicaStore } from './replica-store.js';
export { ReplicaApplier } from './replica-applier.js';
export type { ApplierStats } from './replica-applier.js';
export { ReplicationSender } from './sender.js';
export type { SenderOptions, SenderReport, SenderState, SenderStats } from './sender.js';
export type { LinkTlsOptions } from './outbound-link.js';
export { ReplicationReceiver, DrainError } from './receiver.js';
export { LinkServer } from './link-server.js';
export type { LinkServerOptions, LinkServerTls, LinkHandler } from './link-server.js';
export { refuseLink } from './link-refuser.js';
export type { LinkRefuserOptions } from './link-refuser.js';
export { probeCounterpart } from './probe.js';
export type { ProbeOptions, ProbeAnswer } from './probe.js';
export { quarantineTail, listQuarantine, QUARANTINE_DIR, MANIFEST_NAME } from './quarantine.js';
export type { QuarantineManifest, QuarantineSummary, QuarantinedFile } from './quarantine.js';
export { runReplicationCommand } from './command.js';
export type { ReceiverOptions, ReceiverReport, ReceiverState, ReceiverStats, ReceiverTlsOptions } from './receiver.js';
export { senderLag, ReceiverLag, NO_LAG } from './lag.js';
export type { Lag } from './lag.js';
export { renderReplicationMetrics, startAdminServer } from './admin.js';
export type { ReplicationReport, AdminServer } from './admin.js';
export { loadReplicatorConfig, loadReceiverConfig } from './config.js';
export type { ReplicatorConfig, ReceiverConfig } from './config.js';
