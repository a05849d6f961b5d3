// What every part of the core shares: the store, policies, time, counters, the seq allocator and
// the dispatch scheduler. One object, built once by createBrokerCore.
import type { Logger, MessageStore } from '@tandem-mq/shared-store';
import type { Channel } from './channel.js';
import type { DeadLetterPolicy, RedeliveryPolicy } from './policies.js';
import type { Selector } from './selectors/index.js';
import type { Timers } from './timers.js';

/** Totals since start, for metrics. */
export interface CoreCounters {
  /** Messages accepted by send (after storage when persistent), counted once per send. */
  enqueued: number;
  /** Deliveries acknowledged (auto-acked ones when handed to the socket). */
  dequeued: number;
  expired: number;
  deadLettered: number;
  /** Sends dropped as copies of a producer sequence already seen. */
  duplicatesDropped: number;
  /** Connections open now. */
  connections: number;
  /** Connections opened since start. */
  connectionsOpened: number;
}

export function zeroCounters(): CoreCounters {
  return {
    enqueued: 0,
    dequeued: 0,
    expired: 0,
    deadLettered: 0,
    duplicatesDropped: 0,
    connections: 0,
    connectionsOpened: 0,
  };
}

export interface CoreContext {
  readonly store: MessageStore;
  readonly logger: Logger;
  readonly now: () => number;
  readonly timers: Timers;
  readonly redelivery: RedeliveryPolicy;
  readonly deadLetter: DeadLetterPolicy;
  readonly counters: CoreCounters;
  readonly compileSelector: (text: string) => Selector;
  /** The next message seq: strictly increasing over the broker's life. */
  nextSeq(): number;
  /** Marks a channel for a dispatch pass, run once per microtask however often it is marked. */
  schedule(channel: Channel): void;
  /** The queue of that canonical name, created on first use (dead-letter queues arrive this way). */
  queue(name: string): Channel;
}
