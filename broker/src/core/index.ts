// The messaging core: destinations, subscriptions, dispatch, acks, transactions, redelivery and
// the dead-letter queue, behind the BrokerCore contract the protocol sessions use.
import { randomUUID } from 'node:crypto';
import type { Logger, MessageStore, RecoveredState } from '@tandem-mq/shared-store';
import { Connection } from './connection.js';
import { zeroCounters, type CoreContext, type CoreCounters } from './context.js';
import { parseDestination } from './destination.js';
import { DispatchScheduler } from './dispatcher.js';
import { DEFAULT_EXPIRY_SWEEP_MS, startExpirySweep, sweepExpired } from './expiry.js';
import type { DeadLetterPolicy, RedeliveryPolicy } from './policies.js';
import { restoreState } from './recovery.js';
import { DestinationRegistry } from './registry.js';
import { Router } from './router.js';
import { compileSelector, type Selector } from './selectors/index.js';
import { destinationStats } from './stats.js';
import { systemTimers, type Timers } from './timers.js';
import type { BrokerCore, ConnectionInfo, ConnectionSink, CoreConnection, DestinationStats } from './types.js';

export type { CoreCounters } from './context.js';
export type { Timers } from './timers.js';
export { parseDestination } from './destination.js';
export type { Destination } from './destination.js';
export { deadLetterQueueFor, ORIGINAL_DESTINATION_HEADER, FAILURE_CAUSE_HEADER } from './dead-letter.js';
export { redeliveryDelay } from './redelivery.js';

export interface CoreOptions {
  store: MessageStore;
  recovered: RecoveredState;
  logger: Logger;
  redelivery: RedeliveryPolicy;
  deadLetter: DeadLetterPolicy;
  /** Milliseconds since the epoch; injected so tests can move time. */
  now?: () => number;
  /** Timers for redelivery delays and the expiry sweep; Node's by default. */
  timers?: Timers;
  /** How often expired messages nobody consumes are swept; default 1000 ms. */
  expirySweepIntervalMs?: number;
  /** The broker's id in message ids (`ID:<brokerId>-<seq>`); a fresh UUID by default. */
  brokerId?: string;
  /** Replaces the JMS selector compiler (tests). */
  compileSelector?: (text: string) => Selector;
}

export interface RunningCore extends BrokerCore {
  /** Stops timers and dispatch; connections are closed by the protocol layer first. */
  close(): Promise<void>;
  /** Totals for metrics. */
  counters(): Readonly<CoreCounters>;
  /** Runs the expiry sweep now (it also runs on its timer). */
  sweepExpired(): void;
}

export function createBrokerCore(options: CoreOptions): RunningCore {
  const brokerId = options.brokerId ?? randomUUID();
  // Connection ids start with 8 hex digits of this run, so temporary destination names of a
  // previous run (or another broker) are never mistaken for live ones after a failover.
  const runTag = randomUUID().slice(0, 8);
  const registry = new DestinationRegistry();
  const counters = zeroCounters();
  const scheduler = new DispatchScheduler((error, channel) => {
    options.logger.error({ event: 'core.dispatch-failed', destination: channel.name, err: error }, 'dispatch failed on a destination');
  });
  let seq = Math.max(1, options.recovered.nextSeq);
  const ctx: CoreContext = {
    store: options.store,
    logger: options.logger,
    now: options.now ?? Date.now,
    timers: options.timers ?? systemTimers,
    redelivery: options.redelivery,
    deadLetter: options.deadLetter,
    counters,
    compileSelector: options.compileSelector ?? compileSelector,
    nextSeq: () => seq++,
    schedule: (channel) => scheduler.schedule(channel),
    queue: (name) => registry.queue(parseDestination(name)),
  };
  registry.attach(ctx);
  const router = new Router(ctx, registry, `ID:${brokerId}-`, options.recovered.producerSeqs);
  restoreState(ctx, registry, options.recovered);

  const connections = new Set<Connection>();
  let connectionSeq = 0;
  let running = true;
  const stopSweep = startExpirySweep(ctx, () => registry.channels(), options.expirySweepIntervalMs ?? DEFAULT_EXPIRY_SWEEP_MS);

  return {
    openConnection(info: ConnectionInfo, sink: ConnectionSink): CoreConnection {
      const connection = new Connection(`${runTag}-${++connectionSeq}`, info, sink, {
        ctx,
        registry,
        router,
        onClose: (closed) => {
          if (connections.delete(closed)) counters.connections--;
        },
      });
      if (running) {
        connections.add(connection);
        counters.connections++;
        counters.connectionsOpened++;
      } else {
        connection.close();
      }
      return connection;
    },
    destinations(): DestinationStats[] {
      return destinationStats(registry);
    },
    counters(): Readonly<CoreCounters> {
      return { ...counters };
    },
    sweepExpired(): void {
      sweepExpired(ctx, registry.channels());
    },
    async close(): Promise<void> {
      if (!running) return;
      running = false;
      stopSweep();
      for (const connection of [...connections]) connection.close();
      scheduler.stop();
      for (const channel of registry.channels()) channel.close();
    },
  };
}
