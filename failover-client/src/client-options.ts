// What an application can tune beyond the URI, and how it becomes the CONNECT frame's headers.
import type { ConnectionOptions } from './connection.js';
import type { HeartbeatOffer } from './heartbeat.js';
import type { Timers } from './timers.js';
import type { TlsSettings } from './transport.js';

export interface ClientOptions {
  login?: string;
  passcode?: string;
  /** CONNECT `client-id`; durable subscriptions need it, and it is sent again on every reconnect. */
  clientId?: string;
  /** CONNECT `host` (virtual host); the endpoint's host by default. */
  virtualHost?: string;
  /** The client's heart-beat offer in ms; 10000/10000 by default, 0 to turn a direction off. */
  heartbeat?: HeartbeatOffer;
  /** TLS material for stomp+ssl:// and wss:// (a private CA, a client certificate). */
  tls?: TlsSettings;
  /** Jitter on reconnect delays as a fraction (0.2: 80% to 120%); 0 for none. */
  jitter?: number;
  /** How long close() and a priority switch wait for DISCONNECT's receipt; 5000 ms by default. */
  closeTimeout?: number;
  /** Largest frame accepted from the broker; 64 MiB by default. */
  maxFrameSize?: number;
  /** Random source for `randomize` and jitter (seed it in tests). */
  random?: () => number;
  /** Time source (tests move it by hand). */
  timers?: Timers;
}

export const HEARTBEAT_DEFAULT: Readonly<HeartbeatOffer> = Object.freeze({ send: 10000, receive: 10000 });
export const CLOSE_TIMEOUT_DEFAULT = 5000;
export const MAX_FRAME_SIZE_DEFAULT = 64 * 1024 * 1024;

/** The per-connection settings; a priority probe leaves out client-id, which a broker may hold unique. */
export function connectionOptions(options: ClientOptions, timers: Timers, withClientId: boolean): ConnectionOptions {
  const headers: Array<[string, string]> = [];
  if (options.login !== undefined) headers.push(['login', options.login]);
  if (options.passcode !== undefined) headers.push(['passcode', options.passcode]);
  if (withClientId && options.clientId !== undefined) headers.push(['client-id', options.clientId]);
  return {
    connectHeaders: headers,
    virtualHost: options.virtualHost,
    heartbeat: options.heartbeat ?? HEARTBEAT_DEFAULT,
    tls: options.tls ?? {},
    maxFrameSize: options.maxFrameSize ?? MAX_FRAME_SIZE_DEFAULT,
    timers,
  };
}
