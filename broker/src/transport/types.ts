// The seam between listeners and sessions: a listener wraps each accepted socket as a
// SessionTransport, hands it to an Acceptor, and feeds the returned handler bytes and events.
import type { SessionTransport } from '../protocol/stomp/session.js';

export type { SessionTransport };

/** What a listener calls as bytes and events arrive; StompSession implements it. */
export interface TransportHandler {
  onData(chunk: Buffer): void;
  onTransportDrain(): void;
  onTransportClose(): void;
}

export type Acceptor = (transport: SessionTransport) => TransportHandler;

export interface ListeningAddress {
  host: string;
  port: number;
}

export interface Listener {
  readonly address: ListeningAddress;
  /** Stops accepting; resolves once every connection it accepted has closed. */
  close(): Promise<void>;
}

/** After end(), how long a peer may keep the socket open before it is destroyed. */
export const LINGER_MS = 2000;

/** A socket's buffered output past which the session holds deliveries. */
export const WRITE_HIGH_WATER = 1024 * 1024;
