// The messaging core: destinations, subscriptions, dispatch, acks, transactions, redelivery, DLQ. (Being written.)
import type { Logger, MessageStore, RecoveredState } from '@tandem-mq/shared-store';
import type { BrokerCore } from './types.js';
import type { DeadLetterPolicy, RedeliveryPolicy } from './policies.js';

export interface CoreOptions {
  store: MessageStore;
  recovered: RecoveredState;
  logger: Logger;
  redelivery: RedeliveryPolicy;
  deadLetter: DeadLetterPolicy;
  /** Milliseconds since the epoch; injected so tests can move time. */
  now?: () => number;
}

export interface RunningCore extends BrokerCore {
  /** Stops timers and dispatch; connections are closed by the protocol layer first. */
  close(): Promise<void>;
}

export function createBrokerCore(options: CoreOptions): RunningCore {
  void options;
  throw new Error('the messaging core is being written');
}
