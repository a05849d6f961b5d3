// A failover-client consumer that ACKs every message on its own (client-individual) and keeps the
// ledger the no-loss, no-duplicate checks read: each body's deliveries, and when its ACK was
// confirmed. An ACK lost with its connection (TANDEM_ERR_DELIVERY_STALE) is in doubt, not a
// failure: the broker may have stored it (the message is then gone) or not (it comes again).
import type { FailoverClient, FailoverClientError, Message } from '@tandem-mq/failover-client';

export interface Delivery {
  messageId: string;
  /** Its ACK had been confirmed before this delivery came. */
  afterConfirmedAck: boolean;
}

export interface AckLedgerOptions {
  /** An ACK that failed other than in doubt. */
  onAckFailure: (body: string, error: FailoverClientError) => void;
  /** The name a message body is kept under; the whole text by default. */
  bodyOf?: (text: string) => string;
}

export class AckLedger {
  readonly deliveries = new Map<string, Delivery[]>();
  /** When each body's first ACK was confirmed (epoch ms). */
  readonly confirmedAcks = new Map<string, number>();
  /** ACKs sent and not yet answered. */
  unsettled = 0;

  private constructor(private readonly options: AckLedgerOptions) {}

  static async subscribe(consumer: FailoverClient, queue: string, options: AckLedgerOptions): Promise<AckLedger> {
    const ledger = new AckLedger(options);
    await consumer.subscribe(queue, (message) => ledger.onMessage(message), { ack: 'client-individual' });
    return ledger;
  }

  /** Bodies delivered under more than one message-id: a resend stored as a second message. */
  storedTwice(): string[] {
    return [...this.deliveries].filter(([, list]) => new Set(list.map((d) => d.messageId)).size > 1).map(([body]) => body);
  }

  /** Bodies delivered again after their ACK was confirmed. */
  afterAck(): string[] {
    return [...this.deliveries].filter(([, list]) => list.some((d) => d.afterConfirmedAck)).map(([body]) => body);
  }

  /** Deliveries beyond the first of each body. */
  redeliveries(): number {
    return [...this.deliveries.values()].reduce((n, list) => n + list.length - 1, 0);
  }

  private onMessage(message: Message): void {
    const body = this.options.bodyOf?.(message.text()) ?? message.text();
    const list = this.deliveries.get(body) ?? [];
    list.push({ messageId: message.messageId, afterConfirmedAck: this.confirmedAcks.has(body) });
    this.deliveries.set(body, list);
    this.unsettled++;
    message.ack().then(
      () => {
        this.unsettled--;
        if (!this.confirmedAcks.has(body)) this.confirmedAcks.set(body, Date.now());
      },
      (error: FailoverClientError) => {
        this.unsettled--;
        if (error.code !== 'TANDEM_ERR_DELIVERY_STALE') this.options.onAckFailure(body, error);
      },
    );
  }
}
