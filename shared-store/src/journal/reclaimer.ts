// The reclaimer deletes segments from the oldest end once nothing in them is live, and compacts
// an old segment that holds only a few live messages by copying them to the head first. It only
// ever deletes the oldest segment, so an ack is never lost while its message survives.
import type { Logger } from '../log.js';
import { COMPACT_LIVE_RATIO, MAX_COMPACTIONS_PER_RUN } from './constants.js';
import type { Journal } from './journal.js';
import type { MessageAddRecord } from './records/index.js';
import type { TimerHandle, Timers } from './timers.js';

/** What the reclaimer asks of the store that owns the journal's meaning. */
export interface ReclaimPolicy {
  liveIn(segment: number): number;
  messagesIn(segment: number): number;
  /** A message-add read back from `segment`: if it is still live there, append a copy to the head. */
  carryMessage(record: MessageAddRecord, segment: number): void;
  /** Append copies of what must outlive `segments`: subscriptions, producer sequences, marks, the seq watermark. */
  carryForward(segments: ReadonlySet<number>): void;
  /** The segment has been deleted. */
  forget(segment: number): void;
}

export interface ReclaimerOptions {
  intervalMs: number;
  timers: Timers;
  logger: Logger;
  compactLiveRatio?: number;
  maxCompactionsPerRun?: number;
}

export class Reclaimer {
  private chain: Promise<void> = Promise.resolve();
  private timer: TimerHandle | undefined;
  private stopped = true;

  constructor(
    private readonly journal: Journal,
    private readonly policy: ReclaimPolicy,
    private readonly options: ReclaimerOptions,
  ) {}

  start(): void {
    this.stopped = false;
    this.arm();
  }

  /** Stops the timer and waits for a pass in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.options.timers.clearTimeout(this.timer);
    this.timer = undefined;
    await this.chain.catch(() => undefined);
  }

  /** One pass now, after any pass already running. Rejects if the pass failed. */
  run(): Promise<void> {
    const pass = this.chain.catch(() => undefined).then(() => this.pass());
    this.chain = pass;
    return pass;
  }

  private arm(): void {
    if (this.stopped) return;
    this.timer = this.options.timers.setTimeout(() => {
      this.timer = undefined;
      this.run()
        .catch((err: unknown) => {
          this.options.logger.warn({ event: 'journal.reclaim-failed', err }, 'reclaimer pass failed');
        })
        .finally(() => this.arm());
    }, this.options.intervalMs);
  }

  private async pass(): Promise<void> {
    const { journal, policy } = this;
    if (journal.state !== 'open') return;
    // Every placed record written and synced: the finished segments are complete on disk.
    await journal.flushAndSync();
    const ratio = this.options.compactLiveRatio ?? COMPACT_LIVE_RATIO;
    let compactionsLeft = this.options.maxCompactionsPerRun ?? MAX_COMPACTIONS_PER_RUN;
    const doomed: number[] = [];
    for (const segment of journal.finishedSegments()) {
      let live = policy.liveIn(segment);
      if (live > 0 && compactionsLeft > 0 && live <= ratio * policy.messagesIn(segment)) {
        compactionsLeft--;
        await journal.readSegment(segment, (record) => {
          if (record.type === 'message-add') policy.carryMessage(record, segment);
        });
        live = policy.liveIn(segment);
      }
      if (live > 0) break;
      doomed.push(segment);
    }
    if (doomed.length === 0) return;
    policy.carryForward(new Set(doomed));
    // The copies must be durable before the originals go.
    await journal.flushAndSync();
    for (const segment of doomed) {
      await journal.deleteOldest(segment);
      policy.forget(segment);
    }
    this.options.logger.debug(
      { event: 'journal.reclaimed', segments: doomed.length, compactions: (this.options.maxCompactionsPerRun ?? MAX_COMPACTIONS_PER_RUN) - compactionsLeft },
      'old journal segments deleted',
    );
  }
}
