// Test harness for the core: a core over a MemoryStore with a fake clock, and sinks that record
// what they are handed. Tests only; nothing in the broker imports it.
import { MemoryStore, MemoryStoreData, silentLogger, type Logger, type MessageStore } from '@tandem-mq/shared-store';
import { createBrokerCore, type RunningCore } from '../index.js';
import {
  DEFAULT_DEAD_LETTER_POLICY,
  DEFAULT_REDELIVERY_POLICY,
  type DeadLetterPolicy,
  type RedeliveryPolicy,
} from '../policies.js';
import type { ConnectionInfo, ConnectionSink, CoreConnection, Delivery, SendRequest } from '../types.js';
import { FakeClock } from './fake-clock.js';

export class RecordingSink implements ConnectionSink {
  readonly deliveries: Delivery[] = [];
  writable = true;
  /** Turns unwritable after this many more deliveries (a socket buffer filling up). */
  fillAfter: number | undefined;

  deliver(delivery: Delivery): void {
    this.deliveries.push(delivery);
    if (this.fillAfter !== undefined && --this.fillAfter <= 0) {
      this.writable = false;
      this.fillAfter = undefined;
    }
  }

  isWritable(): boolean {
    return this.writable;
  }

  /** Returns what arrived since the last take, and forgets it. */
  take(): Delivery[] {
    return this.deliveries.splice(0, this.deliveries.length);
  }

  bodies(): string[] {
    return this.take().map((delivery) => delivery.body.toString());
  }
}

export interface Client {
  connection: CoreConnection;
  sink: RecordingSink;
}

export interface HarnessOptions {
  redelivery?: Partial<RedeliveryPolicy>;
  deadLetter?: Partial<DeadLetterPolicy>;
  data?: MemoryStoreData;
  /** Wraps the memory store (to make it fail, or watch it). */
  wrapStore?: (store: MessageStore) => MessageStore;
  clock?: FakeClock;
  /** Dispatch marks wait for store.releaseMarks() or store.failMarks() (see MemoryStoreOptions). */
  holdMarks?: boolean;
  logger?: Logger;
}

export interface Harness {
  core: RunningCore;
  store: MemoryStore;
  data: MemoryStoreData;
  clock: FakeClock;
  connect(info?: Partial<ConnectionInfo>): Client;
  /** Closes the core and store, then starts both again over the same data ("a restart"). */
  restart(): Promise<Harness>;
  stop(): Promise<void>;
}

/** No redelivery delay unless a test asks for one, so most tests need not move the clock. */
const TEST_REDELIVERY: RedeliveryPolicy = { ...DEFAULT_REDELIVERY_POLICY, initialRedeliveryDelay: 0, redeliveryDelay: 0 };

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const data = options.data ?? new MemoryStoreData();
  const clock = options.clock ?? new FakeClock();
  const store = new MemoryStore({ data, holdMarks: options.holdMarks === true });
  const recovered = await store.open();
  const core = createBrokerCore({
    store: options.wrapStore === undefined ? store : options.wrapStore(store),
    recovered,
    logger: options.logger ?? silentLogger(),
    redelivery: { ...TEST_REDELIVERY, ...options.redelivery },
    deadLetter: { ...DEFAULT_DEAD_LETTER_POLICY, ...options.deadLetter },
    now: clock.now,
    timers: clock,
    brokerId: 'test-broker',
  });
  const harness: Harness = {
    core,
    store,
    data,
    clock,
    connect(info = {}) {
      const sink = new RecordingSink();
      const connection = core.openConnection({ remoteAddress: '127.0.0.1', protocol: 'test', ...info }, sink);
      return { connection, sink };
    },
    async restart() {
      await harness.stop();
      return startHarness({ ...options, data, clock });
    },
    async stop() {
      await core.close();
      await store.close();
    },
  };
  return harness;
}

/** Lets queued microtasks and promise callbacks (store confirmations, dispatch) run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export function msg(destination: string, body: string, extra: Partial<SendRequest> = {}): SendRequest {
  return { destination, headers: {}, body: Buffer.from(body), persistent: true, ...extra };
}

/** Sends each body in order and waits for every one to be confirmed. */
export async function sendAll(client: Client, destination: string, bodies: string[], extra: Partial<SendRequest> = {}): Promise<void> {
  for (const body of bodies) await client.connection.send(msg(destination, body, extra));
  await settle();
}

/** A view of a store with some members replaced (a failing write, a recording commit). */
export function overrideStore(store: MessageStore, overrides: { [K in keyof MessageStore]?: unknown }): MessageStore {
  const view = Object.create(store) as MessageStore;
  for (const [key, value] of Object.entries(overrides)) Object.defineProperty(view, key, { value, configurable: true });
  return view;
}
