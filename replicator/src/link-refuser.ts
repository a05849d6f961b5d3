// The replication endpoint of a broker in the primary role: it takes no journal, so every link is
// refused, after the sender has proved it knows the token, with a refusal that names this region
// and its generation. That refusal is how a stale primary learns a newer one replaced it.
import { createHash, timingSafeEqual } from 'node:crypto';
import { WebSocket } from 'ws';
import { silentLogger, type Logger } from '@tandem-mq/shared-store';
import { type HelloMessage, type LinkMessage, type RefusalMessage } from './protocol.js';
import { decodeMessage, encodeMessage } from './protocol-codec.js';

export interface LinkRefuserOptions {
  token: string;
  /** The refusal for this hello (it knows the sender's generation). */
  refusal: (hello: HelloMessage) => RefusalMessage;
  logger?: Logger;
  helloTimeoutMs?: number;
}

/** Handles one link: waits for the hello, checks the token, refuses, closes. */
export function refuseLink(ws: WebSocket, peer: string, options: LinkRefuserOptions): void {
  const logger = options.logger ?? silentLogger();
  const send = (m: LinkMessage): void => {
    if (ws.readyState === WebSocket.OPEN) ws.send(encodeMessage(m), { binary: true });
  };
  const close = (code: number, reason: string): void => {
    ws.close(code, reason);
    setTimeout(() => ws.terminate(), 2000).unref();
  };
  const timer = setTimeout(() => close(1008, 'no hello in time'), options.helloTimeoutMs ?? 10_000);
  timer.unref();
  ws.once('message', (data: Buffer) => {
    clearTimeout(timer);
    let m: LinkMessage;
    try {
      m = decodeMessage(data);
    } catch (error) {
      send({ type: 'error', code: 'TANDEM_ERR_REPLICATION_PROTOCOL', message: (error as Error).message });
      return close(1008, 'TANDEM_ERR_REPLICATION_PROTOCOL');
    }
    if (m.type !== 'hello') {
      send({ type: 'error', code: 'TANDEM_ERR_REPLICATION_PROTOCOL', message: `expected hello, got ${m.type}` });
      return close(1008, 'TANDEM_ERR_REPLICATION_PROTOCOL');
    }
    if (!timingSafeEqual(digest(m.token), digest(options.token))) {
      logger.warn({ event: 'replication.auth-refused', peer, sender: m.sender }, 'refused a replication link: wrong token');
      send({ type: 'error', code: 'TANDEM_ERR_REPLICATION_AUTH', message: 'the replication token is not the one this endpoint expects' });
      return close(1008, 'TANDEM_ERR_REPLICATION_AUTH');
    }
    const refusal = options.refusal(m);
    if (!m.probe) {
      logger.info(
        { event: 'replication.link-refused', peer, sender: m.sender, region: m.region, generation: m.generation, code: refusal.code },
        `refused a replication link from ${m.sender} (${m.region} generation ${m.generation}): ${refusal.message}`,
      );
    }
    send(refusal);
    close(1008, refusal.code);
  });
  ws.on('error', () => undefined);
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
