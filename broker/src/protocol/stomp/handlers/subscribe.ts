// SUBSCRIBE (STOMP 1.2 "SUBSCRIBE") with ActiveMQ's extensions: selector, activemq.prefetchSize,
// activemq.subscriptionName (durable topic subscriptions) and activemq.noLocal.
import { BrokerError } from '../../../errors.js';
import type { AckMode, SubscribeRequest } from '../../../core/types.js';
import { header, type StompFrame } from '../frame.js';
import type { HandlerContext } from './context.js';
import { canonicalDestination, integerHeader, requireHeader } from './headers.js';

/** ActiveMQ's default prefetch for STOMP consumers. */
export const DEFAULT_PREFETCH = 1000;

const ACK_MODES: readonly AckMode[] = ['auto', 'client', 'client-individual'];

export function handleSubscribe(ctx: HandlerContext, frame: StompFrame): Promise<void> {
  const destination = canonicalDestination(requireHeader(frame, 'destination'));
  // STOMP 1.1 made `id` required; a 1.0 subscription is named by its destination.
  const id = ctx.version === '1.0' ? (header(frame, 'id') ?? destination) : requireHeader(frame, 'id');
  const ack = header(frame, 'ack') ?? 'auto';
  if (!(ACK_MODES as readonly string[]).includes(ack)) {
    throw new BrokerError('TANDEM_ERR_INVALID_HEADER', `SUBSCRIBE header 'ack' must be auto, client or client-individual, not '${ack}'`);
  }
  const request: SubscribeRequest = {
    id,
    destination,
    ack: ack as AckMode,
    prefetch: integerHeader(frame, 'activemq.prefetchSize', 1, 2_147_483_647) ?? DEFAULT_PREFETCH,
  };
  const selector = header(frame, 'selector');
  if (selector !== undefined && selector.trim() !== '') request.selector = selector;
  const durableName = header(frame, 'activemq.subscriptionName');
  if (durableName !== undefined) {
    // A durable subscription is keyed by client-id and name, so it needs both.
    if (ctx.clientId === undefined) {
      throw new BrokerError(
        'TANDEM_ERR_CLIENT_ID_REQUIRED',
        `SUBSCRIBE with 'activemq.subscriptionName' needs a 'client-id' header on CONNECT`,
      );
    }
    request.durableName = durableName;
  }
  if (header(frame, 'activemq.noLocal') === 'true') request.noLocal = true;
  return ctx.connection.subscribe(request);
}
