// A STOMP transaction (BEGIN, SEND/ACK/NACK with `transaction`, COMMIT or ABORT) bound to the
// connection it began on. A failover rolls it back on the broker, so it fails with a clear code
// and the application runs it again; nothing of it is resent behind the application's back.
import { ConnectionLostError } from './connection.js';
import { clientError, type FailoverClientError } from './errors.js';
import type { Frame } from './frame.js';
import { bodyBytes, sendHeaders, type SendOptions } from './outgoing.js';
import type { Live, Producer } from './producer.js';
import type { Message } from './subscriptions.js';

export interface TransactionHost {
  /** The connection the client is using now (live or being restored), if any. */
  current(): Live | undefined;
  readonly producer: Producer;
  /** ACK/NACK for a message of this client; undefined when its mode needs none; throws when stale. */
  ackFrame(message: Message, command: 'ACK' | 'NACK', transactionId: string, gen: number): Frame | undefined;
  finished(transaction: Transaction): void;
}

type TxState = 'open' | 'committing' | 'committed' | 'aborted' | 'rolled-back';
type RequestKind = 'operation' | 'commit' | 'abort';

const EMPTY = Buffer.alloc(0);

export class Transaction {
  private state: TxState = 'open';
  private lostReason = 'failover';

  constructor(
    private readonly host: TransactionHost,
    readonly id: string,
    private readonly gen: number,
  ) {}

  /** True from BEGIN until COMMIT, ABORT or a failover ends it. */
  get open(): boolean {
    return this.state === 'open';
  }

  /** BEGIN; called by the client. */
  begin(): Promise<void> {
    return this.request({ command: 'BEGIN', headers: [['transaction', this.id]], body: EMPTY }, 'operation');
  }

  /** SEND inside the transaction; resolves on the receipt (the broker holds it until COMMIT). */
  send(destination: string, body: string | Uint8Array, options: SendOptions = {}): Promise<void> {
    const failure = this.unusable();
    if (failure !== undefined) return Promise.reject(failure);
    const producer = this.host.producer;
    const frame = producer.sendFrame(destination, sendHeaders(body, options), bodyBytes(body), producer.takeSeq(), this.id);
    return this.request(frame, 'operation');
  }

  /** ACK inside the transaction: the message counts as consumed only if COMMIT succeeds. */
  ack(message: Message): Promise<void> {
    return this.acknowledge(message, 'ACK');
  }

  nack(message: Message): Promise<void> {
    return this.acknowledge(message, 'NACK');
  }

  /**
   * COMMIT. Rejects with TANDEM_ERR_TRANSACTION_ROLLED_BACK when a failover already ended the
   * transaction (run it again), and with TANDEM_ERR_TRANSACTION_IN_DOUBT when the connection was
   * lost after COMMIT was written but before its receipt.
   */
  async commit(): Promise<void> {
    const failure = this.unusable();
    if (failure !== undefined) throw failure;
    this.state = 'committing';
    try {
      await this.request({ command: 'COMMIT', headers: [['transaction', this.id]], body: EMPTY }, 'commit');
      this.state = 'committed';
    } finally {
      this.host.finished(this);
    }
  }

  /** ABORT. After a failover the broker has already rolled it back, so it resolves. */
  async abort(): Promise<void> {
    if (this.state === 'rolled-back' || this.state === 'aborted') return;
    const failure = this.unusable();
    if (failure !== undefined) throw failure;
    this.state = 'aborted';
    this.host.finished(this);
    try {
      await this.request({ command: 'ABORT', headers: [['transaction', this.id]], body: EMPTY }, 'abort');
    } catch (error) {
      if (!(error instanceof ConnectionLostError)) throw error;
    }
  }

  /** The connection carrying the transaction is gone: the broker has rolled it back. */
  connectionLost(reason: string): void {
    this.lostReason = reason;
    if (this.state === 'open') this.state = 'rolled-back';
  }

  private acknowledge(message: Message, command: 'ACK' | 'NACK'): Promise<void> {
    const failure = this.unusable();
    if (failure !== undefined) return Promise.reject(failure);
    let frame: Frame | undefined;
    try {
      frame = this.host.ackFrame(message, command, this.id, this.gen);
    } catch (error) {
      return Promise.reject(error);
    }
    return frame === undefined ? Promise.resolve() : this.request(frame, 'operation');
  }

  private unusable(): FailoverClientError | undefined {
    if (this.state === 'rolled-back') return this.rolledBack();
    if (this.state !== 'open') return clientError('TANDEM_ERR_TRANSACTION_FINISHED', `transaction ${this.id} is already ${this.state}`);
    return undefined;
  }

  private rolledBack(): FailoverClientError {
    return clientError(
      'TANDEM_ERR_TRANSACTION_ROLLED_BACK',
      `transaction ${this.id} was rolled back because its connection was lost (${this.lostReason}); run it again`,
    );
  }

  /** Maps every way a request can fail to what it means for the transaction. */
  private async request(frame: Frame, kind: RequestKind): Promise<void> {
    const current = this.host.current();
    if (current === undefined || current.gen !== this.gen) {
      // Nothing was written: the broker rolled the transaction back with the old connection.
      if (kind === 'abort') throw new ConnectionLostError('the connection changed');
      this.state = 'rolled-back';
      throw this.rolledBack();
    }
    try {
      await current.conn.request(frame);
    } catch (error) {
      if (kind === 'abort') throw error;
      this.state = 'rolled-back';
      if (!(error instanceof ConnectionLostError)) throw error; // ERROR from the broker, which then closes the connection.
      this.lostReason = error.reason;
      if (kind === 'commit') {
        throw clientError(
          'TANDEM_ERR_TRANSACTION_IN_DOUBT',
          `the connection was lost after COMMIT of ${this.id} was sent and before its receipt (${error.reason}); it may or may not have been committed`,
        );
      }
      throw this.rolledBack();
    }
  }
}
