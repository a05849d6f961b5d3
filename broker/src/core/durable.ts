// Durable topic subscriptions, named by (clientId, name): persistent messages accumulate while no
// consumer is attached; one consumer at a time; a changed topic, selector or noLocal recreates it.
import { durableKey, type DurableSubscriptionInfo } from '@tandem-mq/shared-store';
import { BrokerError } from '../errors.js';
import type { CoreContext } from './context.js';
import { parseDestination, type Destination } from './destination.js';
import type { MessageData } from './message.js';
import type { DestinationRegistry } from './registry.js';
import type { Selector } from './selectors/index.js';
import { TopicChannel } from './topic.js';

export class DurableSubscription extends TopicChannel {
  readonly key: string;
  readonly info: DurableSubscriptionInfo;

  constructor(ctx: CoreContext, registry: DestinationRegistry, info: DurableSubscriptionInfo, selector: Selector | undefined) {
    const pattern = parseDestination(info.destination);
    const key = durableKey(info.clientId, info.name);
    super(ctx, { pattern, selector, noLocal: info.noLocal === true, figures: registry.topics.figures(pattern), target: key });
    this.key = key;
    this.info = info;
  }

  get active(): boolean {
    return this.consumers.length > 0;
  }

  /** Non-persistent messages reach only an active durable subscriber; they are never kept for it. */
  override accepts(data: MessageData): boolean {
    if (!data.persistent && !this.active) return false;
    return super.accepts(data);
  }
}

export interface DurableRequest {
  clientId: string;
  name: string;
  destination: Destination;
  selectorText: string | undefined;
  selector: Selector | undefined;
  noLocal: boolean;
}

/** Registers a durable subscription known to the store already (recovery). */
export function restoreDurable(ctx: CoreContext, registry: DestinationRegistry, info: DurableSubscriptionInfo, selector: Selector | undefined): DurableSubscription {
  const durable = new DurableSubscription(ctx, registry, info, selector);
  registry.durables.set(durable.key, durable);
  registry.topics.add(durable);
  return durable;
}

/**
 * Finds or creates the durable subscription for a SUBSCRIBE. The in-use check and registration
 * happen synchronously (so two racing subscribes cannot both win); `ready` settles with the store.
 */
export function claimDurable(
  ctx: CoreContext,
  registry: DestinationRegistry,
  request: DurableRequest,
): { durable: DurableSubscription; ready: Promise<void> } {
  const key = durableKey(request.clientId, request.name);
  const existing = registry.durables.get(key);
  let removal: Promise<void> | undefined;
  if (existing !== undefined) {
    if (existing.active) {
      throw new BrokerError('TANDEM_ERR_DURABLE_IN_USE', `durable subscription "${request.name}" of client "${request.clientId}" already has an active consumer`);
    }
    if (sameDefinition(existing.info, request)) return { durable: existing, ready: Promise.resolve() };
    removal = dropDurable(ctx, registry, existing);
  }
  const info: DurableSubscriptionInfo = { clientId: request.clientId, name: request.name, destination: request.destination.name };
  if (request.selectorText !== undefined) info.selector = request.selectorText;
  if (request.noLocal) info.noLocal = true;
  const durable = restoreDurable(ctx, registry, info, request.selector);
  const added = ctx.store.addDurableSubscription(info);
  const ready = removal === undefined ? added : Promise.all([removal, added]).then(() => undefined);
  return { durable, ready };
}

/** UNSUBSCRIBE with the durable name: deletes the subscription and what waits for it. */
export function removeDurable(ctx: CoreContext, registry: DestinationRegistry, clientId: string, name: string): Promise<void> {
  const durable = registry.durables.get(durableKey(clientId, name));
  if (durable === undefined) {
    return Promise.reject(new BrokerError('TANDEM_ERR_UNKNOWN_SUBSCRIPTION', `no durable subscription "${name}" for client "${clientId}"`));
  }
  if (durable.active) {
    return Promise.reject(new BrokerError('TANDEM_ERR_DURABLE_IN_USE', `durable subscription "${name}" of client "${clientId}" has an active consumer`));
  }
  return dropDurable(ctx, registry, durable);
}

function dropDurable(ctx: CoreContext, registry: DestinationRegistry, durable: DurableSubscription): Promise<void> {
  registry.durables.delete(durable.key);
  registry.topics.remove(durable);
  // The store drops the pending acknowledgements itself when the subscription is removed.
  durable.close();
  return ctx.store.removeDurableSubscription(durable.info.clientId, durable.info.name);
}

function sameDefinition(info: DurableSubscriptionInfo, request: DurableRequest): boolean {
  return (
    info.destination === request.destination.name &&
    (info.selector ?? '') === (request.selectorText ?? '') &&
    (info.noLocal === true) === request.noLocal
  );
}
