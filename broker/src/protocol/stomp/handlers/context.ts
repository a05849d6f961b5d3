// What a command handler sees of its session: the negotiated version, the core connection, and
// the two session-level effects a handler may ask for. Handlers never touch bytes or sockets.
import type { CoreConnection } from '../../../core/types.js';
import type { StompFrame, StompVersion } from '../frame.js';

export interface HandlerContext {
  readonly version: StompVersion;
  readonly connection: CoreConnection;
  /** CONNECT's `client-id`, needed for durable subscriptions. */
  readonly clientId: string | undefined;
  /** Resolves once the work of every earlier frame has settled. */
  settled(): Promise<void>;
  /** Close the connection once this frame's RECEIPT, if it asked for one, is written. */
  closeAfterReply(): void;
}

/**
 * Handles one client frame. A returned promise defers the RECEIPT until it resolves; a throw or a
 * rejection becomes an ERROR frame (and the connection closes).
 */
export type CommandHandler = (ctx: HandlerContext, frame: StompFrame) => void | Promise<void>;
