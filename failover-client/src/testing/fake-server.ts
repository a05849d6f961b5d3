// A scripted STOMP server for the client's tests: it answers CONNECT and receipts like a broker,
// records every frame, and lets a test push MESSAGEs, withhold receipts, cut connections and
// stop or restart listening on the same port. 127.0.0.1 only.
import net from 'node:net';
import { encodeFrame, header, type Frame } from '../frame.js';
import { FrameParser } from '../frame-parser.js';

export interface FakeConnection {
  socket: net.Socket;
  frames: Frame[];
  /** The CONNECT frame's headers. */
  connect: Frame | undefined;
  closed: boolean;
  send(frame: Frame): void;
}

export interface FakeServerOptions {
  /** CONNECTED's heart-beat header; "0,0" by default. */
  heartbeat?: string;
  /** Return false to withhold the RECEIPT for a frame (it never comes). */
  receipt?: (frame: Frame, connection: FakeConnection) => boolean;
  /** Answer CONNECT with this ERROR frame instead of CONNECTED. */
  refuseConnect?: () => Frame | undefined;
}

export class FakeServer {
  readonly connections: FakeConnection[] = [];
  port = 0;
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();

  constructor(public options: FakeServerOptions = {}) {}

  /** Listens on `port` (0: a free one, remembered for restarts). */
  async start(port = this.port): Promise<this> {
    const server = net.createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as net.AddressInfo).port;
    return this;
  }

  get uri(): string {
    return `stomp://127.0.0.1:${this.port}`;
  }

  /** Every frame received with this command, across connections. */
  framesOf(command: string): Frame[] {
    return this.connections.flatMap((c) => c.frames.filter((f) => f.command === command));
  }

  /** The latest connection that completed CONNECT. */
  get latest(): FakeConnection | undefined {
    return [...this.connections].reverse().find((c) => c.connect !== undefined);
  }

  /** Cuts every open connection at once (like a crash), keeping the listener. */
  dropConnections(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  /** Stops listening and cuts every connection. */
  async stop(): Promise<void> {
    this.dropConnections();
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    const parser = new FrameParser();
    const connection: FakeConnection = {
      socket,
      frames: [],
      connect: undefined,
      closed: false,
      send: (frame) => {
        if (!socket.destroyed) socket.write(encodeFrame(frame));
      },
    };
    this.connections.push(connection);
    socket.on('close', () => {
      connection.closed = true;
      this.sockets.delete(socket);
    });
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => {
      let frames: Frame[];
      try {
        frames = parser.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const frame of frames) this.handle(connection, frame);
    });
  }

  private handle(connection: FakeConnection, frame: Frame): void {
    connection.frames.push(frame);
    if (frame.command === 'CONNECT' || frame.command === 'STOMP') {
      const refusal = this.options.refuseConnect?.();
      if (refusal !== undefined) {
        connection.send(refusal);
        connection.socket.end();
        return;
      }
      connection.connect = frame;
      connection.send({
        command: 'CONNECTED',
        headers: [['version', '1.2'], ['heart-beat', this.options.heartbeat ?? '0,0'], ['server', 'fake/1'], ['session', `s-${this.connections.length}`]],
        body: Buffer.alloc(0),
      });
      return;
    }
    const receipt = header(frame, 'receipt');
    if (receipt !== undefined && (this.options.receipt?.(frame, connection) ?? true)) {
      connection.send({ command: 'RECEIPT', headers: [['receipt-id', receipt]], body: Buffer.alloc(0) });
    }
    if (frame.command === 'DISCONNECT') connection.socket.end();
  }
}

/** A MESSAGE frame for a subscription, as a broker would deliver it. */
export function messageFrame(subscription: string, ack: string, body: string, extra: Array<[string, string]> = []): Frame {
  return {
    command: 'MESSAGE',
    headers: [['subscription', subscription], ['message-id', `m-${ack}`], ['destination', '/queue/q'], ['ack', ack], ...extra],
    body: Buffer.from(body),
  };
}

/** A port that was free a moment ago and has nothing listening on it now. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Polls until `check` holds, or fails naming `what`. */
export async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
