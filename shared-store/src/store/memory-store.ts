// The in-memory message store: the same contract as the file store with nothing on disk. Unit
// tests of the broker use it; a "restart" is a new MemoryStore over the same MemoryStoreData.
import { StoreError, StoreErrorCodes } from '../errors.js';
import { StoreModel } from './store-model.js';
import type {
  AckOptions,
  DurableSubscriptionInfo,
  MessageStore,
  RecoveredState,
  StoreState,
  StoreStats,
  StoredMessage,
  TransactionOp,
} from './types.js';
import { durableKey } from './types.js';

/** What survives a memory store's restart. Pass the same object to the next MemoryStore. */
export class MemoryStoreData {
  readonly model = new StoreModel();
  /** True while a store over this data is open; still true at open() means the last one crashed. */
  running = false;
  appendedRecords = 0;
}

export interface MemoryStoreOptions {
  data?: MemoryStoreData;
  /**
   * Dispatch marks stay unsettled until releaseMarks() or failMarks(): for tests of callers that
   * must wait for a mark. Otherwise a mark settles one microtask after it is asked for.
   */
  holdMarks?: boolean;
}

/** Marks asked for since the last "commit", and the promise their callers wait on. */
interface MarkBatch {
  readonly done: Promise<void>;
  readonly values: Map<string, number>;
  release: () => void;
  fail: (error: unknown) => void;
}

const noop = (): void => undefined;

export class MemoryStore implements MessageStore {
  readonly data: MemoryStoreData;
  private current: StoreState = 'closed';
  private fencedBy: StoreError | undefined;
  private readonly holdMarks: boolean;
  private openMarks: MarkBatch | undefined;

  constructor(options: MemoryStoreOptions = {}) {
    this.data = options.data ?? new MemoryStoreData();
    this.holdMarks = options.holdMarks === true;
  }

  get state(): StoreState {
    return this.current;
  }

  async open(): Promise<RecoveredState> {
    if (this.current === 'open') throw closedError('the store is already open');
    const started = Date.now();
    const cleanShutdown = !this.data.running;
    this.data.running = true;
    this.current = 'open';
    this.fencedBy = undefined;
    const { model } = this.data;
    return model.toRecovered(cleanShutdown, [], {
      segments: 0,
      records: this.data.appendedRecords,
      bytes: 0,
      millis: Date.now() - started,
    });
  }

  async close(): Promise<void> {
    if (this.current !== 'open') return;
    this.current = 'closed';
    this.data.running = false;
  }

  addMessage(message: StoredMessage): Promise<void> {
    return this.mutate(() => this.data.model.addMessage(copyMessage(message), true));
  }

  /** Applied at once whatever the options: nothing here waits for a disk. */
  ack(target: string, seq: number, _options?: AckOptions): Promise<void> {
    return this.mutate(() => this.data.model.ack(target, seq));
  }

  sync(): Promise<void> {
    return this.mutate(() => undefined, false);
  }

  commit(ops: TransactionOp[]): Promise<void> {
    return this.mutate(() => {
      for (const op of ops) {
        if (op.op === 'add') this.data.model.addMessage(copyMessage(op.message), true);
        else this.data.model.ack(op.target, op.seq);
      }
      this.data.appendedRecords += ops.length + 1;
    });
  }

  addDurableSubscription(info: DurableSubscriptionInfo): Promise<void> {
    return this.mutate(() => this.data.model.addDurable({ ...info }));
  }

  removeDurableSubscription(clientId: string, name: string): Promise<void> {
    return this.mutate(() => {
      this.data.model.removeDurable(clientId, name);
      this.openMarks?.values.delete(durableKey(clientId, name));
    });
  }

  /** The model's marks are the settled ones; asked-for marks join one batch until it settles. */
  markDispatched(target: string, seq: number): Promise<void> | undefined {
    const model = this.data.model;
    if (seq <= (model.marks.get(target) ?? 0)) return undefined;
    if (this.current !== 'open') {
      const refused = Promise.reject(closedError('the store is not open'));
      refused.catch(noop);
      return refused;
    }
    const batch = (this.openMarks ??= this.newMarkBatch());
    if (seq > (batch.values.get(target) ?? 0)) batch.values.set(target, Math.max(seq, model.nextSeq - 1));
    return batch.done;
  }

  fence(reason: string): void {
    if (this.current !== 'open' || this.fencedBy !== undefined) return;
    this.fencedBy = new StoreError(StoreErrorCodes.FENCED, `fenced: ${reason}; this broker no longer owns the journal`);
    this.current = 'failed';
    this.openMarks?.fail(this.fencedBy);
  }

  /** With holdMarks: settles every mark asked for so far. */
  releaseMarks(): void {
    this.openMarks?.release();
  }

  /** With holdMarks: rejects every mark asked for so far, as a failed journal would. */
  failMarks(error: unknown): void {
    this.openMarks?.fail(error);
  }

  async reclaim(): Promise<void> {
    if (this.current !== 'open') throw closedError('the store is not open');
  }

  stats(): StoreStats {
    return {
      state: this.current,
      mode: 'durability',
      segments: 0,
      bytes: 0,
      liveMessages: this.data.model.messages.size,
      appendedRecords: this.data.appendedRecords,
      syncs: 0,
    };
  }

  private newMarkBatch(): MarkBatch {
    let release = noop;
    let fail: (error: unknown) => void = noop;
    const committed = this.holdMarks
      ? new Promise<void>((resolve, reject) => {
          release = resolve;
          fail = reject;
        })
      : Promise.resolve();
    const values = new Map<string, number>();
    // Registered now, so the marks settle before anything asked for later resumes (a sender's add).
    const done = committed.then(
      () => {
        if (this.openMarks === batch) this.openMarks = undefined;
        for (const [target, value] of values) this.data.model.mark(target, value);
      },
      (error: unknown) => {
        if (this.openMarks === batch) this.openMarks = undefined;
        throw error;
      },
    );
    done.catch(noop);
    const batch: MarkBatch = { done, values, release: () => release(), fail: (error) => fail(error) };
    return batch;
  }

  /** Applies at call time, so the order of calls is the order of effects, like the journal. */
  private mutate(apply: () => unknown, appends = true): Promise<void> {
    if (this.fencedBy !== undefined) return Promise.reject(this.fencedBy);
    if (this.current !== 'open') return Promise.reject(closedError('the store is not open'));
    apply();
    if (appends) this.data.appendedRecords += 1;
    return Promise.resolve();
  }
}

function closedError(message: string): StoreError {
  return new StoreError(StoreErrorCodes.JOURNAL_CLOSED, message);
}

/** Callers may reuse their objects; the store keeps its own copy of the envelope. */
function copyMessage(message: StoredMessage): StoredMessage {
  return { ...message, headers: { ...message.headers }, targets: [...message.targets] };
}
