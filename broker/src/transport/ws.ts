// STOMP over WebSocket (the `ws` package) on its own port. Subprotocols v12.stomp, v11.stomp and
// v10.stomp; a message, text or binary, may hold any number of frames or parts of one, so messages
// are fed to the session's parser as a byte stream.
import { createServer } from 'node:http';
import { isUtf8 } from 'node:buffer';
import { WebSocketServer, type WebSocket } from 'ws';
import type { WebSocketConfig } from '../config/schema.js';
import { closeServer, listen } from './listen.js';
import { LINGER_MS, WRITE_HIGH_WATER, type Acceptor, type Listener } from './types.js';

/** Highest first: the client's best offer wins. */
export const STOMP_SUBPROTOCOLS = ['v12.stomp', 'v11.stomp', 'v10.stomp'] as const;

export interface WsListenerOptions {
  /** Largest WebSocket message; the STOMP parser still enforces the frame limits. */
  maxPayload: number;
}

export async function listenWs(config: WebSocketConfig, accept: Acceptor, options: WsListenerOptions): Promise<Listener> {
  const server = createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
    res.end('This port speaks STOMP over WebSocket.\n');
  });
  const wss = new WebSocketServer({
    server,
    path: config.path,
    maxPayload: options.maxPayload,
    perMessageDeflate: false,
    clientTracking: false,
    handleProtocols: (offered) => STOMP_SUBPROTOCOLS.find((p) => offered.has(p)) ?? false,
  });
  const sockets = new Set<WebSocket>();
  wss.on('connection', (ws, req) => {
    sockets.add(ws);
    attachWebSocket(ws, `${req.socket.remoteAddress ?? 'unknown'}:${req.socket.remotePort ?? 0}`, accept);
    ws.once('close', () => sockets.delete(ws));
  });
  // Errors on the shared http server surface through listen() or per connection.
  wss.on('error', () => undefined);
  const address = await listen(server, config.host, config.port, 'STOMP over WebSocket');
  return {
    address,
    async close() {
      const closed = closeServer(server);
      wss.close();
      // Sessions end their sockets first; this catches upgrades still in flight.
      for (const ws of sockets) ws.terminate();
      await closed;
    },
  };
}

function attachWebSocket(ws: WebSocket, remoteAddress: string, accept: Acceptor): void {
  let buffered = 0;
  let full = false;
  let linger: NodeJS.Timeout | undefined;
  const handler = accept({
    remoteAddress,
    protocol: 'stomp+ws',
    write(chunks) {
      if (ws.readyState !== ws.OPEN) return true;
      for (const chunk of chunks) {
        buffered += chunk.length;
        // Text where the bytes allow, since browser clients handle text most easily.
        ws.send(chunk, { binary: !isUtf8(chunk) }, () => sent(chunk.length));
      }
      if (buffered >= WRITE_HIGH_WATER) full = true;
      return !full;
    },
    pause: () => ws.pause(),
    resume: () => ws.resume(),
    end() {
      if (ws.readyState === ws.CLOSED) return;
      ws.resume(); // as for a socket: a paused WebSocket never reads the peer's close frame
      ws.close(1000);
      linger ??= setTimeout(() => ws.terminate(), LINGER_MS);
      linger.unref();
    },
  });
  function sent(bytes: number): void {
    buffered -= bytes;
    if (full && buffered < WRITE_HIGH_WATER / 2) {
      full = false;
      handler.onTransportDrain();
    }
  }
  ws.on('message', (data: Buffer) => handler.onData(data));
  ws.on('error', () => undefined);
  ws.on('close', () => {
    if (linger !== undefined) clearTimeout(linger);
    handler.onTransportClose();
  });
}
