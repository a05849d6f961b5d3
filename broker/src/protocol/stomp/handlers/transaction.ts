// BEGIN, COMMIT and ABORT (STOMP 1.2 "BEGIN", "COMMIT", "ABORT"). Transactions belong to the
// connection; the core aborts any still open when the connection closes.
import type { StompFrame } from '../frame.js';
import type { HandlerContext } from './context.js';
import { requireHeader } from './headers.js';

export function handleBegin(ctx: HandlerContext, frame: StompFrame): void {
  ctx.connection.begin(requireHeader(frame, 'transaction'));
}

/** The RECEIPT waits for the commit to be stored. */
export function handleCommit(ctx: HandlerContext, frame: StompFrame): Promise<void> {
  return ctx.connection.commit(requireHeader(frame, 'transaction'));
}

export function handleAbort(ctx: HandlerContext, frame: StompFrame): void {
  ctx.connection.abort(requireHeader(frame, 'transaction'));
}
