// The failover client: connects through an ActiveMQ-style failover URI, and on a lost connection
// reconnects through the endpoint pool with back-off, restores subscriptions, resends unconfirmed
// sends and rolls back open transactions, reporting each step as a typed status event.
import { reconnectDelay, type BackoffOptions } from './backoff.js';
import { ConnectionLostError, StompConnection, type ConnectionOptions } from './connection.js';
import { CLOSE_TIMEOUT_DEFAULT, connectionOptions, type ClientOptions } from './client-options.js';
import { EndpointPool } from './endpoint-pool.js';
import { clientError, FailoverClientError } from './errors.js';
import { header, type Frame } from './frame.js';
import { bodyBytes, sendHeaders, type SendOptions } from './outgoing.js';
import { Producer, type Live } from './producer.js';
import { StatusEmitter, type Status, type StatusListener } from './status.js';
import {
  ackFrame,
  staleDelivery,
  Subscription,
  SubscriptionRecord,
  toDelivery,
  type Acknowledger,
  type Delivery,
  type Message,
  type MessageHandler,
  type SubscribeOptions,
} from './subscriptions.js';
import { PriorityProbe } from './priority-probe.js';
import { sleep, systemTimers, withTimeout, type Timers } from './timers.js';
import { Transaction, type TransactionHost } from './transaction.js';
import { parseConnectionUri, type ConnectionUri, type Endpoint } from './uri.js';

export type { ClientOptions };

type Phase = 'idle' | 'connecting' | 'live' | 'reconnecting' | 'closing' | 'closed' | 'failed';

export class FailoverClient implements Acknowledger {
  readonly uri: ConnectionUri;
  private phase: Phase = 'idle';
  /** The connection in use, from CONNECTED (while subscriptions are restored) until it is lost. */
  private currentConn: Live | undefined;
  /** Set once the current connection is fully restored; operations are written only then. */
  private live: Live | undefined;
  private gen = 0;
  private readonly pool: EndpointPool;
  private readonly producer: Producer;
  private readonly subs = new Map<string, SubscriptionRecord>();
  private readonly txs = new Set<Transaction>();
  private readonly deliveries = new WeakMap<Message, Delivery>();
  private readonly statusEmitter = new StatusEmitter();
  private liveWaiters: Array<{ resolve(live: Live): void; reject(error: Error): void }> = [];
  private readonly stopController = new AbortController();
  private firstConnect: { resolve(): void; reject(error: Error): void } | undefined;
  private finalError: FailoverClientError | undefined;
  private readonly probe: PriorityProbe;
  private nextId = 1;
  private readonly timers: Timers;
  private readonly random: () => number;
  private readonly backoff: BackoffOptions;
  private readonly transactionHost: TransactionHost;

  constructor(uri: string | ConnectionUri, private readonly options: ClientOptions = {}) {
    this.uri = typeof uri === 'string' ? parseConnectionUri(uri) : uri;
    this.timers = options.timers ?? systemTimers;
    this.random = options.random ?? Math.random;
    const o = this.uri.options;
    this.pool = new EndpointPool(this.uri.endpoints, o, this.random);
    this.producer = new Producer(o.timeout, this.timers);
    this.backoff = { ...o, jitter: options.jitter ?? 0.2 };
    this.transactionHost = {
      current: () => this.currentConn,
      producer: this.producer,
      ackFrame: (message, command, transactionId, gen) => {
        const delivery = this.deliveries.get(message);
        if (delivery === undefined) throw new TypeError('the message was not received by this client');
        if (delivery.ackMode === 'auto') return undefined;
        if (delivery.gen !== gen) throw staleDelivery(delivery);
        return ackFrame(delivery, command, transactionId);
      },
      finished: (tx) => this.txs.delete(tx),
    };
    this.probe = new PriorityProbe(this.pool, this.backoff, this.random, this.timers, {
      live: () => this.live,
      // Without client-id: a broker may allow one connection per client id.
      open: (endpoint) => StompConnection.open(endpoint, this.connectionOptions(false), this.stopController.signal),
      busy: () => this.txs.size > 0,
      switchTo: (live, endpoint) => this.switchTo(live, endpoint),
      closeTimeout: options.closeTimeout ?? CLOSE_TIMEOUT_DEFAULT,
    });
  }

  /** The producer id every SEND carries in `tandem-producer-id`. */
  get producerId(): string {
    return this.producer.id;
  }

  /** The endpoint of the live connection, if any. */
  get endpoint(): string | undefined {
    return this.live?.conn.endpoint.uri;
  }

  get connected(): boolean {
    return this.live !== undefined;
  }

  /** Adds a status listener; returns the function that removes it. */
  onStatus(listener: StatusListener): () => void {
    return this.statusEmitter.on(listener);
  }

  /** Status events as an async iterator, ending after 'failed' or 'closed'. */
  statuses(): AsyncIterableIterator<Status> {
    return this.statusEmitter.iterate();
  }

  /**
   * Connects to the first endpoint that answers, retrying passes over the list as
   * startupMaxReconnectAttempts (or maxReconnectAttempts) allows; rejects with
   * TANDEM_ERR_CONNECTION_FAILED when they run out.
   */
  connect(): Promise<void> {
    if (this.phase !== 'idle') return Promise.reject(clientError('TANDEM_ERR_CLIENT_CLOSED', `connect() was already called (the client is ${this.phase})`));
    this.phase = 'connecting';
    return new Promise((resolve, reject) => {
      this.firstConnect = { resolve, reject };
      void this.connectLoop(true, undefined);
    });
  }

  /**
   * SEND, resolved on the broker's receipt. While no connection is up it waits (forever unless
   * the URI sets `timeout`); after a failover it is resent with the same producer sequence.
   */
  send(destination: string, body: string | Uint8Array, options: SendOptions = {}): Promise<void> {
    const refused = this.refusal();
    if (refused !== undefined) return Promise.reject(refused);
    return this.producer.send(this.live, destination, sendHeaders(body, options), bodyBytes(body));
  }

  /** SUBSCRIBE, resolved once the broker confirms it; restored on every reconnect. */
  async subscribe(destination: string, handler: MessageHandler, options: SubscribeOptions = {}): Promise<Subscription> {
    const refused = this.refusal();
    if (refused !== undefined) throw refused;
    if (options.durableName !== undefined && this.options.clientId === undefined) {
      throw clientError('TANDEM_ERR_CLIENT_ID_REQUIRED', `durable subscription '${options.durableName}' needs the clientId client option`);
    }
    const record = new SubscriptionRecord(`sub-${this.nextId++}`, destination, options, handler);
    this.subs.set(record.id, record);
    try {
      await this.bounded(this.confirm(record), `subscribe to ${destination}`);
    } catch (error) {
      this.subs.delete(record.id);
      // A SUBSCRIBE still waiting for its receipt on the live connection is withdrawn; the
      // broker knows no other (and an ERROR has already ended that connection).
      const live = this.live;
      if (live !== undefined && record.sentOnGen === live.gen && !(error instanceof FailoverClientError && error.code === 'TANDEM_ERR_BROKER_ERROR')) {
        live.conn.write(record.unsubscribeFrame(false));
      }
      throw error;
    }
    return new Subscription(this, record);
  }

  /** UNSUBSCRIBE; the subscription is not restored again. Called through Subscription. */
  async unsubscribe(record: SubscriptionRecord, removeDurable: boolean): Promise<void> {
    this.subs.delete(record.id);
    // Without a connection a plain subscription is already gone; removing a durable one needs the broker.
    if (!removeDurable && this.live === undefined) return;
    const attempt = async (): Promise<void> => {
      for (;;) {
        const live = removeDurable ? await this.whenLive() : this.live;
        if (live === undefined) return;
        try {
          await live.conn.request(record.unsubscribeFrame(removeDurable));
          return;
        } catch (error) {
          if (!(error instanceof ConnectionLostError)) throw error;
          if (!removeDurable) return;
        }
      }
    };
    await this.bounded(attempt(), `unsubscribe from ${record.destination}`);
  }

  /** BEGIN, once a connection is up. The transaction lives and dies with that connection. */
  async begin(): Promise<Transaction> {
    const refused = this.refusal();
    if (refused !== undefined) throw refused;
    const live = await this.bounded(this.whenLive(), 'begin a transaction');
    const tx = new Transaction(this.transactionHost, `tx-${this.producer.id}-${this.nextId++}`, live.gen);
    this.txs.add(tx);
    await tx.begin();
    return tx;
  }

  /**
   * DISCONNECT (with a receipt, so sends already written get their receipts first), then stop.
   * Whatever is still unconfirmed is rejected with TANDEM_ERR_CLIENT_CLOSED.
   */
  async close(): Promise<void> {
    if (this.phase === 'closed' || this.phase === 'closing') return;
    const wasFailed = this.phase === 'failed';
    this.phase = 'closing';
    this.stopController.abort();
    this.probe.stop();
    const live = this.live;
    this.live = undefined;
    if (live !== undefined) await live.conn.disconnect(this.options.closeTimeout ?? CLOSE_TIMEOUT_DEFAULT);
    this.currentConn?.conn.close('client closed');
    this.currentConn = undefined;
    this.phase = 'closed';
    if (!wasFailed) this.settleAll(clientError('TANDEM_ERR_CLIENT_CLOSED', 'the client was closed before the operation was confirmed'));
    this.statusEmitter.emit({ type: 'closed' });
  }

  /** Acknowledger: ACK/NACK outside a transaction. */
  acknowledge(delivery: Delivery, command: 'ACK' | 'NACK', transactionId: string | undefined): Promise<void> {
    if (delivery.ackMode === 'auto') return Promise.resolve();
    const current = this.currentConn;
    if (current === undefined || current.gen !== delivery.gen) return Promise.reject(staleDelivery(delivery));
    const frame = ackFrame(delivery, command, transactionId);
    return current.conn.request(frame).catch((error: unknown) => {
      throw error instanceof ConnectionLostError ? staleDelivery(delivery) : error;
    });
  }

  /** The error for an operation the client cannot take now, if any. */
  private refusal(): FailoverClientError | undefined {
    if (this.phase === 'idle') return clientError('TANDEM_ERR_CLIENT_CLOSED', 'the client is not connected; call connect() first');
    if (this.phase === 'failed') return this.finalError;
    if (this.phase === 'closing' || this.phase === 'closed') return clientError('TANDEM_ERR_CLIENT_CLOSED', 'the client is closed');
    return undefined;
  }

  /** Waits for the SUBSCRIBE receipt on some connection (a reconnect restores it on its own). */
  private async confirm(record: SubscriptionRecord): Promise<void> {
    for (;;) {
      const live = await this.whenLive();
      if (record.confirmed) return;
      try {
        record.sentOnGen = live.gen;
        await live.conn.request(record.subscribeFrame());
        record.confirmed = true;
        return;
      } catch (error) {
        if (!(error instanceof ConnectionLostError)) throw error;
      }
    }
  }

  private whenLive(): Promise<Live> {
    if (this.live !== undefined) return Promise.resolve(this.live);
    const refused = this.refusal();
    if (refused !== undefined) return Promise.reject(refused);
    return new Promise((resolve, reject) => this.liveWaiters.push({ resolve, reject }));
  }

  /** Applies the URI's `timeout` to an operation that waits for a connection or a receipt. */
  private bounded<T>(promise: Promise<T>, what: string): Promise<T> {
    const ms = this.uri.options.timeout;
    return withTimeout(this.timers, promise, ms, () => clientError('TANDEM_ERR_TIMEOUT', `could not ${what} within ${ms} ms`));
  }

  /**
   * Passes over the endpoint list until one connection is restored. At startup the first pass
   * runs at once; after a loss every pass waits the back-off delay. Gives up after the allowed
   * number of reconnect passes (ActiveMQ's maxReconnectAttempts and startupMaxReconnectAttempts).
   */
  private async connectLoop(startup: boolean, lostFrom: string | undefined): Promise<void> {
    const o = this.uri.options;
    const limit = startup && o.startupMaxReconnectAttempts !== -1 ? o.startupMaxReconnectAttempts : o.maxReconnectAttempts;
    let lastError: unknown;
    for (let attempt = startup ? 0 : 1; ; attempt++) {
      if (this.stopped()) return;
      if (attempt > 0) {
        if (limit !== -1 && attempt > limit) {
          this.fail(lastError, attempt - 1);
          return;
        }
        const delayMs = reconnectDelay(attempt, this.backoff, this.random);
        this.statusEmitter.emit({ type: 'reconnecting', attempt, delayMs });
        if (!(await sleep(this.timers, delayMs, this.stopController.signal))) return;
      }
      for (const endpoint of this.pool.nextPass()) {
        if (this.stopped()) return;
        try {
          const conn = await StompConnection.open(endpoint, this.connectionOptions(true), this.stopController.signal);
          await this.adopt(conn, lostFrom);
          return;
        } catch (error) {
          lastError = error;
        }
      }
    }
  }

  /** Makes a fresh connection the current one: restore subscriptions, then resend and go live. */
  private async adopt(conn: StompConnection, lostFrom: string | undefined): Promise<void> {
    if (this.stopped()) {
      conn.close('client closed');
      throw new ConnectionLostError('client closed');
    }
    const current: Live = { conn, gen: ++this.gen };
    this.currentConn = current;
    conn.onFrame = (frame) => this.onFrame(current, frame);
    conn.onClose = (reason) => this.onConnectionClosed(current, reason);
    try {
      const restore = [...this.subs.values()].filter((record) => record.confirmed);
      await Promise.all(restore.map((record) => conn.request(record.subscribeFrame())));
      // Unsubscribed while being restored: the broker has it again, so withdraw it.
      for (const record of restore) if (!this.subs.has(record.id)) conn.write(record.unsubscribeFrame(false));
      if (conn.closed) throw new ConnectionLostError('closed while restoring subscriptions');
      if (this.stopped()) throw new ConnectionLostError('client closed');
    } catch (error) {
      if (this.currentConn === current) this.currentConn = undefined;
      conn.close('restore failed');
      throw error;
    }
    this.live = current;
    this.phase = 'live';
    this.pool.connected(conn.endpoint);
    // Before anything else can write: resent and queued sends keep their order on the wire.
    this.producer.flush(current);
    const waiters = this.liveWaiters;
    this.liveWaiters = [];
    for (const waiter of waiters) waiter.resolve(current);
    const to = conn.endpoint.uri;
    this.statusEmitter.emit(lostFrom === undefined ? { type: 'connected', endpoint: to } : { type: 'resumed', from: lostFrom, to });
    this.firstConnect?.resolve();
    this.firstConnect = undefined;
    this.probe.schedule();
  }

  private onFrame(current: Live, frame: Frame): void {
    if (frame.command === 'MESSAGE') {
      const record = this.subs.get(header(frame, 'subscription') ?? '');
      if (record === undefined) return;
      const delivery = toDelivery(frame, record, current.gen, this);
      if (delivery === undefined) return;
      this.deliveries.set(delivery.message, delivery);
      try {
        const result = record.handler(delivery.message);
        if (result instanceof Promise) result.catch(() => undefined);
      } catch {
        // The handler's own failure; the message stays unacknowledged and comes again.
      }
    } else if (frame.command === 'ERROR') {
      this.statusEmitter.emit({
        type: 'broker-error',
        endpoint: current.conn.endpoint.uri,
        brokerCode: header(frame, 'code') ?? '',
        message: header(frame, 'message') ?? '',
      });
    }
  }

  private onConnectionClosed(current: Live, reason: string): void {
    if (this.currentConn !== current) return;
    this.currentConn = undefined;
    for (const tx of this.txs) tx.connectionLost(reason);
    this.txs.clear();
    // A connection lost while restoring is the connect loop's business; so is a planned switch.
    if (this.live !== current) return;
    this.live = undefined;
    this.phase = 'reconnecting';
    this.probe.stop();
    this.pool.lost(current.conn.endpoint);
    const from = current.conn.endpoint.uri;
    this.statusEmitter.emit({ type: 'interrupted', endpoint: from, reason });
    void this.connectLoop(false, from);
  }

  /** Reconnecting gave up: reject everything and stop for good. */
  private fail(lastError: unknown, passes: number): void {
    if (this.stopped()) return;
    const detail = lastError instanceof Error ? lastError.message : 'no endpoint answered';
    const endpoints = this.uri.endpoints.map((e) => e.uri).join(', ');
    const error = clientError('TANDEM_ERR_CONNECTION_FAILED', `could not connect to any of ${endpoints} after ${passes} reconnect pass(es); last error: ${detail}`, { cause: lastError });
    this.phase = 'failed';
    this.finalError = error;
    this.stopController.abort();
    this.settleAll(error);
    this.statusEmitter.emit({ type: 'failed', error });
  }

  private settleAll(error: FailoverClientError): void {
    this.producer.rejectAll(error);
    for (const tx of this.txs) tx.connectionLost(error.message);
    this.txs.clear();
    const waiters = this.liveWaiters;
    this.liveWaiters = [];
    for (const waiter of waiters) waiter.reject(error);
    this.firstConnect?.reject(error);
    this.firstConnect = undefined;
  }

  private stopped(): boolean {
    return this.phase === 'closing' || this.phase === 'closed' || this.phase === 'failed';
  }

  private connectionOptions(withClientId: boolean): ConnectionOptions {
    return connectionOptions(this.options, this.timers, withClientId);
  }

  /** A planned failover: stop writing, DISCONNECT so in-flight receipts arrive, then reconnect. */
  private async switchTo(live: Live, endpoint: Endpoint): Promise<void> {
    this.live = undefined;
    this.phase = 'reconnecting';
    const from = live.conn.endpoint.uri;
    this.statusEmitter.emit({ type: 'interrupted', endpoint: from, reason: `priority endpoint ${endpoint.uri} is available` });
    await live.conn.disconnect(this.options.closeTimeout ?? CLOSE_TIMEOUT_DEFAULT);
    this.pool.lost(live.conn.endpoint);
    void this.connectLoop(false, from);
  }
}
