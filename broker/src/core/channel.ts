// Where messages wait for consumers (a queue, or one topic subscription's buffer): dispatch by
// priority, prefetch window, selector and group, and what happens to a delivery afterwards.
import type { AckOptions } from '@tandem-mq/shared-store';
import type { CoreContext } from './context.js';
import { deadLetter } from './dead-letter.js';
import type { MessageGroups } from './groups.js';
import { isExpired, selectorLookup, toDelivery, type Entry } from './message.js';
import { PendingList, SKIP, STOP, TAKE, type ScanVerdict } from './pending-list.js';
import { exceedsMaximum, redeliveryDelay } from './redelivery.js';
import type { InFlight, Subscription } from './subscription.js';
import type { TimerHandle } from './timers.js';
import type { DestinationKind } from './types.js';

/** Why a delivery comes back unacknowledged: only a NACK waits out the redelivery delay. */
export type ReturnReason = 'nack' | 'close' | 'abort';

export abstract class Channel {
  readonly pending = new PendingList();
  readonly consumers: Subscription[] = [];
  /** Deliveries awaiting ACK or NACK, including those acknowledged inside an open transaction. */
  inFlight = 0;
  enqueued = 0;
  dequeued = 0;
  closed = false;
  /** Owned by the DispatchScheduler. */
  dirty = false;
  protected groups: MessageGroups | undefined;
  private cursor = 0;
  /** Set by pick(): whether any consumer had room, so a scan can stop once none has. */
  private anyRoom = false;
  /** Whether a pending entry may expire; lets the sweep skip channels with none. */
  private mayExpire = false;
  private readonly delayed = new Map<Entry, TimerHandle>();

  constructor(
    protected readonly ctx: CoreContext,
    /** Canonical destination (a topic pattern for topic subscriptions). */
    readonly name: string,
    readonly kind: DestinationKind,
    /** The store target this channel's stored copies are acknowledged under; null if never stored. */
    readonly target: string | null,
    /** Queues apply consumer selectors at dispatch; topic channels filtered at fan-out already. */
    private readonly selectsAtDispatch: boolean,
  ) {}

  /** The destination header a delivery from this channel carries. */
  abstract deliveryDestination(entry: Entry): string;

  /** Messages waiting, including those held back by a redelivery delay. */
  get depth(): number {
    return this.pending.size + this.delayed.size;
  }

  enqueue(entry: Entry): void {
    if (this.closed) return;
    this.enqueued++;
    this.insert(entry);
  }

  addConsumer(subscription: Subscription): void {
    this.consumers.push(subscription);
    this.ctx.schedule(this);
  }

  removeConsumer(subscription: Subscription): void {
    const index = this.consumers.indexOf(subscription);
    if (index >= 0) this.consumers.splice(index, 1);
    if (this.cursor >= this.consumers.length) this.cursor = 0;
    this.groups?.release(subscription);
    this.ctx.schedule(this);
  }

  dispatch(): void {
    if (this.closed || this.consumers.length === 0 || this.pending.size === 0) return;
    const now = this.ctx.now();
    this.pending.scan((entry): ScanVerdict => {
      if (isExpired(entry.data, now)) {
        this.expire(entry);
        return TAKE;
      }
      const subscription = this.pick(entry);
      if (subscription === undefined) return this.anyRoom ? SKIP : STOP;
      this.deliver(subscription, entry);
      return TAKE;
    });
  }

  /** The store acknowledgement an ACK owes, if this copy is stored. */
  storeAck(entry: Entry, options?: AckOptions): Promise<void> | undefined {
    return entry.stored ? this.ctx.store.ack(this.target!, entry.data.seq, options) : undefined;
  }

  /** In-memory side of an acknowledgement: frees the window slot and counts the dequeue. */
  settle(): void {
    this.inFlight--;
    this.countDequeue();
    this.ctx.schedule(this);
  }

  /** A delivery comes back (NACK, consumer gone, transaction aborted): redeliver or dead-letter. */
  release(entry: Entry, reason: ReturnReason): void {
    this.inFlight--;
    this.redeliver(entry, reason);
  }

  /** Removes expired entries now (the periodic sweep; dispatch checks as it goes). */
  sweepExpired(now: number): void {
    if (!this.mayExpire || this.closed) return;
    let stillExpiring = false;
    const expired = this.pending.removeWhere((entry) => {
      if (entry.data.expires === 0) return false;
      if (isExpired(entry.data, now)) return true;
      stillExpiring = true;
      return false;
    });
    this.mayExpire = stillExpiring;
    for (const entry of expired) this.expire(entry);
  }

  /** Stops the channel; returns what it still held (their store acks are the caller's business). */
  close(): Entry[] {
    this.closed = true;
    for (const handle of this.delayed.values()) this.ctx.timers.clearTimeout(handle);
    const held = [...this.delayed.keys(), ...this.pending.drain()];
    this.delayed.clear();
    return held;
  }

  protected countDequeue(): void {
    this.dequeued++;
    this.ctx.counters.dequeued++;
  }

  private insert(entry: Entry): void {
    if (entry.data.expires > 0) this.mayExpire = true;
    this.pending.insert(entry);
    this.ctx.schedule(this);
  }

  /** Round-robin over consumers with room whose selector matches; a group sticks to its owner. */
  private pick(entry: Entry): Subscription | undefined {
    const consumers = this.consumers;
    const count = consumers.length;
    const groupId = entry.data.groupId;
    const owner = groupId === undefined || this.groups === undefined ? undefined : this.groups.owner(groupId);
    let lookup: ReturnType<typeof selectorLookup> | undefined;
    this.anyRoom = false;
    for (let step = 0; step < count; step++) {
      let index = this.cursor + step;
      if (index >= count) index -= count;
      const subscription = consumers[index]!;
      if (!subscription.canTake()) continue;
      this.anyRoom = true;
      if (owner !== undefined && owner !== subscription) continue;
      if (this.selectsAtDispatch && subscription.selector !== undefined) {
        lookup ??= selectorLookup(entry);
        if (!subscription.selector(lookup)) continue;
      }
      this.cursor = index + 1 >= count ? 0 : index + 1;
      if (groupId !== undefined && owner === undefined) this.groups?.assign(groupId, subscription);
      return subscription;
    }
    return undefined;
  }

  /**
   * A held delivery reaches the sink now (see Outbound). False when it is no longer in flight (acked
   * or returned meanwhile), so it must not be sent; an auto-ack delivery is acknowledged here.
   */
  handedOff(inFlight: InFlight): boolean {
    const subscription = inFlight.subscription;
    if (subscription.unacked.get(inFlight.ackId) !== inFlight) return false;
    if (subscription.ack === 'auto') {
      subscription.untrack(inFlight);
      this.inFlight--;
      this.autoAcknowledge(inFlight.entry);
    }
    return true;
  }

  private deliver(subscription: Subscription, entry: Entry): void {
    const connection = subscription.connection;
    const ackId = connection.nextAckId();
    const delivery = toDelivery(entry, subscription.id, ackId, this.deliveryDestination(entry));
    const groupId = entry.data.groupId;
    if (groupId !== undefined && entry.data.closesGroup) this.groups?.close(groupId);
    // A stored message may reach the client only once its dispatch mark is settled, so that after a
    // crash it comes back flagged redelivered. The send path marks ahead, so usually there is no gate.
    const gate = entry.stored ? this.ctx.store.markDispatched(this.target!, entry.data.seq) : undefined;
    const outbound = connection.outbound;
    if (gate === undefined && outbound.idle) {
      if (subscription.ack === 'auto') this.autoAcknowledge(entry);
      else this.track(subscription, ackId, entry);
      outbound.handOff(delivery);
      return;
    }
    // Until it reaches the sink it is in flight whatever its ack mode: if its mark cannot be stored,
    // it stays so and goes back to the destination when the consumer leaves.
    outbound.hold(this.track(subscription, ackId, entry), delivery, gate);
  }

  private track(subscription: Subscription, ackId: string, entry: Entry): InFlight {
    const inFlight: InFlight = { ackId, entry, subscription, channel: this };
    subscription.track(inFlight);
    this.inFlight++;
    return inFlight;
  }

  /** Auto ack: handing the message to the socket is the acknowledgement. */
  private autoAcknowledge(entry: Entry): void {
    this.countDequeue();
    this.storeAck(entry)?.catch((error: unknown) => this.logStoreError(error, 'ack'));
  }

  private redeliver(entry: Entry, reason: ReturnReason): void {
    // A non-durable subscription that is gone takes its copies with it.
    if (this.closed) return;
    const count = entry.redeliveryCount + 1;
    const policy = this.ctx.redelivery;
    if (exceedsMaximum(policy, count)) {
      deadLetter(this.ctx, this, entry, `redelivery count ${count} exceeded maximumRedeliveries ${policy.maximumRedeliveries}`);
      return;
    }
    entry.redeliveryCount = count;
    entry.redelivered = true;
    const delay = reason === 'nack' ? redeliveryDelay(policy, count) : 0;
    if (delay <= 0) {
      this.insert(entry);
      return;
    }
    const handle = this.ctx.timers.setTimeout(() => {
      this.delayed.delete(entry);
      if (!this.closed) this.insert(entry);
    }, delay);
    this.delayed.set(entry, handle);
  }

  private expire(entry: Entry): void {
    this.ctx.counters.expired++;
    if (this.ctx.deadLetter.processExpired) {
      deadLetter(this.ctx, this, entry, 'expired');
    } else {
      this.storeAck(entry)?.catch((error: unknown) => this.logStoreError(error, 'expire'));
    }
  }

  private logStoreError(error: unknown, during: string): void {
    this.ctx.logger.error({ event: 'core.store-failed', err: error, destination: this.name, during }, 'the store refused an update');
  }
}
