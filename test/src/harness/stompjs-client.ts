// @stomp/stompjs (the browser STOMP client) over WebSocket, run in Node with the ws package as the
// socket; wrapped in promises like the TCP client.
import { Client, type IFrame, type IMessage, type StompSubscription } from '@stomp/stompjs';
import WebSocket from 'ws';
import { trackCloser } from './cleanup-registry.js';
import { Inbox } from './inbox.js';

export interface StompJsOptions {
  /** Send frames as binary WebSocket messages (needed for bodies that are not UTF-8). */
  binaryFrames?: boolean;
  connectHeaders?: Record<string, string>;
  path?: string;
}

export class StompJsSession {
  readonly errors = new Inbox<IFrame>();
  private nextReceipt = 1;
  private readonly untrack: () => void;

  private constructor(readonly client: Client) {
    this.untrack = trackCloser(() => void client.deactivate({ force: true }));
  }

  static connect(port: number, options: StompJsOptions = {}): Promise<StompJsSession> {
    const url = `ws://127.0.0.1:${port}${options.path ?? '/'}`;
    return new Promise((resolve, reject) => {
      const client = new Client({
        webSocketFactory: () => new WebSocket(url, ['v12.stomp', 'v11.stomp', 'v10.stomp']),
        connectHeaders: { host: 'localhost', ...options.connectHeaders },
        reconnectDelay: 0,
        heartbeatIncoming: 0,
        heartbeatOutgoing: 0,
        connectionTimeout: 5000,
        forceBinaryWSFrames: options.binaryFrames ?? false,
      });
      const session = new StompJsSession(client);
      client.onConnect = () => resolve(session);
      client.onStompError = (frame) => {
        session.errors.push(frame);
        reject(new Error(`ERROR frame: ${frame.headers['message'] ?? ''}`));
      };
      client.onWebSocketError = () => reject(new Error(`WebSocket error connecting to ${url}`));
      client.onWebSocketClose = () => reject(new Error(`WebSocket closed before CONNECTED (${url})`));
      client.activate();
    });
  }

  /** SEND with a receipt; a Uint8Array body goes as binaryBody. */
  send(destination: string, body: string | Uint8Array, headers: Record<string, string> = {}): Promise<void> {
    const receipt = `ws-receipt-${this.nextReceipt++}`;
    const done = this.receipt(receipt);
    if (typeof body === 'string') this.client.publish({ destination, body, headers: { ...headers, receipt } });
    else this.client.publish({ destination, binaryBody: body, headers: { ...headers, receipt } });
    return done;
  }

  async subscribe(destination: string, headers: Record<string, string> = {}): Promise<{ inbox: Inbox<IMessage>; subscription: StompSubscription }> {
    const inbox = new Inbox<IMessage>();
    const receipt = `ws-receipt-${this.nextReceipt++}`;
    const done = this.receipt(receipt);
    const subscription = this.client.subscribe(destination, (message) => inbox.push(message), { ...headers, receipt });
    await done;
    return { inbox, subscription };
  }

  async close(): Promise<void> {
    await this.client.deactivate();
    this.untrack();
  }

  private receipt(id: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no RECEIPT ${id} within 5000 ms`)), 5000);
      this.client.watchForReceipt(id, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
