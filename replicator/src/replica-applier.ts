// The receiver's rules for what arrives on a link: apply batches strictly in order, ignore a
// duplicate, and on a gap or a bad CRC ask for everything again from the last durable position.
// Batches that arrive together share one fdatasync and one cursor write, then one ack.
import { crc32c, silentLogger, type Logger } from '@tandem-mq/shared-store';
import { checkBatchBytes, sealOf } from './journal-bytes.js';
import { formatPosition, journalOffset } from './position.js';
import type { AckMessage, BatchMessage, ResendMessage, SegmentDeletedMessage } from './protocol.js';
import type { ReplicaStore } from './replica-store.js';

export interface ApplierStats {
  batchesApplied: number;
  recordsApplied: number;
  bytesApplied: number;
  /** Messages already applied (by seq or by position), dropped without writing. */
  duplicatesIgnored: number;
  /** Messages that did not follow on (a seq or a position skipped ahead). */
  gapsDetected: number;
  /** Batches whose batch CRC or a record's CRC did not match, or that were not whole records. */
  crcFailures: number;
  resendsRequested: number;
  /** Messages dropped while waiting for the asked-for resend to begin. */
  discardedAwaitingResend: number;
  segmentsDeleted: number;
  /** Epoch ms of the last ack. */
  lastAckAt: number | undefined;
}

export type ApplierOutput = AckMessage | ResendMessage;

export interface ApplierOptions {
  logger?: Logger;
  /** Asked before each ack: false when the lock is gone and nothing more may be confirmed. */
  mayConfirm?: () => boolean;
  /** A write, sync or delete failed, or confirming was refused; the link should end. */
  onFailure?: (error: unknown) => void;
  /**
   * Told, in order, of the batches and deletions that are now durable (after the sync that made
   * them so): a replica keeps its replayed state current with it.
   */
  onDurable?: (applied: ReadonlyArray<BatchMessage | SegmentDeletedMessage>) => void;
  now?: () => number;
}

type Verdict = 'apply' | 'delete' | 'duplicate' | 'gap' | 'corrupt' | 'discard';

export class ReplicaApplier {
  readonly stats: ApplierStats = {
    batchesApplied: 0,
    recordsApplied: 0,
    bytesApplied: 0,
    duplicatesIgnored: 0,
    gapsDetected: 0,
    crcFailures: 0,
    resendsRequested: 0,
    discardedAwaitingResend: 0,
    segmentsDeleted: 0,
    lastAckAt: undefined,
  };
  private readonly logger: Logger;
  private readonly now: () => number;
  private queue: Array<BatchMessage | SegmentDeletedMessage> = [];
  private send: (m: ApplierOutput) => void = () => undefined;
  private expectedSeq = 1;
  /** After asking for a resend: the seq it will start with; everything else is dropped. */
  private awaiting: number | undefined;
  private draining: Promise<void> = Promise.resolve();
  private running = false;
  private failed = false;

  constructor(
    private readonly store: ReplicaStore,
    private readonly options: ApplierOptions = {},
  ) {
    this.logger = options.logger ?? silentLogger();
    this.now = options.now ?? Date.now;
  }

  /** A new link: numbering starts again at 1, and replies go to `send`. */
  beginLink(send: (m: ApplierOutput) => void): void {
    this.queue = [];
    this.send = send;
    this.expectedSeq = 1;
    this.awaiting = undefined;
    this.failed = false;
  }

  /** The link is gone: queued messages are dropped, replies go nowhere. */
  endLink(): void {
    this.queue = [];
    this.send = () => undefined;
  }

  receive(m: BatchMessage | SegmentDeletedMessage): void {
    if (this.failed) return;
    this.queue.push(m);
    if (!this.running) {
      this.running = true;
      this.draining = this.drain().finally(() => {
        this.running = false;
      });
    }
  }

  /** Resolves when everything received so far has been handled. */
  idle(): Promise<void> {
    return this.draining;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.failed) {
      const group = this.queue.splice(0);
      const send = this.send;
      let ackSeq: number | undefined;
      let resend = false;
      const applied: Array<BatchMessage | SegmentDeletedMessage> = [];
      try {
        for (let i = 0; i < group.length; i++) {
          const m = group[i]!;
          const verdict = this.judge(m);
          if (verdict === 'apply') {
            const batch = m as BatchMessage;
            await this.store.write(batch.position, batch.bytes, batch.observedAt);
            this.stats.batchesApplied++;
            this.stats.recordsApplied += batch.records;
            this.stats.bytesApplied += batch.bytes.length;
            applied.push(batch);
            ackSeq = this.expectedSeq++;
          } else if (verdict === 'delete') {
            // Everything before the deletion is made durable first, so the cursor never moves past
            // bytes that are not on disk.
            await this.store.sync();
            const deleted = await this.store.deleteBelow((m as SegmentDeletedMessage).below);
            this.stats.segmentsDeleted += deleted;
            if (deleted > 0) this.logger.info({ event: 'replication.segments-deleted', below: (m as SegmentDeletedMessage).below, deleted }, 'deleted segments the primary reclaimed');
            applied.push(m);
            ackSeq = this.expectedSeq++;
          } else if (verdict === 'duplicate') {
            this.stats.duplicatesIgnored++;
          } else if (verdict === 'discard') {
            this.stats.discardedAwaitingResend++;
          } else {
            // A gap or a corrupt batch: what follows it cannot be applied either.
            this.stats.discardedAwaitingResend += group.length - i - 1;
            resend = true;
            break;
          }
        }
        const durable = await this.store.sync();
        if (applied.length > 0) this.options.onDurable?.(applied);
        if (ackSeq !== undefined) {
          if (this.options.mayConfirm !== undefined && !this.options.mayConfirm()) {
            throw new Error('the replica directory lock is no longer held; nothing more is confirmed');
          }
          send({ type: 'ack', seq: ackSeq, position: durable });
          this.stats.lastAckAt = this.now();
        }
        if (resend) {
          this.awaiting = this.expectedSeq;
          this.stats.resendsRequested++;
          send({ type: 'resend', seq: this.expectedSeq, position: durable });
          this.logger.warn({ event: 'replication.resend-requested', seq: this.expectedSeq, position: formatPosition(durable) }, 'asked the sender to resend');
        }
      } catch (error) {
        this.failed = true;
        this.queue = [];
        this.options.onFailure?.(error);
      }
    }
  }

  private judge(m: BatchMessage | SegmentDeletedMessage): Verdict {
    if (this.awaiting !== undefined) {
      if (m.seq !== this.awaiting) return 'discard';
      this.awaiting = undefined;
    }
    if (m.seq < this.expectedSeq) return 'duplicate';
    if (m.seq > this.expectedSeq) return this.gap(`seq ${m.seq} arrived while ${this.expectedSeq} was expected`);
    if (m.type === 'segment-deleted') return 'delete';
    const here = this.store.position;
    const follows =
      (m.position.offset > 0 && m.position.segment === here.segment && m.position.offset === here.offset && here.offset > 0) ||
      (m.position.offset === 0 && m.position.segment === journalOffset(here));
    // A new segment may start inside the current one when a new epoch sealed it short: bytes past
    // the seal came from a fenced broker. It must open with that very seal (checked below).
    const sealedJump = m.position.offset === 0 && here.offset > 0 && m.position.segment > here.segment && m.position.segment < journalOffset(here);
    if (!follows && !sealedJump) {
      if (journalOffset(m.position) + m.bytes.length <= journalOffset(here) && journalOffset(m.position) < journalOffset(here)) {
        this.expectedSeq++;
        return 'duplicate';
      }
      return this.gap(`a batch at ${formatPosition(m.position)} arrived at ${formatPosition(here)}`);
    }
    if (crc32c(m.bytes) !== m.crc) return this.corrupt(m, 'the batch CRC does not match its bytes');
    const check = checkBatchBytes(m.position.segment, m.position.offset, m.bytes);
    if ('problem' in check) return this.corrupt(m, check.problem);
    if (check.records !== m.records) return this.corrupt(m, `the batch says ${m.records} records but holds ${check.records}`);
    if (sealedJump) {
      const seal = sealOf(m.bytes);
      if (seal === undefined || seal.segment !== here.segment || seal.segment + seal.length !== m.position.segment) {
        return this.gap(`a segment starting at ${m.position.segment}, inside segment ${here.segment}, does not open with a seal at that point`);
      }
      this.logger.warn(
        { event: 'replication.sealed-bytes-superseded', segment: here.segment, sealedAt: seal.length, held: here.offset },
        'a new epoch sealed the segment being received; the bytes past its seal are ignored from now on',
      );
    }
    return 'apply';
  }

  private gap(detail: string): Verdict {
    this.stats.gapsDetected++;
    this.logger.warn({ event: 'replication.gap', detail }, `gap on the link: ${detail}`);
    return 'gap';
  }

  private corrupt(m: BatchMessage, reason: string): Verdict {
    this.stats.crcFailures++;
    this.logger.warn({ event: 'replication.batch-corrupt', seq: m.seq, position: formatPosition(m.position), reason }, `corrupt batch: ${reason}`);
    return 'corrupt';
  }
}
