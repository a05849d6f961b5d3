// The dead-letter queue, after too many redeliveries or on expiry. The move is one atomic store
// commit (add the copy, ack the original), so a crash leaves the message in exactly one place.
import { canonicalName } from './destination.js';
import type { Channel } from './channel.js';
import type { CoreContext } from './context.js';
import { toStoredMessage, type Entry, type MessageData } from './message.js';
import type { DeadLetterPolicy } from './policies.js';

export const ORIGINAL_DESTINATION_HEADER = 'original-destination';
export const FAILURE_CAUSE_HEADER = 'dlqDeliveryFailureCause';

/** The canonical DLQ for a destination: the first rule whose prefix matches, else the default. */
export function deadLetterQueueFor(policy: DeadLetterPolicy, destination: string): string {
  for (const rule of policy.rules) {
    if (destination.startsWith(rule.prefix)) return canonicalName('queue', rule.queue);
  }
  return canonicalName('queue', policy.defaultQueue);
}

/**
 * Moves an entry that has left `channel` (its window slot already freed) to the dead-letter queue.
 * The copy keeps the message id, drops the expiry, and names its origin and the cause in headers.
 */
export function deadLetter(ctx: CoreContext, channel: Channel, entry: Entry, cause: string): void {
  const origin = channel.deliveryDestination(entry);
  const dlqName = deadLetterQueueFor(ctx.deadLetter, origin);
  const original = entry.data;
  const ackOriginal: { op: 'ack'; target: string; seq: number } | undefined = entry.stored
    ? { op: 'ack', target: channel.target!, seq: original.seq }
    : undefined;

  if (channel.kind === 'queue' && channel.name === dlqName) {
    // ActiveMQ does not dead-letter from the dead-letter queue itself; the message is dropped.
    ctx.logger.warn(
      { event: 'core.dead-letter-dropped', destination: dlqName, messageId: original.id, cause },
      'a message failed in its dead-letter queue and was dropped',
    );
    if (ackOriginal !== undefined) ctx.store.ack(ackOriginal.target, ackOriginal.seq).catch(logFailure);
    return;
  }

  const copy: MessageData = {
    ...original,
    seq: ctx.nextSeq(),
    destination: dlqName,
    headers: { ...original.headers, [ORIGINAL_DESTINATION_HEADER]: origin, [FAILURE_CAUSE_HEADER]: cause },
    expires: 0,
    producerId: undefined,
    producerSeq: undefined,
    cache: {},
  };
  const stored = copy.persistent ? toStoredMessage(copy, [dlqName]) : undefined;
  ctx.counters.deadLettered++;
  ctx.logger.debug({ event: 'core.dead-lettered', destination: origin, dlq: dlqName, messageId: original.id, cause }, 'message dead-lettered');

  const arrive = (): void => {
    ctx.queue(dlqName).enqueue({ data: copy, stored: copy.persistent, redelivered: false, redeliveryCount: 0 });
  };
  let applied: Promise<void>;
  if (stored === undefined && ackOriginal === undefined) {
    arrive();
    return;
  } else if (ackOriginal === undefined) {
    applied = ctx.store.addMessage(stored!);
  } else if (stored === undefined) {
    applied = ctx.store.ack(ackOriginal.target, ackOriginal.seq);
  } else {
    applied = ctx.store.commit([{ op: 'add', message: stored }, ackOriginal]);
  }
  applied.then(arrive, logFailure);

  function logFailure(error: unknown): void {
    ctx.logger.error({ event: 'core.store-failed', err: error, destination: origin, during: 'dead-letter' }, 'the store refused a dead-letter move');
  }
}
