// One protocol connection as the core sees it: its subscriptions, unacknowledged deliveries, open
// transactions and temporary destinations. Closing it hands every unacknowledged message back.
import { BrokerError } from '../errors.js';
import type { CoreContext } from './context.js';
import { invalid, isTopicKind, parseDestination, type Destination } from './destination.js';
import { claimDurable, removeDurable as removeDurableSubscription, DurableSubscription } from './durable.js';
import { Outbound } from './outbound.js';
import type { DestinationRegistry } from './registry.js';
import type { Router } from './router.js';
import type { Selector } from './selectors/index.js';
import { Subscription, type InFlight } from './subscription.js';
import { TempScope } from './temp-destinations.js';
import { TopicChannel } from './topic.js';
import { abortTransaction, commitTransaction, TransactionTable } from './transactions.js';
import type {
  AckOptions,
  AckRef,
  ConnectionInfo,
  ConnectionSink,
  CoreConnection,
  SendRequest,
  SubscribeRequest,
} from './types.js';

const LAZY = { sync: false } as const;
const RESOLVED = Promise.resolve();
const noop = (): void => undefined;

export interface ConnectionDeps {
  ctx: CoreContext;
  registry: DestinationRegistry;
  router: Router;
  onClose(connection: Connection): void;
}

export class Connection implements CoreConnection {
  readonly inFlight = new Map<string, InFlight>();
  readonly outbound: Outbound;
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly transactions = new TransactionTable();
  private readonly temps: TempScope;
  private ackSeq = 0;
  private closed = false;
  /** Acknowledgements were stored with `sync: false` since the last sync(). */
  private lazyAcks = false;

  constructor(
    readonly id: string,
    readonly info: ConnectionInfo,
    readonly sink: ConnectionSink,
    private readonly deps: ConnectionDeps,
  ) {
    this.temps = new TempScope(id, deps.registry);
    this.outbound = new Outbound(sink, deps.ctx.logger);
  }

  nextAckId(): string {
    return String(++this.ackSeq);
  }

  /** Temporary destination names this connection used -> their broker-wide names. */
  get tempDestinations(): ReadonlyMap<string, string> {
    return this.temps.mappings;
  }

  resolveDestination(destination: string): string {
    return this.temps.resolve(parseDestination(destination), false)!.name;
  }

  send(request: SendRequest, transactionId?: string): Promise<void> {
    try {
      this.assertOpen();
      const parsed = parseDestination(request.destination);
      if (parsed.wildcard) throw invalid(request.destination, 'wildcards are for subscriptions, not sends');
      const destination = this.temps.resolve(parsed, true);
      if (transactionId !== undefined) {
        const transaction = this.transactions.get(transactionId);
        if (destination !== null) transaction.sends.push({ destination, request });
        return Promise.resolve();
      }
      if (destination === null) return Promise.resolve();
      return this.deps.router.send(this.id, destination, request);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  subscribe(request: SubscribeRequest): Promise<void> {
    try {
      this.assertOpen();
      if (this.subscriptions.has(request.id)) {
        throw new BrokerError('TANDEM_ERR_DUPLICATE_SUBSCRIPTION', `subscription id "${request.id}" is already in use on this connection`);
      }
      const destination = this.temps.resolve(parseDestination(request.destination), false)!;
      const selector = request.selector === undefined || request.selector.trim() === '' ? undefined : request.selector;
      const compiled = selector === undefined ? undefined : this.deps.ctx.compileSelector(selector);
      if (!isTopicKind(destination.kind)) {
        if (destination.wildcard) throw invalid(request.destination, 'wildcards are supported in topic subscriptions only');
        const queue = this.deps.registry.queue(destination);
        this.attach(new Subscription({ ...this.subscriptionBase(request), selector: compiled, channel: queue }));
        return Promise.resolve();
      }
      if (request.durableName !== undefined && destination.kind === 'topic') {
        return this.subscribeDurable(request, destination, selector, compiled);
      }
      const channel = new TopicChannel(this.deps.ctx, {
        pattern: destination,
        selector: compiled,
        noLocal: request.noLocal === true,
        figures: this.deps.registry.topics.figures(destination),
        target: null,
      });
      channel.localConnection = this.id;
      this.deps.registry.topics.add(channel);
      this.attach(new Subscription({ ...this.subscriptionBase(request), selector: undefined, channel }));
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * `removeDurable` deletes the durable subscription too. With `durableName`, a durable subscription
   * that has no consumer on this connection can be deleted by name (ActiveMQ's UNSUBSCRIBE with
   * activemq.subscriptionName).
   */
  async unsubscribe(subscriptionId: string, removeDurable = false, durableName?: string): Promise<void> {
    this.assertOpen();
    const subscription = this.subscriptions.get(subscriptionId);
    if (subscription === undefined) {
      if (removeDurable && durableName !== undefined) return this.removeDurableByName(durableName);
      throw new BrokerError('TANDEM_ERR_UNKNOWN_SUBSCRIPTION', `no subscription "${subscriptionId}" on this connection`);
    }
    this.closeSubscription(subscription);
    const channel = subscription.channel;
    if (removeDurable && channel instanceof DurableSubscription) {
      await removeDurableSubscription(this.deps.ctx, this.deps.registry, channel.info.clientId, channel.info.name);
    }
  }

  // Not an async function: every consumed message costs an ACK, and the store's own promise can be
  // handed back as it is.
  ack(ref: AckRef, transactionId?: string, options?: AckOptions): Promise<void> {
    try {
      this.assertOpen();
      const transaction = transactionId === undefined ? undefined : this.transactions.get(transactionId);
      const target = this.find(ref);
      const covered = target.subscription.ack === 'client' ? target.subscription.upTo(target) : [target];
      for (const inFlight of covered) inFlight.subscription.untrack(inFlight);
      if (transaction !== undefined) {
        transaction.acks.push(...covered);
        return RESOLVED;
      }
      const storeOptions = options?.sync === false ? LAZY : undefined;
      const pending: Array<Promise<void>> = [];
      for (const { entry, channel } of covered) {
        const stored = channel.storeAck(entry, storeOptions);
        if (stored !== undefined) pending.push(stored);
        channel.settle();
      }
      if (storeOptions !== undefined && pending.length > 0) this.lazyAcks = true;
      if (pending.length === 0) return RESOLVED;
      if (pending.length === 1) return pending[0]!;
      return Promise.all(pending).then(noop);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  sync(): Promise<void> {
    if (!this.lazyAcks) return Promise.resolve();
    this.lazyAcks = false;
    return this.deps.ctx.store.sync();
  }

  /** NACK is per message in every ack mode: the message is redelivered after the policy's delay. */
  async nack(ref: AckRef, transactionId?: string): Promise<void> {
    this.assertOpen();
    const transaction = transactionId === undefined ? undefined : this.transactions.get(transactionId);
    const target = this.find(ref);
    target.subscription.untrack(target);
    if (transaction !== undefined) transaction.nacks.push(target);
    else target.channel.release(target.entry, 'nack');
  }

  begin(transactionId: string): void {
    this.assertOpen();
    this.transactions.begin(transactionId);
  }

  async commit(transactionId: string): Promise<void> {
    this.assertOpen();
    const transaction = this.transactions.take(transactionId);
    await commitTransaction(this.deps.ctx, this.deps.router, this.id, transaction);
  }

  abort(transactionId: string): void {
    this.assertOpen();
    abortTransaction(this.transactions.take(transactionId));
  }

  drained(): void {
    for (const subscription of this.subscriptions.values()) this.deps.ctx.schedule(subscription.channel);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.outbound.close();
    for (const transaction of this.transactions.takeAll()) abortTransaction(transaction);
    for (const subscription of [...this.subscriptions.values()]) this.closeSubscription(subscription);
    this.temps.release();
    this.deps.onClose(this);
  }

  private subscriptionBase(request: SubscribeRequest): { id: string; connection: Connection; ack: SubscribeRequest['ack']; prefetch: number | undefined } {
    return { id: request.id, connection: this, ack: request.ack, prefetch: request.prefetch };
  }

  private attach(subscription: Subscription): void {
    this.subscriptions.set(subscription.id, subscription);
    subscription.channel.addConsumer(subscription);
  }

  private async subscribeDurable(
    request: SubscribeRequest,
    destination: Destination,
    selectorText: string | undefined,
    selector: Selector | undefined,
  ): Promise<void> {
    const clientId = this.info.clientId;
    if (clientId === undefined || clientId === '') {
      throw new BrokerError('TANDEM_ERR_CLIENT_ID_REQUIRED', 'a durable subscription needs the connection to have a client-id');
    }
    const name = request.durableName!;
    const { durable, ready } = claimDurable(this.deps.ctx, this.deps.registry, {
      clientId,
      name,
      destination,
      selectorText,
      selector,
      noLocal: request.noLocal === true,
    });
    durable.localConnection = this.id;
    const subscription = new Subscription({ ...this.subscriptionBase(request), selector: undefined, channel: durable });
    this.attach(subscription);
    try {
      await ready;
    } catch (error) {
      this.closeSubscription(subscription);
      throw error;
    }
  }

  private removeDurableByName(name: string): Promise<void> {
    const clientId = this.info.clientId;
    if (clientId === undefined || clientId === '') {
      return Promise.reject(new BrokerError('TANDEM_ERR_CLIENT_ID_REQUIRED', 'removing a durable subscription needs the connection to have a client-id'));
    }
    return removeDurableSubscription(this.deps.ctx, this.deps.registry, clientId, name);
  }

  /** The consumer leaves: its unacknowledged deliveries go back; a non-durable topic buffer goes. */
  private closeSubscription(subscription: Subscription): void {
    subscription.closed = true;
    this.subscriptions.delete(subscription.id);
    const channel = subscription.channel;
    channel.removeConsumer(subscription);
    for (const inFlight of [...subscription.unacked.values()]) {
      subscription.untrack(inFlight);
      channel.release(inFlight.entry, 'close');
    }
    if (channel instanceof TopicChannel && channel.target === null) {
      this.deps.registry.topics.remove(channel);
      channel.close();
    } else if (channel instanceof TopicChannel) {
      channel.localConnection = undefined;
    }
  }

  private find(ref: AckRef): InFlight {
    let found: InFlight | undefined;
    if ('ackId' in ref) {
      found = this.inFlight.get(ref.ackId);
    } else if (ref.subscriptionId !== undefined) {
      found = this.subscriptions.get(ref.subscriptionId)?.findByMessageId(ref.messageId);
    } else {
      for (const subscription of this.subscriptions.values()) {
        found = subscription.findByMessageId(ref.messageId);
        if (found !== undefined) break;
      }
    }
    if (found === undefined) {
      const named = 'ackId' in ref ? `ack id "${ref.ackId}"` : `message "${ref.messageId}"`;
      throw new BrokerError('TANDEM_ERR_UNKNOWN_MESSAGE', `${named} is not awaiting acknowledgement on this connection`);
    }
    return found;
  }

  private assertOpen(): void {
    if (this.closed) throw new BrokerError('TANDEM_ERR_NOT_CONNECTED', 'the connection is closed');
  }
}
