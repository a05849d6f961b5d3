// A consumer's state: its ack mode, prefetch window and the deliveries it has not acknowledged yet
// (in delivery order, which is what a cumulative client-mode ACK walks).
import type { Channel } from './channel.js';
import type { Entry } from './message.js';
import type { Outbound } from './outbound.js';
import type { Selector } from './selectors/index.js';
import type { AckMode, ConnectionSink } from './types.js';

export const DEFAULT_PREFETCH = 1000;

/** One delivery awaiting its ACK or NACK. */
export interface InFlight {
  ackId: string;
  entry: Entry;
  subscription: Subscription;
  channel: Channel;
}

/** What a channel needs from the connection a consumer lives on. */
export interface ConsumerConnection {
  readonly id: string;
  readonly sink: ConnectionSink;
  nextAckId(): string;
  /** Every unacknowledged delivery of the connection, by ack id. */
  readonly inFlight: Map<string, InFlight>;
  /** The ordered way to the sink, holding deliveries that wait for their dispatch mark. */
  readonly outbound: Outbound;
}

export interface SubscriptionOptions {
  id: string;
  connection: ConsumerConnection;
  ack: AckMode;
  prefetch: number | undefined;
  /** Evaluated at dispatch (queues); topic channels filter when the message fans out instead. */
  selector: Selector | undefined;
  channel: Channel;
}

export class Subscription {
  readonly id: string;
  readonly connection: ConsumerConnection;
  readonly ack: AckMode;
  readonly prefetch: number;
  readonly selector: Selector | undefined;
  readonly channel: Channel;
  readonly unacked = new Map<string, InFlight>();
  closed = false;

  constructor(options: SubscriptionOptions) {
    this.id = options.id;
    this.connection = options.connection;
    this.ack = options.ack;
    this.prefetch = Math.max(1, Math.trunc(options.prefetch ?? DEFAULT_PREFETCH));
    this.selector = options.selector;
    this.channel = options.channel;
  }

  /** Room in the prefetch window (auto-acked deliveries never occupy it) and a writable socket. */
  canTake(): boolean {
    return (
      !this.closed &&
      (this.ack === 'auto' || this.unacked.size < this.prefetch) &&
      this.connection.sink.isWritable()
    );
  }

  track(inFlight: InFlight): void {
    this.unacked.set(inFlight.ackId, inFlight);
    this.connection.inFlight.set(inFlight.ackId, inFlight);
  }

  untrack(inFlight: InFlight): void {
    this.unacked.delete(inFlight.ackId);
    this.connection.inFlight.delete(inFlight.ackId);
  }

  /** Oldest first; used for ACK and NACK frames that name a message by its message-id. */
  findByMessageId(messageId: string): InFlight | undefined {
    for (const inFlight of this.unacked.values()) {
      if (inFlight.entry.data.id === messageId) return inFlight;
    }
    return undefined;
  }

  /** The delivery and every earlier one still unacknowledged (a client-mode ACK is cumulative). */
  upTo(target: InFlight): InFlight[] {
    const covered: InFlight[] = [];
    for (const inFlight of this.unacked.values()) {
      covered.push(inFlight);
      if (inFlight === target) break;
    }
    return covered;
  }
}
