// UNSUBSCRIBE (STOMP 1.2 "UNSUBSCRIBE"); with ActiveMQ's `activemq.subscriptionName` it also
// removes the durable subscription instead of leaving it to collect messages.
import { header, type StompFrame } from '../frame.js';
import type { HandlerContext } from './context.js';
import { canonicalDestination, requireHeader } from './headers.js';

export function handleUnsubscribe(ctx: HandlerContext, frame: StompFrame): Promise<void> {
  const durableName = header(frame, 'activemq.subscriptionName');
  const id = subscriptionId(ctx, frame);
  if (durableName === undefined) return ctx.connection.unsubscribe(id);
  return ctx.connection.unsubscribe(id, true, durableName);
}

/** STOMP 1.1+ requires `id`; STOMP 1.0 allows `id` or `destination` (the id SUBSCRIBE defaulted to). */
function subscriptionId(ctx: HandlerContext, frame: StompFrame): string {
  if (ctx.version !== '1.0') return requireHeader(frame, 'id');
  const id = header(frame, 'id');
  if (id !== undefined) return id;
  return canonicalDestination(requireHeader(frame, 'destination'));
}
