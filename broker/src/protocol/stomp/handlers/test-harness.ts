// Test support for the session and handler tests: a fake core that records every call, a fake
// transport that captures written bytes, and a manual clock. Not used by the broker itself.
import { silentLogger } from '@tandem-mq/shared-store';
import type {
  AckOptions,
  AckRef,
  BrokerCore,
  ConnectionInfo,
  ConnectionSink,
  CoreConnection,
  Delivery,
  DestinationStats,
  SendRequest,
  SubscribeRequest,
} from '../../../core/types.js';
import { header, type StompFrame, type StompVersion } from '../frame.js';
import { StompParser } from '../parser.js';
import { serializeFrame } from '../serializer.js';
import { StompSession, type SessionTransport, type StompSessionOptions } from '../session.js';
import type { Clock } from './heartbeat.js';

export type Call = { method: string; args: unknown[] };

export class FakeConnection implements CoreConnection {
  readonly calls: Call[] = [];
  closed = false;
  drainedCalls = 0;
  /** What the next async call returns; resolved by default. */
  next: () => Promise<void> = () => Promise.resolve();
  /** Thrown by begin/abort when set. */
  syncError: Error | undefined;

  constructor(
    readonly id: string,
    readonly info: ConnectionInfo,
    readonly sink: ConnectionSink,
  ) {}

  resolveDestination(destination: string): string {
    return destination.startsWith('/temp-queue/') ? `/temp-queue/${this.id}-${destination.slice('/temp-queue/'.length)}` : destination;
  }

  send(request: SendRequest, transactionId?: string): Promise<void> {
    return this.record('send', request, transactionId);
  }
  subscribe(request: SubscribeRequest): Promise<void> {
    return this.record('subscribe', request);
  }
  unsubscribe(subscriptionId: string, removeDurable?: boolean, durableName?: string): Promise<void> {
    return this.record('unsubscribe', subscriptionId, removeDurable, durableName);
  }
  /** The options of each ack() call, in order (kept apart so `calls` reads as the frames named them). */
  readonly ackOptions: Array<AckOptions | undefined> = [];

  ack(ref: AckRef, transactionId?: string, options?: AckOptions): Promise<void> {
    this.ackOptions.push(options);
    return this.record('ack', ref, transactionId);
  }
  /** Recorded, and settled at once: `next` is for the frame's own work. */
  sync(): Promise<void> {
    this.calls.push({ method: 'sync', args: [] });
    return Promise.resolve();
  }
  nack(ref: AckRef, transactionId?: string): Promise<void> {
    return this.record('nack', ref, transactionId);
  }
  begin(transactionId: string): void {
    this.calls.push({ method: 'begin', args: [transactionId] });
    if (this.syncError !== undefined) throw this.syncError;
  }
  commit(transactionId: string): Promise<void> {
    return this.record('commit', transactionId);
  }
  abort(transactionId: string): void {
    this.calls.push({ method: 'abort', args: [transactionId] });
    if (this.syncError !== undefined) throw this.syncError;
  }
  drained(): void {
    this.drainedCalls++;
  }
  close(): void {
    this.closed = true;
  }

  /** The calls to one method, each as its argument list. */
  argsOf(method: string): unknown[][] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }

  private record(method: string, ...args: unknown[]): Promise<void> {
    this.calls.push({ method, args });
    return this.next();
  }
}

export class FakeCore implements BrokerCore {
  readonly connections: FakeConnection[] = [];
  openError: Error | undefined;

  openConnection(info: ConnectionInfo, sink: ConnectionSink): CoreConnection {
    if (this.openError !== undefined) throw this.openError;
    const connection = new FakeConnection(`conn-${this.connections.length + 1}`, info, sink);
    this.connections.push(connection);
    return connection;
  }

  destinations(): DestinationStats[] {
    return [];
  }

  get last(): FakeConnection {
    const connection = this.connections.at(-1);
    if (connection === undefined) throw new Error('no connection was opened');
    return connection;
  }
}

export class FakeTransport implements SessionTransport {
  readonly remoteAddress = '127.0.0.1:40000';
  readonly protocol = 'stomp+test';
  readonly writes: Buffer[][] = [];
  ended = false;
  paused = false;
  /** What write() reports: false pretends the socket's buffer is full. */
  accepting = true;

  write(chunks: Buffer[]): boolean {
    this.writes.push(chunks);
    return this.accepting;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  end(): void {
    this.ended = true;
  }
  get bytes(): Buffer {
    return Buffer.concat(this.writes.flat());
  }
}

/** A clock whose time moves only when a test says so. */
export class ManualClock implements Clock {
  private time = 1_000_000;
  private timers: Array<{ every: number; due: number; fn: () => void; live: boolean }> = [];

  now(): number {
    return this.time;
  }

  every(ms: number, fn: () => void): () => void {
    const timer = { every: ms, due: this.time + ms, fn, live: true };
    this.timers.push(timer);
    return () => {
      timer.live = false;
    };
  }

  /** Moves time forward, firing each timer as its moments pass, in order. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const next = this.timers.filter((t) => t.live && t.due <= end).sort((a, b) => a.due - b.due)[0];
      if (next === undefined) break;
      this.time = next.due;
      next.due += next.every;
      next.fn();
    }
    this.time = end;
    this.timers = this.timers.filter((t) => t.live);
  }

  get liveTimers(): number {
    return this.timers.filter((t) => t.live).length;
  }
}

/** Lets setImmediate-batched writes and promise callbacks run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}

export function frame(command: string, headers: Array<[string, string]> = [], body: string | Buffer = ''): StompFrame {
  return { command, headers, body: typeof body === 'string' ? Buffer.from(body) : body };
}

/** A session wired to fakes, with helpers to talk to it as a client would. */
export class SessionHarness {
  readonly core = new FakeCore();
  readonly transport = new FakeTransport();
  readonly clock = new ManualClock();
  readonly session: StompSession;
  closedCalls = 0;
  /** The version the client writes in; set by connect(). */
  version: StompVersion = '1.0';

  constructor(options: Partial<StompSessionOptions> = {}) {
    this.session = new StompSession({
      core: this.core,
      transport: this.transport,
      logger: silentLogger(),
      heartbeat: { send: 10_000, receive: 10_000 },
      clock: this.clock,
      onClosed: () => this.closedCalls++,
      ...options,
    });
  }

  get connection(): FakeConnection {
    return this.core.last;
  }

  /** Writes client frames; the bytes pass through the real serializer and parser. */
  send(...frames: StompFrame[]): void {
    for (const f of frames) this.session.onData(serializeFrame(f, f.command === 'CONNECT' || f.command === 'STOMP' ? '1.0' : this.version));
  }

  sendBytes(bytes: string | Buffer): void {
    this.session.onData(typeof bytes === 'string' ? Buffer.from(bytes) : bytes);
  }

  /** Connects and returns the CONNECTED frame. */
  async connect(headers: Array<[string, string]> = [['accept-version', '1.2']]): Promise<StompFrame> {
    this.send(frame('CONNECT', headers));
    await settle();
    const [connected] = this.received();
    if (connected?.command !== 'CONNECTED') throw new Error(`expected CONNECTED, got ${connected?.command ?? 'nothing'}`);
    this.version = (header(connected, 'version') as StompVersion | undefined) ?? '1.0';
    return connected;
  }

  deliver(delivery: Partial<Delivery> = {}): void {
    this.connection.sink.deliver(testDelivery(delivery));
  }

  /** Everything the server has written, parsed back into frames (heart-beat EOLs are skipped). */
  received(): StompFrame[] {
    const frames: StompFrame[] = [];
    const parser = new StompParser({
      onFrame: (f) => {
        frames.push(f);
        if (f.command === 'CONNECTED') parser.version = (header(f, 'version') as StompVersion | undefined) ?? '1.0';
      },
      onError: (error) => {
        throw error;
      },
    });
    parser.push(this.transport.bytes);
    return frames;
  }

  /** The last frame the server wrote. */
  lastFrame(): StompFrame | undefined {
    return this.received().at(-1);
  }
}

export { header };

/** A delivery of 'hello' on /queue/a, subscription sub-1, with `overrides` applied. */
export function testDelivery(overrides: Partial<Delivery> = {}): Delivery {
  return {
    subscriptionId: 'sub-1',
    ackId: '7',
    messageId: 'ID:m-1',
    destination: '/queue/a',
    headers: {},
    body: Buffer.from('hello'),
    persistent: false,
    priority: 4,
    expires: 0,
    timestamp: 1_700_000_000_000,
    redelivered: false,
    redeliveryCount: 0,
    ...overrides,
  };
}
