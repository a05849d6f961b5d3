// SEND (STOMP 1.2 "SEND"): hands the message to the core; the RECEIPT waits until the core has
// stored it as the storage mode requires, so a receipt means the message is safe.
import type { SendRequest } from '../../../core/types.js';
import { header, type StompFrame } from '../frame.js';
import type { HandlerContext } from './context.js';
import {
  canonicalDestination,
  carriedHeaders,
  integerHeader,
  PRODUCER_ID_HEADER,
  PRODUCER_SEQ_HEADER,
  requireHeader,
} from './headers.js';

export function handleSend(ctx: HandlerContext, frame: StompFrame): Promise<void> {
  const request: SendRequest = {
    destination: canonicalDestination(requireHeader(frame, 'destination')),
    headers: carriedHeaders(frame, ctx.connection),
    body: frame.body,
    // ActiveMQ reads `persistent` as a boolean; anything but "true" is non-persistent.
    persistent: header(frame, 'persistent') === 'true',
  };
  const priority = integerHeader(frame, 'priority', 0, 9);
  if (priority !== undefined) request.priority = priority;
  // ActiveMQ's `expires`: epoch milliseconds, 0 for never.
  const expires = integerHeader(frame, 'expires', 0, Number.MAX_SAFE_INTEGER);
  if (expires !== undefined) request.expires = expires;
  // A failover client numbers its sends so that the core can drop the copies it resends.
  const producerId = header(frame, PRODUCER_ID_HEADER);
  const producerSeq = integerHeader(frame, PRODUCER_SEQ_HEADER, 0, Number.MAX_SAFE_INTEGER);
  if (producerId !== undefined && producerId !== '' && producerSeq !== undefined) {
    request.producerId = producerId;
    request.producerSeq = producerSeq;
  }
  // STOMP 1.2 "Transactions": a SEND naming a transaction takes effect at COMMIT.
  const transaction = header(frame, 'transaction');
  return transaction === undefined ? ctx.connection.send(request) : ctx.connection.send(request, transaction);
}
