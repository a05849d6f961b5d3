// Subscriptions the client keeps across failovers: each is re-sent on every new connection (a
// durable one by its name, under the same client-id), and each MESSAGE is handed to its handler
// stamped with the generation of the connection that delivered it.
import { clientError, type FailoverClientError } from './errors.js';
import { header, type Frame } from './frame.js';

export type AckMode = 'auto' | 'client' | 'client-individual';

export interface SubscribeOptions {
  /** STOMP ack mode; 'auto' (the STOMP default) needs no ACK, so a failover can lose what was in flight. */
  ack?: AckMode;
  /** A JMS selector (`selector` header). */
  selector?: string;
  /** `activemq.prefetchSize`. */
  prefetch?: number;
  /** `activemq.subscriptionName`: a durable topic subscription; needs the client's `clientId`. */
  durableName?: string;
  /** Further SUBSCRIBE headers. */
  headers?: Record<string, string>;
}

/** What a handler receives. */
export interface Message {
  destination: string;
  messageId: string;
  /** The subscription id this client gave. */
  subscription: string;
  /** True when the broker delivered it before (for example on a connection lost before the ACK). */
  redelivered: boolean;
  headers: Record<string, string>;
  body: Buffer;
  /** The body as UTF-8 text. */
  text(): string;
  /**
   * ACK, resolved on the broker's receipt. Rejects with TANDEM_ERR_DELIVERY_STALE when the
   * connection that delivered it is gone: the broker will deliver it again, flagged redelivered.
   * In 'auto' mode it resolves at once (nothing to acknowledge).
   */
  ack(): Promise<void>;
  /** NACK, with the same rules as ack(). */
  nack(): Promise<void>;
}

export type MessageHandler = (message: Message) => void | Promise<void>;

/** What a received message needs from the client to acknowledge itself. */
export interface Acknowledger {
  acknowledge(delivery: Delivery, command: 'ACK' | 'NACK', transactionId: string | undefined): Promise<void>;
}

/** A message plus the facts needed to acknowledge it on the right connection. */
export interface Delivery {
  message: Message;
  /** The STOMP 1.2 `ack` header to echo in ACK/NACK's `id`. */
  ackId: string;
  ackMode: AckMode;
  /** The connection generation that delivered it. */
  gen: number;
}

export class SubscriptionRecord {
  /** True once a SUBSCRIBE for it has been confirmed on some connection; only then is it restored. */
  confirmed = false;
  /** The connection generation its first SUBSCRIBE went out on. */
  sentOnGen: number | undefined;

  constructor(
    readonly id: string,
    readonly destination: string,
    readonly options: SubscribeOptions,
    readonly handler: MessageHandler,
  ) {}

  get ackMode(): AckMode {
    return this.options.ack ?? 'auto';
  }

  subscribeFrame(): Frame {
    const headers: Array<[string, string]> = [
      ['id', this.id],
      ['destination', this.destination],
      ['ack', this.ackMode],
    ];
    const o = this.options;
    if (o.selector !== undefined) headers.push(['selector', o.selector]);
    if (o.prefetch !== undefined) headers.push(['activemq.prefetchSize', String(o.prefetch)]);
    if (o.durableName !== undefined) headers.push(['activemq.subscriptionName', o.durableName]);
    for (const [name, value] of Object.entries(o.headers ?? {})) {
      if (!headers.some(([n]) => n === name) && name !== 'receipt') headers.push([name, value]);
    }
    return { command: 'SUBSCRIBE', headers, body: Buffer.alloc(0) };
  }

  /** UNSUBSCRIBE; with `removeDurable` it also names the durable subscription, which deletes it. */
  unsubscribeFrame(removeDurable: boolean): Frame {
    const headers: Array<[string, string]> = [['id', this.id]];
    if (removeDurable && this.options.durableName !== undefined) headers.push(['activemq.subscriptionName', this.options.durableName]);
    return { command: 'UNSUBSCRIBE', headers, body: Buffer.alloc(0) };
  }
}

/** Builds the Delivery for a MESSAGE frame; undefined when it lacks what STOMP 1.2 requires. */
export function toDelivery(frame: Frame, record: SubscriptionRecord, gen: number, acknowledger: Acknowledger): Delivery | undefined {
  const messageId = header(frame, 'message-id');
  const ackId = header(frame, 'ack') ?? messageId;
  if (messageId === undefined || ackId === undefined) return undefined;
  const headers: Record<string, string> = {};
  for (const [name, value] of frame.headers) if (!Object.hasOwn(headers, name)) headers[name] = value;
  const delivery: Delivery = {
    ackId,
    ackMode: record.ackMode,
    gen,
    message: {
      destination: header(frame, 'destination') ?? record.destination,
      messageId,
      subscription: record.id,
      redelivered: header(frame, 'redelivered') === 'true',
      headers,
      body: frame.body,
      text: () => frame.body.toString('utf8'),
      ack: () => acknowledger.acknowledge(delivery, 'ACK', undefined),
      nack: () => acknowledger.acknowledge(delivery, 'NACK', undefined),
    },
  };
  return delivery;
}

/** What a Subscription handle needs from the client. */
export interface Unsubscriber {
  unsubscribe(record: SubscriptionRecord, removeDurable: boolean): Promise<void>;
}

/** A subscription handle, as subscribe() returns it. */
export class Subscription {
  constructor(
    private readonly client: Unsubscriber,
    readonly record: SubscriptionRecord,
  ) {}

  get id(): string {
    return this.record.id;
  }

  /** Stops delivery. With `removeDurable`, also deletes the durable subscription on the broker. */
  unsubscribe(options: { removeDurable?: boolean } = {}): Promise<void> {
    return this.client.unsubscribe(this.record, options.removeDurable === true);
  }
}

/** ACK or NACK naming the delivery's STOMP 1.2 `ack` id. */
export function ackFrame(delivery: Delivery, command: 'ACK' | 'NACK', transactionId: string | undefined): Frame {
  const headers: Array<[string, string]> = [['id', delivery.ackId]];
  if (transactionId !== undefined) headers.push(['transaction', transactionId]);
  return { command, headers, body: Buffer.alloc(0) };
}

export function staleDelivery(delivery: Delivery): FailoverClientError {
  return clientError(
    'TANDEM_ERR_DELIVERY_STALE',
    `message ${delivery.message.messageId} came on a connection that is gone; the broker will deliver it again (redelivered)`,
  );
}
