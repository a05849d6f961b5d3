// The replication endpoint: an HTTP(S) server that upgrades to WebSocket with our subprotocol and
// hands every link to whoever handles links right now. The standalone receiver owns one; a broker
// owns one for its whole term as active and switches the handler when its region role changes.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { DEFAULT_MAX_MESSAGE_SIZE, WS_SUBPROTOCOL } from './protocol.js';

export interface LinkServerTls {
  cert: string | Buffer;
  key: string | Buffer;
  /** With `requestCert`: the CA client certificates must chain to. */
  ca?: string | Buffer;
  requestCert?: boolean;
}

export interface LinkServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Only this URL path is served; undefined serves every path. */
  path?: string;
  tls?: LinkServerTls;
  maxMessageBytes?: number;
}

export type LinkHandler = (ws: WebSocket, peer: string) => void;

export class LinkServer {
  private server: http.Server | https.Server | undefined;
  private wss: WebSocketServer | undefined;
  private handler: LinkHandler;

  constructor(
    private readonly options: LinkServerOptions,
    handler: LinkHandler,
  ) {
    this.handler = handler;
  }

  /** Who gets the next link; links already handed out stay where they are. */
  setHandler(handler: LinkHandler): void {
    this.handler = handler;
  }

  get address(): AddressInfo | undefined {
    return this.server?.address() as AddressInfo | undefined;
  }

  async listen(): Promise<AddressInfo> {
    const server = this.options.tls === undefined ? http.createServer() : https.createServer({ ...this.options.tls });
    server.on('request', (_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('this endpoint speaks the Tandem MQ replication protocol over WebSocket\n');
    });
    const wss = new WebSocketServer({
      server,
      ...(this.options.path === undefined ? {} : { path: this.options.path }),
      perMessageDeflate: false,
      maxPayload: this.options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_SIZE,
      handleProtocols: (protocols) => (protocols.has(WS_SUBPROTOCOL) ? WS_SUBPROTOCOL : false),
    });
    wss.on('connection', (ws, req) => this.handler(ws, `${req.socket.remoteAddress}:${req.socket.remotePort}`));
    wss.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.wss = wss;
    return server.address() as AddressInfo;
  }

  /** Stops accepting and cuts every link still open. */
  async close(): Promise<void> {
    const { wss, server } = this;
    this.wss = undefined;
    this.server = undefined;
    for (const client of wss?.clients ?? []) client.close(1001, 'endpoint closing');
    if (wss !== undefined) await new Promise<void>((resolve) => wss.close(() => resolve()));
    for (const client of wss?.clients ?? []) client.terminate();
    if (server !== undefined) {
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }
}
