// The message store: what the broker (and, later, the replica) asks of storage. It speaks in
// messages, acknowledgements and durable subscriptions; the journal below it speaks in records.
// Two implementations run one conformance suite: the file store (the journal) and the memory store.
import type { Logger } from '../log.js';
import type { FileIO } from '../journal/file-io.js';

export type StorageMode = 'durability' | 'throughput';

/**
 * A message as stored. `seq` is assigned by the broker, strictly increasing over the broker's
 * life (recovery returns `nextSeq`), and orders messages within a destination.
 */
export interface StoredMessage {
  seq: number;
  /** The STOMP message-id. */
  id: string;
  /** Canonical destination, e.g. "/queue/orders" or "/topic/prices". */
  destination: string;
  /** Application and standard headers as sent (content-type, reply-to, correlation-id, ...). */
  headers: Record<string, string>;
  body: Buffer;
  /** 0..9, default 4. */
  priority: number;
  /** Epoch ms after which the message expires; 0 for never. */
  expires: number;
  /** Epoch ms when the broker accepted it. */
  timestamp: number;
  /**
   * Where the message waits: a queue destination ("/queue/x"), or for a topic message the keys of
   * the durable subscriptions that must each acknowledge it (see durableKey()).
   */
  targets: string[];
  /** The producer id and sequence that sent it, for duplicate detection across failover. */
  producerId?: string;
  producerSeq?: number;
}

/** A message handed back by recovery: as stored, plus what the broker needs to redeliver it. */
export interface RecoveredMessage extends StoredMessage {
  /** True when the message may have been delivered before (seq at or below a dispatch mark). */
  redelivered: boolean;
}

export interface DurableSubscriptionInfo {
  clientId: string;
  name: string;
  /** The topic (may hold wildcards), canonical form "/topic/x". */
  destination: string;
  selector?: string;
  noLocal?: boolean;
}

/** The key a durable subscription's acknowledgements and targets use. */
export function durableKey(clientId: string, name: string): string {
  return `durable:${clientId}:${name}`;
}

/** One operation inside a transaction: all of a commit's operations land atomically or not at all. */
export type TransactionOp =
  | { op: 'add'; message: StoredMessage }
  | { op: 'ack'; target: string; seq: number };

export interface RecoveryProblem {
  segment: string;
  offset: number;
  reason: string;
  /** What recovery did: truncated the torn tail, or skipped a corrupt record (with --repair). */
  action: 'truncated' | 'skipped';
}

export interface RecoveredState {
  /** Pending messages per queue target, sorted by seq. */
  queues: Map<string, RecoveredMessage[]>;
  /** Durable subscriptions with their pending messages, sorted by seq. */
  durableSubscriptions: Array<{ info: DurableSubscriptionInfo; pending: RecoveredMessage[] }>;
  /** The highest sequence recorded per producer id. */
  producerSeqs: Map<string, number>;
  /** The next message seq to assign (one past the highest seen). */
  nextSeq: number;
  /** Whether the previous run shut down cleanly. */
  cleanShutdown: boolean;
  problems: RecoveryProblem[];
  stats: { segments: number; records: number; bytes: number; millis: number };
}

export type StoreState = 'opening' | 'open' | 'failed' | 'closed';

/** How an acknowledgement settles; see MessageStore.ack(). */
export interface AckOptions {
  /**
   * Default true. False (durability mode): settle once the record is written rather than once it
   * is fdatasynced. It survives the process being killed at once (the page cache outlives the
   * process), and the machine failing once the journal's next fdatasync has run: a durable call's,
   * sync()'s, or the lazy timer's, at most 50 ms later. For a STOMP ACK without a receipt, which no
   * client waits on. Throughput mode settles every call after its write anyway.
   */
  sync?: boolean;
}

export interface StoreStats {
  state: StoreState;
  mode: StorageMode;
  segments: number;
  bytes: number;
  /** Messages not yet acknowledged by every target. */
  liveMessages: number;
  appendedRecords: number;
  syncs: number;
}

/**
 * Every mutating call returns a promise that settles with the group commit that carries it:
 * in durability mode after fdatasync, in throughput mode after the write. If the journal fails,
 * every pending and later call rejects with StoreError TANDEM_ERR_JOURNAL_FAILED.
 */
export interface MessageStore {
  readonly state: StoreState;
  open(): Promise<RecoveredState>;
  /** Flushes, records a clean shutdown, and closes. */
  close(): Promise<void>;

  addMessage(message: StoredMessage): Promise<void>;
  /**
   * `target` acknowledges message `seq`; the message is gone once every target has. With
   * `{ sync: false }` it settles once written, not once durable (see AckOptions).
   */
  ack(target: string, seq: number, options?: AckOptions): Promise<void>;
  /**
   * Settles once every earlier call is durable: written and fdatasynced, in either mode, including
   * acks made with `{ sync: false }`. Costs nothing when nothing is waiting for an fdatasync.
   */
  sync(): Promise<void>;
  /** Atomically applies a transaction's sends and acks (begin, records, commit in one batch). */
  commit(ops: TransactionOp[]): Promise<void>;

  addDurableSubscription(info: DurableSubscriptionInfo): Promise<void>;
  /** Removes it and drops its pending acknowledgements. */
  removeDurableSubscription(clientId: string, name: string): Promise<void>;

  /**
   * Records that messages of `target` up to `seq` may have been delivered, so recovery flags them
   * redelivered (seq at or below the target's mark). Returns undefined when a mark >= seq is
   * already settled (written, and durable by the next fdatasync, as an ack with `{ sync: false }`:
   * a mark costs no fdatasync of its own): the message may go to the client now. Otherwise a mark >= seq goes into the next
   * group commit and the promise settles with that commit; a caller must not hand the message to
   * the client before it resolves. The mark is written ahead, as max(seq, the highest message seq
   * the store has seen), so one mark covers a whole backlog. Marks coalesce per batch, and a mark
   * asked for before an addMessage() or commit() call is settled by the time that call's promise
   * resolves (so a sender that marks before storing makes the later delivery wait for nothing). Rejects when the store is failed or closed; a caller that does not wait may
   * drop the promise (a failure never becomes an unhandled rejection).
   */
  markDispatched(target: string, seq: number): Promise<void> | undefined;

  /**
   * Fencing: another broker owns the data now. Refuses every waiting and later write with
   * StoreError TANDEM_ERR_FENCED; nothing more is confirmed. Idempotent.
   */
  fence(reason: string): void;

  /** Moves the journal's reclaimer forward now (it also runs on a timer). */
  reclaim(): Promise<void>;
  stats(): StoreStats;
}

export interface FileStoreOptions {
  dir: string;
  mode: StorageMode;
  /** Maximum segment size in bytes; default 32 MiB. */
  segmentSize?: number;
  /** Throughput mode: fdatasync at most this often; default 100 ms. */
  syncIntervalMs?: number;
  /** How often the reclaimer runs; default 1000 ms. */
  reclaimIntervalMs?: number;
  /** Skip corrupt records in the middle of a segment instead of refusing to start. */
  repair?: boolean;
  fileIO?: FileIO;
  logger?: Logger;
  /**
   * Called after each batch is written (and synced in durability mode) and before any waiter is
   * told; throw (a StoreError TANDEM_ERR_FENCED) to refuse the confirmation. The HA lock check.
   */
  confirmWrites?: () => void;
}
