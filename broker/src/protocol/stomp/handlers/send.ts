// SEND (STOMP 1.2 "SEND"): hands the message to the core; the RECEIPT waits until the core has
// stored it as the storage mode requires, so a receipt means the message is safe.
import { BrokerError } from '../../../errors.js';
import type { SendRequest } from '../../../core/types.js';
import type { StompFrame } from '../frame.js';
import type { HandlerContext } from './context.js';
import {
  canonicalDestination,
  integerValue,
  PRODUCER_SEQ_HEADER,
  readSendHeaders,
  resolveReplyTo,
} from './headers.js';

export function handleSend(ctx: HandlerContext, frame: StompFrame): Promise<void> {
  const read = readSendHeaders(frame);
  if (read.destination === undefined) {
    throw new BrokerError('TANDEM_ERR_MISSING_HEADER', `${frame.command} requires the 'destination' header`);
  }
  const request: SendRequest = {
    destination: canonicalDestination(read.destination),
    headers: resolveReplyTo(read.carried, ctx.connection),
    body: frame.body,
    // ActiveMQ reads `persistent` as a boolean; anything but "true" is non-persistent.
    persistent: read.persistent === 'true',
  };
  const priority = integerValue(frame.command, 'priority', read.priority, 0, 9);
  if (priority !== undefined) request.priority = priority;
  // ActiveMQ's `expires`: epoch milliseconds, 0 for never.
  const expires = integerValue(frame.command, 'expires', read.expires, 0, Number.MAX_SAFE_INTEGER);
  if (expires !== undefined) request.expires = expires;
  // A failover client numbers its sends so that the core can drop the copies it resends.
  const producerId = read.producerId;
  const producerSeq = integerValue(frame.command, PRODUCER_SEQ_HEADER, read.producerSeq, 0, Number.MAX_SAFE_INTEGER);
  if (producerId !== undefined && producerId !== '' && producerSeq !== undefined) {
    request.producerId = producerId;
    request.producerSeq = producerSeq;
  }
  // STOMP 1.2 "Transactions": a SEND naming a transaction takes effect at COMMIT.
  const transaction = read.transaction;
  return transaction === undefined ? ctx.connection.send(request) : ctx.connection.send(request, transaction);
}
