// Replays the journal's records into the store's state on open: the full model (bodies included)
// that becomes the RecoveredState, and the ledger the file store keeps afterwards. Transactions
// apply only when their commit record is present; the first copy of a seq wins.
import type { Logger } from '../log.js';
import type { EpochRecord, JournalRecord } from '../journal/records/index.js';
import { SegmentLedger } from './segment-ledger.js';
import { StoreModel } from './store-model.js';
import { durableKey } from './types.js';

interface OpenTransaction {
  records: JournalRecord[];
}

export class JournalReplay {
  readonly model = new StoreModel();
  maxTxId = 0;
  /** The latest epoch record recovery accepted, and its segment (it must outlive that segment). */
  latestEpoch: { record: EpochRecord; segment: number } | undefined;
  private readonly segmentOf = new Map<number, number>();
  /** A live message's latest copy (the reclaimer's compaction), where it lives once the original goes. */
  private readonly copyIn = new Map<number, number>();
  private readonly messagesIn = new Map<number, number>();
  private readonly durableAt = new Map<string, number>();
  private readonly producerAt = new Map<string, number>();
  private readonly markAt = new Map<string, number>();
  private readonly open = new Map<number, OpenTransaction>();

  constructor(private readonly logger: Logger) {}

  apply(record: JournalRecord, segment: number): void {
    switch (record.type) {
      case 'transaction-begin':
        this.noteTx(record.txId);
        if (this.open.has(record.txId)) this.abandon(record.txId, 'a new begin reused its id');
        this.open.set(record.txId, { records: [] });
        return;
      case 'transaction-commit': {
        const tx = this.open.get(record.txId);
        this.open.delete(record.txId);
        if (tx === undefined) {
          this.logger.warn({ event: 'journal.transaction-orphan-commit', txId: record.txId }, 'commit without begin ignored');
          return;
        }
        if (tx.records.length !== record.records) {
          this.logger.warn(
            { event: 'journal.transaction-short', txId: record.txId, expected: record.records, found: tx.records.length },
            'committed transaction is missing records (skipped by repair); applying what remains',
          );
        }
        for (const r of tx.records) this.applyNow(r, segment);
        return;
      }
      case 'transaction-rollback':
        this.open.delete(record.txId);
        return;
      case 'message-add':
      case 'ack':
        if (record.txId !== 0) {
          const tx = this.open.get(record.txId);
          if (tx === undefined) {
            this.logger.warn({ event: 'journal.transaction-orphan-record', txId: record.txId }, 'transactional record without begin ignored');
          } else {
            tx.records.push(record);
          }
          return;
        }
        this.applyNow(record, segment);
        return;
      default:
        this.applyNow(record, segment);
    }
  }

  /** Ends the replay: incomplete transactions are dropped (and logged); the ledger is built. */
  finish(): SegmentLedger {
    for (const txId of [...this.open.keys()]) this.abandon(txId, 'no commit record');
    for (const seq of this.model.dropOrphanTargets()) this.forget(seq);
    const ledger = new SegmentLedger();
    for (const [segment, count] of this.messagesIn) ledger.restoreCount(segment, count);
    for (const [seq, live] of this.model.messages) ledger.restoreLive(seq, this.segmentOf.get(seq)!, [...live.remaining]);
    for (const [key, info] of this.model.durables) ledger.durableAdded(info, this.durableAt.get(key)!);
    for (const [id, seq] of this.model.producerSeqs) ledger.producer(id, seq, this.producerAt.get(id) ?? -1);
    for (const [target, seq] of this.model.marks) ledger.marked(target, seq, this.markAt.get(target)!);
    return ledger;
  }

  private applyNow(record: JournalRecord, segment: number): void {
    const model = this.model;
    switch (record.type) {
      case 'message-add': {
        const m = record.message;
        this.messagesIn.set(segment, (this.messagesIn.get(segment) ?? 0) + 1);
        if (m.producerId !== undefined && m.producerSeq !== undefined) this.notePin(this.producerAt, model.producerSeqs, m.producerId, m.producerSeq, segment);
        if (model.addMessage(m)) this.segmentOf.set(m.seq, segment);
        else if (this.segmentOf.has(m.seq)) this.copyIn.set(m.seq, segment);
        return;
      }
      case 'ack':
        if (model.ack(record.target, record.seq)) this.forget(record.seq);
        return;
      case 'durable-subscription-add':
        model.addDurable(record.info);
        this.durableAt.set(durableKey(record.info.clientId, record.info.name), segment);
        return;
      case 'durable-subscription-remove':
        for (const seq of model.removeDurable(record.clientId, record.name)) this.forget(seq);
        return;
      case 'producer-sequence':
        this.notePin(this.producerAt, model.producerSeqs, record.producerId, record.producerSeq, segment);
        model.noteProducer(record.producerId, record.producerSeq);
        return;
      case 'dispatch-mark':
        this.notePin(this.markAt, model.marks, record.target, record.seq, segment);
        model.mark(record.target, record.seq);
        return;
      case 'sequence-watermark':
        if (record.nextSeq > 0) model.noteSeq(record.nextSeq - 1);
        return;
      case 'epoch':
        // Recovery passes on only epochs at or above every earlier one, so the last is the latest.
        this.latestEpoch = { record, segment };
        return;
      case 'clean-shutdown':
      case 'transaction-begin':
      case 'transaction-commit':
      case 'transaction-rollback':
        return;
    }
  }

  /**
   * The segments before `below` are gone (the primary reclaimed them, and a replica that replayed
   * them follows): what recovery would have found lives in the segments left. Live messages move to
   * their compacted copies, and every other record the state needs must have been carried forward.
   * Returns why the state cannot follow (it then no longer equals a recovery), or undefined.
   */
  segmentsDeleted(below: number): string | undefined {
    for (const [seq, segment] of this.segmentOf) {
      if (segment >= below) continue;
      const copy = this.copyIn.get(seq);
      if (copy === undefined || copy < below) return `live message ${seq} has no copy at or after ${below}`;
      this.segmentOf.set(seq, copy);
      this.copyIn.delete(seq);
    }
    for (const segment of this.messagesIn.keys()) if (segment < below) this.messagesIn.delete(segment);
    const pinned = [
      ['durable subscription', this.durableAt, this.model.durables],
      ['producer', this.producerAt, this.model.producerSeqs],
      ['dispatch mark', this.markAt, this.model.marks],
    ] as const;
    for (const [what, pins, live] of pinned) {
      for (const [key, segment] of pins) {
        if (segment >= below) continue;
        if (live.has(key)) return `the ${what} ${key} was not carried forward past ${below}`;
        pins.delete(key); // removed since: nothing to carry
      }
    }
    if (this.latestEpoch !== undefined && this.latestEpoch.segment < below) return `the latest epoch record was not carried forward past ${below}`;
    if (this.open.size > 0) return 'a transaction is open across a reclaimed segment';
    return undefined;
  }

  private forget(seq: number): void {
    this.segmentOf.delete(seq);
    this.copyIn.delete(seq);
  }

  /** Remembers the segment of the record that holds a key's highest value. */
  private notePin(at: Map<string, number>, values: ReadonlyMap<string, number>, key: string, value: number, segment: number): void {
    const known = values.get(key);
    if (known === undefined || value >= known) at.set(key, segment);
  }

  private noteTx(txId: number): void {
    if (txId > this.maxTxId) this.maxTxId = txId;
  }

  private abandon(txId: number, reason: string): void {
    const tx = this.open.get(txId);
    this.open.delete(txId);
    if (tx === undefined) return;
    this.logger.warn(
      { event: 'journal.transaction-discarded', txId, records: tx.records.length, reason },
      'incomplete transaction discarded',
    );
  }
}
