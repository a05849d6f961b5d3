// DISCONNECT (STOMP 1.2 "DISCONNECT", "Graceful Disconnect"): the RECEIPT promises that every
// earlier frame has been processed, so it waits for their work to settle, and for the ACKs sent
// without a receipt to be made durable too; then the server closes.
import type { StompFrame } from '../frame.js';
import type { HandlerContext } from './context.js';

export function handleDisconnect(ctx: HandlerContext, _frame: StompFrame): Promise<void> {
  ctx.closeAfterReply();
  const connection = ctx.connection;
  return ctx.settled().then(() => connection.sync());
}
