// The file store's dispatch marks: which are settled, which ride a batch not yet committed, and
// the promise a caller waits on before it may hand a message to a client (see markDispatched()).
// A mark needs no fdatasync of its own: it is appended with `sync: false`, settles once written,
// and is made durable by the next fdatasync the journal runs anyway.
import type { Journal } from '../journal/journal.js';
import type { SegmentLedger } from './segment-ledger.js';

const noop = (): void => undefined;
const LAZY = { sync: false } as const;

/** The marks one group-commit batch carries. */
interface MarkBatch {
  /** Settles after the batch is committed and `values` are recorded as settled. */
  done: Promise<void>;
  /** The mark each target gets from this batch. */
  readonly values: Map<string, number>;
  /** What is in the batch already; a higher value in `values` is appended when it is sealed. */
  readonly appended: Map<string, number>;
  /** Set when a value could not be appended: the batch must not claim it. */
  refused?: unknown;
}

export class DispatchMarks {
  private readonly settled = new Map<string, number>();
  /** The batch still taking marks; sealed by the journal's beforeSeal hook. */
  private open: MarkBatch | undefined;
  /** Sealed batches waiting for their commit (at most two: one written, one just sealed). */
  private readonly sealed = new Set<MarkBatch>();
  private ledger: SegmentLedger | undefined;

  constructor(private readonly journal: Journal) {}

  /** After recovery: the marks on disk are settled, and nothing is pending. */
  reset(ledger: SegmentLedger): void {
    this.ledger = ledger;
    this.settled.clear();
    for (const [target, pinned] of ledger.marks) this.settled.set(target, pinned.value);
    this.open = undefined;
    this.sealed.clear();
  }

  request(target: string, seq: number, highestSeq: number): Promise<void> | undefined {
    if (seq <= (this.settled.get(target) ?? 0)) return undefined;
    for (const batch of this.sealed) if (seq <= (batch.values.get(target) ?? 0)) return batch.done;
    const value = Math.max(seq, highestSeq);
    const open = this.open;
    if (open !== undefined) {
      if (seq > (open.values.get(target) ?? 0)) open.values.set(target, value);
      return open.done;
    }
    // The first mark of a batch is appended at once, so its settle step is the first callback on
    // that batch: whoever waits on a later append to the same batch (a sender's addMessage) finds
    // the mark settled when it resumes. Later marks coalesce and are appended at seal.
    const appended = this.journal.append({ type: 'dispatch-mark', target, seq: value }, LAZY);
    const segment = this.journal.lastPlaced;
    if (segment === undefined) {
      appended.catch(noop);
      return appended; // refused: the store is closed or failed
    }
    this.ledger?.marked(target, value, segment);
    const batch: MarkBatch = { done: appended, values: new Map([[target, value]]), appended: new Map([[target, value]]) };
    batch.done = appended.then(
      () => this.settle(batch),
      (error: unknown) => {
        this.discard(batch);
        throw error;
      },
    );
    // Callers that do not wait (a sender's pre-mark) must not turn a failure into an unhandled rejection.
    batch.done.catch(noop);
    this.open = batch;
    return batch.done;
  }

  /** The journal's beforeSeal hook (and close): appends the raised values into the batch being sealed. */
  seal(): void {
    const batch = this.open;
    if (batch === undefined) return;
    this.open = undefined;
    this.sealed.add(batch);
    for (const [target, value] of batch.values) {
      if (value <= (batch.appended.get(target) ?? 0)) continue;
      const appended = this.journal.append({ type: 'dispatch-mark', target, seq: value }, LAZY);
      appended.catch(noop);
      const segment = this.journal.lastPlaced;
      if (segment === undefined) {
        batch.refused = appended;
        continue;
      }
      batch.appended.set(target, value);
      this.ledger?.marked(target, value, segment);
    }
  }

  /** A durable subscription is removed: its marks go with it, also those not yet committed. */
  forget(target: string): void {
    this.settled.delete(target);
    for (const batch of [this.open, ...this.sealed]) {
      batch?.values.delete(target);
      batch?.appended.delete(target);
    }
  }

  private settle(batch: MarkBatch): Promise<void> | undefined {
    this.discard(batch);
    if (batch.refused !== undefined) return batch.refused as Promise<void>;
    for (const [target, value] of batch.values) {
      if (value > (this.settled.get(target) ?? 0)) this.settled.set(target, value);
    }
    return undefined;
  }

  private discard(batch: MarkBatch): void {
    this.sealed.delete(batch);
    if (this.open === batch) this.open = undefined;
  }
}
