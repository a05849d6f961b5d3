// The file store: the MessageStore contract over the journal. It keeps no message bodies in
// memory (the broker core holds pending messages), only the ledger of which segment holds each
// live message, and lets the reclaimer delete or compact old segments.
import { StoreError, StoreErrorCodes } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { DEFAULT_RECLAIM_INTERVAL_MS } from '../journal/constants.js';
import { Journal } from '../journal/journal.js';
import { Reclaimer, type ReclaimPolicy } from '../journal/reclaimer.js';
import type { EpochRecord, JournalRecord, MessageAddRecord } from '../journal/records/index.js';
import type { RecoveryReport } from '../journal/recovery.js';
import { realTimers, type Timers } from '../journal/timers.js';
import { DispatchMarks } from './dispatch-marks.js';
import { JournalReplay } from './journal-replay.js';
import { SegmentLedger } from './segment-ledger.js';
import type { WarmJournal } from './warm-journal.js';
import type {
  AckOptions,
  DurableSubscriptionInfo,
  FileStoreOptions,
  MessageStore,
  RecoveredState,
  StoreState,
  StoreStats,
  StoredMessage,
  TransactionOp,
} from './types.js';
import { durableKey } from './types.js';

/** FileStoreOptions plus what tests inject. */
export interface FileStoreSettings extends FileStoreOptions {
  timers?: Timers;
  /** Compact an old segment when live messages are at most this share of it; default 0.25. */
  compactLiveRatio?: number;
  /** Durability mode: how long an ack made with `{ sync: false }` may wait for its fdatasync; default 50 ms. */
  lazySyncMs?: number;
  /**
   * The writer's epoch (the HA lock's, per acquisition): opening seals the journal's last segment
   * and starts a new one with an epoch record, so a fenced broker's late writes into the sealed
   * segment are ignored by every later recovery. Without it the journal appends where it ended.
   */
  epoch?: number;
  /**
   * State replayed while the journal's bytes arrived (a replica's): opening takes it and recovers
   * only what it had not seen. Should it not match the files, the store recovers them in full.
   */
  warm?: WarmJournal;
}

const noop = (): void => undefined;

export class FileStore implements MessageStore, ReclaimPolicy {
  private readonly journal: Journal;
  private readonly reclaimer: Reclaimer;
  private readonly logger: Logger;
  private ledger = new SegmentLedger();
  private readonly marks: DispatchMarks;
  private nextTxId = 1;
  private nextSeq = 1;
  /** The latest epoch record and its segment, carried forward when that segment is reclaimed. */
  private latestEpoch: { record: EpochRecord; segment: number } | undefined;

  constructor(private readonly options: FileStoreSettings) {
    this.logger = options.logger ?? silentLogger();
    const timers = options.timers ?? realTimers;
    this.journal = new Journal({
      dir: options.dir,
      mode: options.mode,
      repair: options.repair ?? false,
      logger: this.logger,
      timers,
      beforeSeal: () => this.marks.seal(),
      ...(options.confirmWrites === undefined ? {} : { confirm: options.confirmWrites }),
      ...(options.segmentSize === undefined ? {} : { segmentSize: options.segmentSize }),
      ...(options.syncIntervalMs === undefined ? {} : { syncIntervalMs: options.syncIntervalMs }),
      ...(options.lazySyncMs === undefined ? {} : { lazySyncMs: options.lazySyncMs }),
      ...(options.fileIO === undefined ? {} : { fileIO: options.fileIO }),
      ...(options.epoch === undefined ? {} : { epoch: options.epoch }),
    });
    this.marks = new DispatchMarks(this.journal);
    this.reclaimer = new Reclaimer(this.journal, this, {
      intervalMs: options.reclaimIntervalMs ?? DEFAULT_RECLAIM_INTERVAL_MS,
      timers,
      logger: this.logger,
      ...(options.compactLiveRatio === undefined ? {} : { compactLiveRatio: options.compactLiveRatio }),
    });
  }

  get state(): StoreState {
    return this.journal.state;
  }

  async open(): Promise<RecoveredState> {
    const started = Date.now();
    const warm = this.options.warm?.take();
    let replay = warm?.replay ?? new JournalReplay(this.logger);
    const visit = (record: JournalRecord, segment: number): void => replay.apply(record, segment);
    let report: RecoveryReport;
    try {
      report = await this.journal.open(visit, warm?.resume);
    } catch (err) {
      if (warm === undefined || (err as StoreError).code !== StoreErrorCodes.JOURNAL_RESUME) throw err;
      this.logger.warn({ event: 'journal.warm-start-refused', reason: (err as Error).message }, 'the replayed state does not fit the journal; recovering it in full');
      replay = new JournalReplay(this.logger);
      report = await this.journal.open(visit);
    }
    const resumed = warm !== undefined && replay === warm.replay;
    this.ledger = replay.finish();
    this.marks.reset(this.ledger);
    this.nextTxId = replay.maxTxId + 1;
    this.nextSeq = replay.model.nextSeq;
    this.latestEpoch = this.journal.startedEpoch ?? replay.latestEpoch;
    const millis = Date.now() - started;
    const recovered = replay.model.toRecovered(report.cleanShutdown, report.problems, {
      segments: report.segments.length,
      records: report.records,
      bytes: report.bytes,
      millis,
    });
    this.logger.info(
      {
        event: 'journal.recovered',
        segments: report.segments.length,
        records: report.records,
        liveMessages: this.ledger.live.size,
        cleanShutdown: report.cleanShutdown,
        problems: report.problems.length,
        ignoredBytes: report.ignored.reduce((n, i) => n + i.bytes, 0),
        ...(resumed ? { resumedAt: `${warm.resume.segment}+${warm.resume.offset}` } : {}),
        ...(this.journal.epoch === undefined ? {} : { epoch: this.journal.epoch }),
        millis,
      },
      'journal recovered',
    );
    this.reclaimer.start();
    return recovered;
  }

  async close(): Promise<void> {
    await this.reclaimer.stop();
    if (this.journal.state === 'open') this.marks.seal();
    await this.journal.close();
  }

  addMessage(message: StoredMessage): Promise<void> {
    const done = this.journal.append({ type: 'message-add', txId: 0, message });
    const segment = this.journal.lastPlaced;
    if (segment !== undefined) this.noteAdd(message, segment);
    return done;
  }

  ack(target: string, seq: number, options?: AckOptions): Promise<void> {
    const done = this.journal.append({ type: 'ack', txId: 0, target, seq }, options);
    if (this.journal.lastPlaced !== undefined) this.ledger.acked(target, seq);
    return done;
  }

  sync(): Promise<void> {
    return this.journal.flushAndSync();
  }

  commit(ops: TransactionOp[]): Promise<void> {
    const txId = this.nextTxId++;
    const records: JournalRecord[] = [{ type: 'transaction-begin', txId }];
    for (const op of ops) {
      records.push(
        op.op === 'add'
          ? { type: 'message-add', txId, message: op.message }
          : { type: 'ack', txId, target: op.target, seq: op.seq },
      );
    }
    records.push({ type: 'transaction-commit', txId, records: ops.length });
    const done = this.journal.appendAll(records);
    const segment = this.journal.lastPlaced;
    if (segment !== undefined) {
      for (const op of ops) {
        if (op.op === 'add') this.noteAdd(op.message, segment);
        else this.ledger.acked(op.target, op.seq);
      }
    }
    return done;
  }

  addDurableSubscription(info: DurableSubscriptionInfo): Promise<void> {
    const copy = { ...info };
    const done = this.journal.append({ type: 'durable-subscription-add', info: copy });
    const segment = this.journal.lastPlaced;
    if (segment !== undefined) this.ledger.durableAdded(copy, segment);
    return done;
  }

  removeDurableSubscription(clientId: string, name: string): Promise<void> {
    const done = this.journal.append({ type: 'durable-subscription-remove', clientId, name });
    if (this.journal.lastPlaced !== undefined) {
      this.ledger.durableRemoved(clientId, name);
      this.marks.forget(durableKey(clientId, name));
    }
    return done;
  }

  /** The journal's epoch: the one it writes in, or the highest it records; undefined if none. */
  get epoch(): number | undefined {
    return this.journal.epoch;
  }

  fence(reason: string): void {
    this.journal.fence(reason);
  }

  markDispatched(target: string, seq: number): Promise<void> | undefined {
    return this.marks.request(target, seq, this.nextSeq - 1);
  }

  async reclaim(): Promise<void> {
    if (this.journal.state === 'failed') return this.journal.flushAndSync(); // rejects with the failure
    if (this.journal.state !== 'open') {
      throw new StoreError(StoreErrorCodes.JOURNAL_CLOSED, `the store is ${this.journal.state}`);
    }
    await this.reclaimer.run();
  }

  stats(): StoreStats {
    const journal = this.journal.stats();
    return {
      state: journal.state,
      mode: this.options.mode,
      segments: journal.segments,
      bytes: journal.bytes,
      liveMessages: this.ledger.live.size,
      appendedRecords: journal.appendedRecords,
      syncs: journal.syncs,
    };
  }

  // --- ReclaimPolicy: the reclaimer's questions, answered from the ledger ---

  liveIn(segment: number): number {
    return this.ledger.liveIn(segment);
  }

  messagesIn(segment: number): number {
    return this.ledger.messagesIn(segment);
  }

  carryMessage(record: MessageAddRecord, segment: number): void {
    const entry = this.ledger.live.get(record.message.seq);
    if (entry === undefined || entry.segment !== segment) return;
    // The copy names only the targets still owing an ack: older acks may be deleted with the original.
    const message = { ...record.message, targets: [...entry.remaining] };
    this.journal.append({ type: 'message-add', txId: 0, message }).catch(noop);
    const placed = this.journal.lastPlaced;
    if (placed !== undefined) this.ledger.moved(message.seq, placed);
  }

  carryForward(segments: ReadonlySet<number>): void {
    const { ledger, journal } = this;
    for (const pinned of ledger.durables.values()) {
      if (!segments.has(pinned.segment)) continue;
      journal.append({ type: 'durable-subscription-add', info: pinned.value }).catch(noop);
      if (journal.lastPlaced !== undefined) pinned.segment = journal.lastPlaced;
    }
    for (const [producerId, pinned] of ledger.producers) {
      if (!segments.has(pinned.segment)) continue;
      journal.append({ type: 'producer-sequence', producerId, producerSeq: pinned.value }).catch(noop);
      if (journal.lastPlaced !== undefined) pinned.segment = journal.lastPlaced;
    }
    for (const [target, pinned] of ledger.marks) {
      if (!segments.has(pinned.segment)) continue;
      journal.append({ type: 'dispatch-mark', target, seq: pinned.value }).catch(noop);
      if (journal.lastPlaced !== undefined) pinned.segment = journal.lastPlaced;
    }
    journal.append({ type: 'sequence-watermark', nextSeq: this.nextSeq }).catch(noop);
    // The latest epoch must stay on record, or a fenced writer's stale epoch record could pass for
    // the newest. Its seal goes with it: the sealed segment is older, so it is gone by now.
    const epoch = this.latestEpoch;
    if (epoch !== undefined && segments.has(epoch.segment)) {
      const { seal: _seal, ...copy } = epoch.record;
      journal.append(copy).catch(noop);
      if (journal.lastPlaced !== undefined) this.latestEpoch = { record: copy, segment: journal.lastPlaced };
    }
  }

  forget(segment: number): void {
    this.ledger.forget(segment);
  }

  private noteAdd(message: StoredMessage, segment: number): void {
    if (message.seq >= this.nextSeq) this.nextSeq = message.seq + 1;
    this.ledger.added(message.seq, message.targets, segment);
    if (message.producerId !== undefined && message.producerSeq !== undefined) {
      this.ledger.producer(message.producerId, message.producerSeq, segment);
    }
  }
}

/** Creates a file store and opens it: recovery runs before this resolves. */
export async function openFileStore(options: FileStoreSettings): Promise<{ store: FileStore; recovered: RecoveredState }> {
  const store = new FileStore(options);
  const recovered = await store.open();
  return { store, recovered };
}
