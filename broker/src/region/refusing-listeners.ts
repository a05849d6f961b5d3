// The client listeners of a broker in the replica role: the same ports as a primary's, but every
// connection gets one STOMP ERROR (code TANDEM_ERR_REPLICA) naming the primary region and its
// client endpoints, and is closed. A tiny responder of its own on the STOMP codec, so the session
// and the core stay untouched; failover clients move on to the next URI.
import type { Logger } from '@tandem-mq/shared-store';
import type { BrokerConfig } from '../config/schema.js';
import { BrokerError } from '../errors.js';
import { errorFrame } from '../protocol/stomp/handlers/outbound.js';
import type { StompFrame } from '../protocol/stomp/frame.js';
import { StompParser } from '../protocol/stomp/parser.js';
import { serializeFrame } from '../protocol/stomp/serializer.js';
import { listenTcp } from '../transport/tcp.js';
import { listenTls } from '../transport/tls.js';
import type { Acceptor, Listener } from '../transport/types.js';
import { listenWs } from '../transport/ws.js';
import type { ClientAddresses } from '../ha/activation.js';

/** A client that says nothing is hung up on after this long. */
const SILENT_CLIENT_MS = 10_000;

export interface Refusal {
  /** Who refuses: "this broker is a replica of region ...; connect to ...". */
  message(): string;
}

/** The acceptor: answers the first frame (CONNECT, STOMP, or anything) with the ERROR, then closes. */
export function refusingAcceptor(refusal: Refusal, logger: Logger, counters: { refused: number }): Acceptor {
  return (transport) => {
    let done = false;
    const refuse = (frame: StompFrame | undefined): void => {
      if (done) return;
      done = true;
      counters.refused++;
      // No version was negotiated: like any ERROR before CONNECTED, it goes out unescaped (1.0).
      const error = new BrokerError('TANDEM_ERR_REPLICA', refusal.message());
      transport.write([serializeFrame(errorFrame(error, frame), '1.0')]);
      transport.end();
      logger.debug({ event: 'region.client-refused', remote: transport.remoteAddress }, 'refused a client: this broker is a replica');
    };
    const parser = new StompParser({ onFrame: (frame) => refuse(frame), onError: () => refuse(undefined) });
    const silent = setTimeout(() => refuse(undefined), SILENT_CLIENT_MS);
    silent.unref();
    return {
      onData: (chunk) => {
        if (!done) parser.push(chunk);
      },
      onTransportDrain: () => undefined,
      onTransportClose: () => {
        done = true;
        clearTimeout(silent);
      },
    };
  };
}

/** Opens the refusing STOMP, WebSocket and TLS listeners on the configured ports. */
export async function openRefusingListeners(config: BrokerConfig, accept: Acceptor): Promise<{ listeners: Listener[]; addresses: ClientAddresses }> {
  const listeners: Listener[] = [];
  try {
    const stomp = await listenTcp(config.stomp, accept);
    listeners.push(stomp);
    const addresses: ClientAddresses = { stomp: stomp.address };
    if (config.websocket.enabled) {
      const ws = await listenWs(config.websocket, accept, { maxPayload: 1024 * 1024 });
      listeners.push(ws);
      addresses.websocket = ws.address;
    }
    if (config.tls !== undefined) {
      const tls = await listenTls(config.tls, accept);
      listeners.push(tls);
      addresses.tls = tls.address;
    }
    return { listeners, addresses };
  } catch (error) {
    await Promise.all(listeners.map((l) => l.close()));
    throw error;
  }
}
