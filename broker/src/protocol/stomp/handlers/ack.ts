// ACK and NACK (STOMP 1.2 "ACK", "NACK"). Each version names the message differently: 1.2 by the
// MESSAGE's `ack` header sent back as `id`, 1.1 by message-id plus subscription, 1.0 by message-id.
// A receipt is how a STOMP client learns a frame is done, so only an ACK that asks for one waits
// for its acknowledgement to be fdatasynced; one without is written at once and made durable by
// the store's next fdatasync (docs/adr/0003-storage-modes-and-group-commit.md).
import type { AckOptions, AckRef } from '../../../core/types.js';
import { header, type StompFrame } from '../frame.js';
import type { HandlerContext } from './context.js';
import { requireHeader } from './headers.js';

const LAZY: AckOptions = { sync: false };

export function handleAck(ctx: HandlerContext, frame: StompFrame): Promise<void> {
  const transaction = header(frame, 'transaction');
  const ref = ackRef(ctx, frame);
  return ctx.connection.ack(ref, transaction, header(frame, 'receipt') === undefined ? LAZY : undefined);
}

/** NACK arrived in STOMP 1.1; it is accepted from 1.0 clients too, as ActiveMQ does. */
export function handleNack(ctx: HandlerContext, frame: StompFrame): Promise<void> {
  const transaction = header(frame, 'transaction');
  const ref = ackRef(ctx, frame);
  return transaction === undefined ? ctx.connection.nack(ref) : ctx.connection.nack(ref, transaction);
}

function ackRef(ctx: HandlerContext, frame: StompFrame): AckRef {
  switch (ctx.version) {
    case '1.2':
      return { ackId: requireHeader(frame, 'id') };
    case '1.1':
      return { messageId: requireHeader(frame, 'message-id'), subscriptionId: requireHeader(frame, 'subscription') };
    case '1.0': {
      const messageId = requireHeader(frame, 'message-id');
      const subscription = header(frame, 'subscription');
      return subscription === undefined ? { messageId } : { messageId, subscriptionId: subscription };
    }
  }
}
