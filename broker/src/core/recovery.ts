// Rebuilds queues and durable subscriptions from what the store recovered, in seq order. A message
// with several targets (a virtual topic, several durable subscribers) shares one MessageData.
import type { RecoveredMessage, RecoveredState } from '@tandem-mq/shared-store';
import type { CoreContext } from './context.js';
import { parseDestination } from './destination.js';
import { restoreDurable } from './durable.js';
import { fromStoredMessage, type Entry, type MessageData } from './message.js';
import type { DestinationRegistry } from './registry.js';
import type { Selector } from './selectors/index.js';

export function restoreState(ctx: CoreContext, registry: DestinationRegistry, recovered: RecoveredState): void {
  const shared = new Map<number, MessageData>();
  const entryOf = (message: RecoveredMessage): Entry => {
    let data = shared.get(message.seq);
    if (data === undefined) shared.set(message.seq, (data = fromStoredMessage(message)));
    // The store only knows "maybe delivered before"; count that as one delivery.
    return { data, stored: true, redelivered: message.redelivered, redeliveryCount: message.redelivered ? 1 : 0 };
  };

  for (const [target, messages] of recovered.queues) {
    let queue;
    try {
      const destination = parseDestination(target);
      if (destination.kind !== 'queue') throw new Error(`a ${destination.kind} cannot hold stored messages`);
      queue = registry.queue(destination);
    } catch (error) {
      ctx.logger.error({ event: 'core.recovery-skipped', target, count: messages.length, err: error }, 'recovered messages name a destination the core cannot use; they stay in the store');
      continue;
    }
    for (const message of messages) queue.enqueue(entryOf(message));
  }

  for (const { info, pending } of recovered.durableSubscriptions) {
    let durable;
    try {
      durable = restoreDurable(ctx, registry, info, compileRecovered(ctx, info.selector));
    } catch (error) {
      ctx.logger.error({ event: 'core.recovery-skipped', target: `${info.clientId}:${info.name}`, count: pending.length, err: error }, 'a recovered durable subscription could not be restored');
      continue;
    }
    for (const message of pending) durable.enqueue(entryOf(message));
  }
  ctx.logger.info(
    { event: 'core.recovered', queues: recovered.queues.size, durableSubscriptions: recovered.durableSubscriptions.length, messages: shared.size },
    'messaging state recovered',
  );
}

/** A selector accepted when the subscription was made; if it no longer compiles, say so and match all. */
function compileRecovered(ctx: CoreContext, text: string | undefined): Selector | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  try {
    return ctx.compileSelector(text);
  } catch (error) {
    ctx.logger.warn({ event: 'core.recovered-selector-invalid', selector: text, err: error }, 'a recovered durable subscription selector does not compile; it now matches every message');
    return undefined;
  }
}
