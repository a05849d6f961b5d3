// A plain TCP socket for malformed input: write any bytes, read whatever frames come back, and
// see whether and when the server closes the connection.
import net from 'node:net';
import { encodeFrame, FrameDecoder, type WireFrame } from '../wire/frame-codec.js';
import { trackCloser } from './cleanup-registry.js';
import { Inbox } from './inbox.js';

export class RawSocket {
  readonly frames = new Inbox<WireFrame>();
  readonly decoder = new FrameDecoder();
  readonly closed: Promise<void>;
  isClosed = false;
  /** Set when the server's bytes could not be decoded as frames. */
  decodeError?: Error;
  private readonly untrack: () => void;

  private constructor(readonly socket: net.Socket) {
    this.untrack = trackCloser(() => socket.destroy());
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      if (this.decodeError) return;
      try {
        for (const frame of this.decoder.push(chunk)) this.frames.push(frame);
      } catch (error) {
        this.decodeError = error instanceof Error ? error : new Error(String(error));
      }
    });
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        this.untrack();
        this.frames.fail(new Error('connection closed'));
        resolve();
      }),
    );
  }

  static open(port: number, host = '127.0.0.1'): Promise<RawSocket> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      socket.once('connect', () => {
        socket.removeListener('error', reject);
        resolve(new RawSocket(socket));
      });
      socket.once('error', reject);
    });
  }

  /** Opens a socket and completes a CONNECT (1.2 unless the headers say otherwise). */
  static async connectStomp(port: number, headers: Record<string, string> = {}): Promise<RawSocket> {
    const raw = await RawSocket.open(port);
    raw.write(encodeFrame('CONNECT', { 'accept-version': '1.2', host: 'localhost', ...headers }));
    const connected = await raw.nextFrame();
    if (connected.command !== 'CONNECTED') {
      raw.destroy();
      throw new Error(`expected CONNECTED, got ${connected.command}: ${connected.headers['message'] ?? ''}`);
    }
    const version = connected.headers['version'];
    raw.decoder.version = version === '1.1' || version === '1.0' ? version : version === undefined ? '1.0' : '1.2';
    return raw;
  }

  /** Encodes and writes a frame (headers escaped for the negotiated version). */
  send(command: string, headers: Record<string, string>, body: Buffer | string = ''): void {
    this.write(encodeFrame(command, headers, body, { version: this.decoder.version }));
  }

  write(bytes: Buffer | string): void {
    if (!this.socket.destroyed) this.socket.write(bytes, () => undefined);
  }

  /** The next frame, or the first with the given command (others are dropped). */
  async nextFrame(command?: string, timeoutMs = 5000): Promise<WireFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const frame = await this.frames.next(Math.max(1, deadline - Date.now()), command ?? 'a frame');
      if (command === undefined || frame.command === command) return frame;
    }
  }

  /** True if the server closed the connection within the time. */
  async waitClosed(timeoutMs = 5000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const result = await Promise.race([this.closed.then(() => true), timeout]);
    clearTimeout(timer);
    return result;
  }

  destroy(): void {
    this.socket.destroy();
  }
}
