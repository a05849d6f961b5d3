// The producer side of failover: every SEND carries this client's producer id and a sequence
// number, and stays pending until its receipt. After a failover the pending ones are written
// again, in the same order and with the same numbers, so the broker can drop copies it stored.
import { randomUUID } from 'node:crypto';
import { ConnectionLostError, type StompConnection } from './connection.js';
import { clientError, FailoverClientError } from './errors.js';
import type { Frame } from './frame.js';
import type { TimerHandle, Timers } from './timers.js';

export const PRODUCER_ID_HEADER = 'tandem-producer-id';
export const PRODUCER_SEQ_HEADER = 'tandem-producer-seq';

/** A live connection and its generation; a delivery or transaction belongs to one generation. */
export interface Live {
  conn: StompConnection;
  gen: number;
}

interface PendingSend {
  destination: string;
  headers: Array<[string, string]>;
  body: Buffer;
  /** Assigned when first written, so numbers follow wire order (the broker keeps the highest seen). */
  seq: number | undefined;
  /** The generation it was last written on; a flush skips entries already written there. */
  writtenGen: number | undefined;
  resolve(): void;
  reject(error: Error): void;
  timer: TimerHandle | undefined;
}

export class Producer {
  readonly id: string = `ID:${randomUUID()}`;
  private lastSeq = 0;
  /** Insertion order is send order; numbered entries always precede unnumbered ones. */
  private readonly pending = new Set<PendingSend>();

  constructor(
    private readonly timeoutMs: number,
    private readonly timers: Timers,
  ) {}

  get pendingCount(): number {
    return this.pending.size;
  }

  /** The next sequence number, for a transactional send written at once. */
  takeSeq(): number {
    return ++this.lastSeq;
  }

  /**
   * Queues a send and writes it when `live` is given. Resolves on the broker's receipt on whichever
   * connection finally carries it; rejects after `timeout` ms when that option is set.
   */
  send(live: Live | undefined, destination: string, headers: Array<[string, string]>, body: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      const entry: PendingSend = { destination, headers, body, seq: undefined, writtenGen: undefined, resolve, reject, timer: undefined };
      if (this.timeoutMs > 0) {
        entry.timer = this.timers.setTimeout(() => {
          const fate = entry.seq === undefined
            ? 'it was never written to a broker, so it was not stored'
            : 'it was written but not confirmed, so it may or may not be stored';
          this.settle(entry, clientError('TANDEM_ERR_TIMEOUT', `send to ${destination} not confirmed within ${this.timeoutMs} ms; ${fate}`));
        }, this.timeoutMs);
      }
      this.pending.add(entry);
      if (live !== undefined) this.write(entry, live);
    });
  }

  /** After a (re)connect: writes every unconfirmed send not yet written on this connection, in order. */
  flush(live: Live): void {
    for (const entry of [...this.pending]) if (entry.writtenGen !== live.gen) this.write(entry, live);
  }

  /** Rejects everything still pending (the client failed or was closed). */
  rejectAll(error: FailoverClientError): void {
    for (const entry of [...this.pending]) this.settle(entry, error);
  }

  private write(entry: PendingSend, live: Live): void {
    if (entry.seq === undefined) entry.seq = this.takeSeq();
    entry.writtenGen = live.gen;
    live.conn.request(this.frame(entry)).then(
      () => this.settle(entry, undefined),
      (error: Error) => {
        // Lost with the connection: it stays pending and goes out again on the next one.
        if (error instanceof ConnectionLostError) return;
        this.settle(entry, error);
      },
    );
  }

  private frame(entry: PendingSend): Frame {
    return this.sendFrame(entry.destination, entry.headers, entry.body, entry.seq!, undefined);
  }

  /** A numbered SEND; `transactionId` for a send inside a transaction. */
  sendFrame(destination: string, headers: Array<[string, string]>, body: Buffer, seq: number, transactionId: string | undefined): Frame {
    const all: Array<[string, string]> = [['destination', destination], ...headers];
    if (transactionId !== undefined) all.push(['transaction', transactionId]);
    all.push([PRODUCER_ID_HEADER, this.id], [PRODUCER_SEQ_HEADER, String(seq)]);
    return { command: 'SEND', headers: all, body };
  }

  private settle(entry: PendingSend, error: Error | undefined): void {
    if (!this.pending.delete(entry)) return;
    if (entry.timer !== undefined) this.timers.clearTimeout(entry.timer);
    if (error === undefined) entry.resolve();
    else entry.reject(error);
  }
}
