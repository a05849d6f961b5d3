// A minimal STOMP client over net, used by the benchmark (the same client for every broker measured)
// and by system tests that need exact control over frames, receipts and acknowledgements.
import net from 'node:net';
import { EventEmitter } from 'node:events';
import { encodeFrame, FrameDecoder, type WireFrame, type WireVersion } from './frame-codec.js';

export interface WireConnectOptions {
  host?: string;
  port: number;
  /** Extra CONNECT headers; accept-version defaults to 1.2 and host to the target host. */
  headers?: Record<string, string>;
  /** How long to wait for CONNECTED, ms. */
  timeoutMs?: number;
}

/** Raised when the server answers with an ERROR frame. */
export class StompErrorFrame extends Error {
  constructor(readonly frame: WireFrame) {
    super(`ERROR ${frame.headers['code'] ?? ''}: ${frame.headers['message'] ?? ''}`);
    this.name = 'StompErrorFrame';
  }
}

export class ConnectionClosedError extends Error {
  constructor(detail: string) {
    super(`connection closed: ${detail}`);
    this.name = 'ConnectionClosedError';
  }
}

type MessageListener = (frame: WireFrame) => void;

/**
 * Events: 'message' (frame), 'error-frame' (frame), 'close' (). Writes made in the same tick are
 * coalesced into one socket write, which keeps pipelined sends cheap for every broker alike.
 */
export class WireClient extends EventEmitter {
  readonly decoder = new FrameDecoder();
  connected?: WireFrame;
  errorFrame?: WireFrame;
  closed = false;
  private readonly receipts = new Map<string, { resolve: () => void; reject: (error: Error) => void }>();
  private readonly subscriptionListeners = new Map<string, MessageListener>();
  private nextReceipt = 1;
  private outgoing: Buffer[] = [];
  private flushScheduled = false;

  private constructor(readonly socket: net.Socket) {
    super();
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => this.onClose());
  }

  get version(): WireVersion {
    return this.decoder.version;
  }

  static async connect(options: WireConnectOptions): Promise<WireClient> {
    const host = options.host ?? '127.0.0.1';
    const socket = net.connect({ host, port: options.port });
    const client = new WireClient(socket);
    const headers = { 'accept-version': '1.2', host: 'localhost', ...options.headers };
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        client.destroy();
        reject(new Error(`no CONNECTED from ${host}:${options.port} within ${options.timeoutMs ?? 5000} ms`));
      }, options.timeoutMs ?? 5000);
      client.once('connected', () => {
        clearTimeout(timer);
        resolve();
      });
      client.once('close', () => {
        clearTimeout(timer);
        reject(client.errorFrame ? new StompErrorFrame(client.errorFrame) : new ConnectionClosedError('before CONNECTED'));
      });
      socket.once('connect', () => client.write(encodeFrame('CONNECT', headers)));
    });
    return client;
  }

  /** Sends a frame; with `receipt` the promise settles on the matching RECEIPT (or rejects on ERROR/close). */
  frame(command: string, headers: Record<string, string>, body: Buffer | string = Buffer.alloc(0), receipt = false): Promise<void> {
    if (this.closed) return Promise.reject(new ConnectionClosedError(`cannot send ${command}`));
    if (!receipt) {
      this.write(encodeFrame(command, headers, body, { version: this.version }));
      return Promise.resolve();
    }
    const id = String(this.nextReceipt++);
    const done = new Promise<void>((resolve, reject) => this.receipts.set(id, { resolve, reject }));
    this.write(encodeFrame(command, headers, body, { version: this.version, receipt: id }));
    return done;
  }

  send(destination: string, body: Buffer | string, headers: Record<string, string> = {}, receipt = false): Promise<void> {
    return this.frame('SEND', { destination, ...headers }, body, receipt);
  }

  subscribe(id: string, destination: string, headers: Record<string, string>, listener: MessageListener, receipt = false): Promise<void> {
    this.subscriptionListeners.set(id, listener);
    return this.frame('SUBSCRIBE', { id, destination, ack: 'auto', ...headers }, Buffer.alloc(0), receipt);
  }

  /** Acknowledges a MESSAGE by its `ack` header (1.2) or message-id (1.0/1.1). */
  ack(message: WireFrame, receipt = false, command: 'ACK' | 'NACK' = 'ACK'): Promise<void> {
    const headers: Record<string, string> =
      this.version === '1.2'
        ? { id: message.headers['ack'] ?? '' }
        : { 'message-id': message.headers['message-id'] ?? '', subscription: message.headers['subscription'] ?? '' };
    return this.frame(command, headers, Buffer.alloc(0), receipt);
  }

  /** Bytes as they are, for malformed-input tests. */
  writeRaw(bytes: Buffer | string): void {
    this.write(typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes);
  }

  async disconnect(timeoutMs = 5000): Promise<void> {
    if (this.closed) return;
    try {
      await withTimeout(this.frame('DISCONNECT', {}, Buffer.alloc(0), true), timeoutMs, 'DISCONNECT receipt');
    } catch {
      // The socket is torn down below either way; a missing receipt on disconnect is not a test subject here.
    }
    this.destroy();
  }

  destroy(): void {
    this.socket.destroy();
  }

  whenClosed(): Promise<void> {
    return this.closed ? Promise.resolve() : new Promise((resolve) => this.once('close', () => resolve()));
  }

  private write(buffer: Buffer): void {
    this.outgoing.push(buffer);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    process.nextTick(() => {
      this.flushScheduled = false;
      const batch = this.outgoing.length === 1 ? this.outgoing[0]! : Buffer.concat(this.outgoing);
      this.outgoing = [];
      if (!this.socket.destroyed) this.socket.write(batch);
    });
  }

  private onData(chunk: Buffer): void {
    let frames: WireFrame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (error) {
      this.emit('decode-error', error);
      this.destroy();
      return;
    }
    for (const frame of frames) this.onFrame(frame);
  }

  private onFrame(frame: WireFrame): void {
    switch (frame.command) {
      case 'CONNECTED': {
        this.connected = frame;
        const version = frame.headers['version'];
        this.decoder.version = version === '1.1' || version === '1.2' ? version : '1.0';
        this.emit('connected', frame);
        break;
      }
      case 'MESSAGE': {
        const listener = this.subscriptionListeners.get(frame.headers['subscription'] ?? '');
        if (listener) listener(frame);
        this.emit('message', frame);
        break;
      }
      case 'RECEIPT': {
        const id = frame.headers['receipt-id'] ?? '';
        const waiter = this.receipts.get(id);
        this.receipts.delete(id);
        waiter?.resolve();
        break;
      }
      case 'ERROR': {
        this.errorFrame = frame;
        const id = frame.headers['receipt-id'];
        const failure = new StompErrorFrame(frame);
        if (id !== undefined) {
          this.receipts.get(id)?.reject(failure);
          this.receipts.delete(id);
        }
        this.emit('error-frame', frame);
        break;
      }
      default:
        this.emit('unexpected-frame', frame);
    }
  }

  private onClose(): void {
    this.closed = true;
    const failure = this.errorFrame ? new StompErrorFrame(this.errorFrame) : new ConnectionClosedError('socket closed');
    for (const waiter of this.receipts.values()) waiter.reject(failure);
    this.receipts.clear();
    this.emit('close');
  }
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
