// One STOMP connection, whatever carries its bytes: bytes in through the parser, frames to their
// handlers, replies and deliveries out in batched writes; plus heart-beats, flow control in both
// directions, and the rule that an ERROR ends the connection.
import type { Logger } from '@tandem-mq/shared-store';
import { BrokerError } from '../../errors.js';
import type { BrokerCore, ConnectionSink, CoreConnection, Delivery } from '../../core/types.js';
import { header, type StompFrame, type StompLimits, type StompVersion } from './frame.js';
import { StompParser } from './parser.js';
import { HEARTBEAT_EOL, breaksUnescapedName, serializeFrame, withoutLineBreaks } from './serializer.js';
import { handleConnect } from './handlers/connect.js';
import type { HandlerContext } from './handlers/context.js';
import { HeartbeatMonitor, systemClock, type Clock, type HeartbeatOffer } from './handlers/heartbeat.js';
import { handlerFor } from './handlers/index.js';
import { errorFrame, type CodedError } from './handlers/outbound.js';
import { encodeMessage, encodeReceipt } from './message-encoder.js';
import { Outbox } from './outbox.js';

/** What a transport (TCP, TLS, WebSocket) gives a session. Transports only move bytes. */
export interface SessionTransport {
  readonly remoteAddress: string;
  /** Reported to the core, e.g. "stomp+tcp". */
  readonly protocol: string;
  /**
   * Writes the chunks in order, in one batch where the transport can. Returns false when its
   * buffer is over its mark; it then calls the session's onTransportDrain() once there is room.
   */
  write(chunks: Buffer[]): boolean;
  /** Stops and restarts reading, while too much of the client's earlier work is pending. */
  pause(): void;
  resume(): void;
  /** Closes once written bytes are flushed; the transport then calls onTransportClose(). */
  end(): void;
}

export interface StompSessionOptions {
  core: BrokerCore;
  transport: SessionTransport;
  logger: Logger;
  /** The server's heart-beat offer in CONNECTED, ms. */
  heartbeat: HeartbeatOffer;
  limits?: Partial<StompLimits>;
  clock?: Clock;
  /** How many heart-beat intervals of silence are tolerated; default 1.5. */
  heartbeatGrace?: number;
  /** A connection that sends no CONNECT within this is closed; default 30 s. */
  connectTimeoutMs?: number;
  /** Frames whose work is still pending before reading pauses; default 1024. */
  maxPendingOperations?: number;
  /** Called once, when the transport has closed. */
  onClosed?: () => void;
}

type State = 'awaiting-connect' | 'connected' | 'disconnecting' | 'closing' | 'closed';

/** Buffered output past which the core is told to hold deliveries. */
const OUTBOX_HIGH_WATER = 256 * 1024;

export class StompSession implements ConnectionSink {
  private state: State = 'awaiting-connect';
  private version: StompVersion = '1.0';
  private connection: CoreConnection | undefined;
  private clientId: string | undefined;
  private readonly parser: StompParser;
  private heartbeat: HeartbeatMonitor | undefined;
  private stopConnectTimer: (() => void) | undefined;

  private readonly outbox: Outbox;
  /** A message transport (WebSocket) gets each frame as a chunk of its own, sent as one message. */
  private readonly framePerChunk: boolean;
  private flushScheduled = false;
  private transportFull = false;
  /** The core was told "not writable" and waits for drained(). */
  private coreWaiting = false;

  /** The work of earlier frames, each settling after its RECEIPT or ERROR is queued. */
  private readonly inflight = new Set<Promise<void>>();
  private readingPaused = false;
  private closeRequested = false;
  private readonly maxPending: number;
  private readonly context: HandlerContext;

  constructor(private readonly options: StompSessionOptions) {
    this.maxPending = options.maxPendingOperations ?? 1024;
    // Some STOMP-over-WebSocket clients read one frame per message, as the broker always sent them.
    this.framePerChunk = options.transport.protocol.endsWith('+ws');
    this.outbox = new Outbox({ frames: this.framePerChunk });
    this.parser = new StompParser({
      limits: options.limits ?? {},
      onFrame: (frame) => this.onFrame(frame),
      // A bad frame's receipt, when its header was read before the fault, is echoed (STOMP 1.2 "ERROR").
      onError: (error, partial) => this.fail(error, undefined, partial === undefined ? undefined : header(partial, 'receipt')),
    });
    const session = this;
    this.context = {
      get version() {
        return session.version;
      },
      get connection() {
        return session.connection!;
      },
      get clientId() {
        return session.clientId;
      },
      settled: () => this.settled(),
      closeAfterReply: () => {
        this.closeRequested = true;
      },
    };
    const clock = options.clock ?? systemClock;
    const connectTimeout = options.connectTimeoutMs ?? 30_000;
    const stop = clock.every(connectTimeout, () => {
      stop();
      if (this.state === 'awaiting-connect') {
        this.fail(new BrokerError('TANDEM_ERR_NOT_CONNECTED', `No CONNECT frame within ${connectTimeout} ms`));
      }
    });
    this.stopConnectTimer = stop;
  }

  /** Bytes from the client. */
  onData(chunk: Buffer): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.heartbeat?.noteRead();
    try {
      this.parser.push(chunk);
    } catch (error) {
      // Only a bug gets here (handlers report through fail()); the parser has stopped reading.
      this.fail(error);
    }
  }

  /** The transport has room again. */
  onTransportDrain(): void {
    this.transportFull = false;
    this.wakeCore();
  }

  /** The transport closed, from either side. */
  onTransportClose(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.stopTimers();
    this.outbox.clear();
    this.releaseConnection();
    this.options.onClosed?.();
  }

  /**
   * The broker is stopping. Reads nothing more and dispatches nothing more, but lets the work
   * already handed to the core settle, so every RECEIPT earned is written (an ACK the store applied
   * is never left unconfirmed); then closes without an ERROR, and clients fail over.
   */
  async shutdown(graceMs = 5000): Promise<void> {
    if (this.state === 'closing' || this.state === 'closed') return;
    if (this.state === 'connected') {
      this.state = 'disconnecting';
      this.options.transport.pause();
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
        timer.unref();
      });
      await Promise.race([this.settled(), grace]);
      clearTimeout(timer);
    }
    this.close();
  }

  // ConnectionSink

  deliver(delivery: Delivery): void {
    if (this.state !== 'connected') return;
    encodeMessage(this.outbox, delivery, this.version);
    this.queued();
  }

  isWritable(): boolean {
    // Past DISCONNECT or while stopping, nothing more should be put in flight.
    if (this.state !== 'connected') return false;
    if (!this.transportFull && this.outbox.length < OUTBOX_HIGH_WATER) return true;
    this.coreWaiting = true;
    return false;
  }

  // Frames

  private onFrame(frame: StompFrame): void {
    if (this.state === 'awaiting-connect') {
      this.connect(frame);
      return;
    }
    // After DISCONNECT or an ERROR nothing more is read (STOMP 1.2 "DISCONNECT").
    if (this.state !== 'connected') return;
    const receipt = header(frame, 'receipt');
    this.closeRequested = false;
    let result: void | Promise<void>;
    try {
      result = handlerFor(frame.command)(this.context, frame);
    } catch (error) {
      this.fail(error, frame, receipt);
      return;
    }
    const closeAfter = this.closeRequested;
    if (closeAfter) this.state = 'disconnecting';
    if (result === undefined) {
      this.replied(receipt, closeAfter, this.inflight.size === 0);
      return;
    }
    this.track(result, frame, receipt, closeAfter);
  }

  /** STOMP 1.2 "Connecting": only CONNECT or STOMP may come first. */
  private connect(frame: StompFrame): void {
    const receipt = header(frame, 'receipt');
    if (frame.command !== 'CONNECT' && frame.command !== 'STOMP') {
      this.fail(new BrokerError('TANDEM_ERR_NOT_CONNECTED', `${frame.command.slice(0, 64)} before CONNECT; the first frame must be CONNECT or STOMP`), frame, receipt);
      return;
    }
    try {
      const { transport, core, heartbeat } = this.options;
      const connected = handleConnect(frame, {
        core,
        sink: this,
        remoteAddress: transport.remoteAddress,
        protocol: transport.protocol,
        heartbeat,
      });
      this.state = 'connected';
      this.version = connected.version;
      this.parser.version = connected.version;
      this.connection = connected.connection;
      this.clientId = connected.clientId;
      this.stopConnectTimer?.();
      this.stopConnectTimer = undefined;
      // CONNECTED is never escaped (STOMP 1.2 "Value Encoding"), so it is written as 1.0.
      this.queue(serializeFrame(connected.reply, '1.0'));
      this.startHeartbeat(connected.heartbeat.sendEvery, connected.heartbeat.expectEvery);
      this.options.logger.debug(
        { event: 'stomp.connected', session: connected.connection.id, version: this.version, clientId: this.clientId, remote: transport.remoteAddress },
        'STOMP client connected',
      );
    } catch (error) {
      this.fail(error, frame, receipt);
    }
  }

  private startHeartbeat(sendEvery: number, expectEvery: number): void {
    if (sendEvery === 0 && expectEvery === 0) return;
    this.heartbeat = new HeartbeatMonitor(
      this.options.clock ?? systemClock,
      { sendEvery, expectEvery },
      {
        beat: () => this.queue(HEARTBEAT_EOL),
        timedOut: (silentMs) => {
          this.options.logger.info(
            { event: 'stomp.heartbeat_timeout', session: this.connection?.id, silentMs, expectEvery },
            'closing a STOMP connection whose heart-beats stopped',
          );
          this.fail(new BrokerError('TANDEM_ERR_HEARTBEAT_TIMEOUT', `No data from the client for ${silentMs} ms; the negotiated heart-beat was ${expectEvery} ms`));
        },
      },
      this.options.heartbeatGrace,
    );
  }

  private track(work: Promise<void>, frame: StompFrame, receipt: string | undefined, closeAfter: boolean): void {
    const arrivedAlone = this.inflight.size === 0;
    const done: Promise<void> = work.then(
      () => {
        this.untrack(done);
        this.replied(receipt, closeAfter, arrivedAlone && this.inflight.size === 0);
      },
      (error: unknown) => {
        this.untrack(done);
        this.fail(error, frame, receipt);
      },
    );
    this.inflight.add(done);
    if (this.inflight.size >= this.maxPending && !this.readingPaused) {
      this.readingPaused = true;
      this.options.transport.pause();
    }
  }

  private untrack(done: Promise<void>): void {
    this.inflight.delete(done);
    if (this.readingPaused && this.inflight.size <= this.maxPending / 2) {
      this.readingPaused = false;
      // Not while stopping or closed: nothing more is read then.
      if (this.state === 'connected') this.options.transport.resume();
    }
  }

  private settled(): Promise<void> {
    return Promise.allSettled([...this.inflight]).then(() => undefined);
  }

  /**
   * The frame's work is done: its RECEIPT (STOMP 1.2 "Header receipt"), then a close if it was
   * DISCONNECT. `alone`: no other frame of the client was in flight when it arrived or when it
   * completed, so the client is most likely waiting on this RECEIPT before it sends more (one
   * message at a time): it is written at once, with whatever was queued before it, ahead of the
   * deliveries the same store batch releases to other connections. A client streaming frames gets
   * its RECEIPTs with the turn's write, like its deliveries, which keeps it from running ahead of
   * the consumers the same turn serves.
   */
  private replied(receipt: string | undefined, closeAfter: boolean, alone: boolean): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    if (receipt !== undefined) {
      encodeReceipt(this.outbox, receipt, this.version);
      this.queued();
      if (alone) this.flush();
    }
    if (closeAfter) this.close();
  }

  /** STOMP 1.2 "ERROR": report, then close, since the server MUST close after an ERROR. */
  private fail(error: unknown, frame?: StompFrame, receipt?: string): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    const coded = asCodedError(error);
    if (coded.code === 'TANDEM_ERR_INTERNAL') {
      this.options.logger.error({ event: 'stomp.internal_error', err: error, session: this.connection?.id }, 'internal error on a STOMP connection');
    } else {
      this.options.logger.debug({ event: 'stomp.error', code: coded.code, session: this.connection?.id }, coded.message);
    }
    this.queue(this.encode(errorFrame(coded, frame, receipt)));
    this.close();
  }

  private close(): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.state = 'closing';
    this.stopTimers();
    this.flush();
    this.options.transport.end();
    this.releaseConnection();
  }

  /** The core returns unacknowledged deliveries and aborts open transactions. */
  private releaseConnection(): void {
    const connection = this.connection;
    this.connection = undefined;
    if (connection === undefined) return;
    try {
      connection.close();
    } catch (error) {
      this.options.logger.warn({ event: 'stomp.close_failed', err: error, session: connection.id }, 'closing the core connection failed');
    }
  }

  private stopTimers(): void {
    this.heartbeat?.stop();
    this.heartbeat = undefined;
    this.stopConnectTimer?.();
    this.stopConnectTimer = undefined;
  }

  /**
   * Serializes a frame other than MESSAGE and RECEIPT (those are encoded straight into the outbox).
   * A header the negotiated version cannot carry (a line break in a STOMP 1.0 value) is made
   * writable rather than failing.
   */
  private encode(frame: StompFrame): Buffer {
    try {
      return serializeFrame(frame, this.version);
    } catch {
      return serializeFrame({ ...frame, headers: frame.headers.filter(([n]) => !breaksUnescapedName(n)).map(([n, v]) => [n, withoutLineBreaks(v)]) }, this.version);
    }
  }

  // Output: written once per event-loop turn, so a burst of MESSAGEs or a group commit's worth of
  // RECEIPTs costs one syscall rather than one each. A RECEIPT a client is waiting on goes out at
  // once (see replied()). Either way the outbox goes out whole and in order.

  private queue(bytes: Buffer): void {
    this.outbox.bytes(bytes);
    this.queued();
  }

  /** A frame was added to the outbox: it goes out at the end of the turn at the latest. */
  private queued(): void {
    this.outbox.endFrame();
    this.heartbeat?.noteWrite();
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushTurn);
    }
  }

  private readonly flushTurn = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  private flush(): void {
    if (this.outbox.length === 0 || this.state === 'closed') return;
    const chunks = this.framePerChunk ? this.outbox.takeFrames() : this.outbox.take();
    if (!this.options.transport.write(chunks)) this.transportFull = true;
    this.wakeCore();
  }

  private wakeCore(): void {
    if (!this.coreWaiting || this.transportFull || this.outbox.length >= OUTBOX_HIGH_WATER) return;
    this.coreWaiting = false;
    if (this.state === 'connected') this.connection?.drained();
  }
}

/** A TandemError keeps its code (a store failure reads TANDEM_ERR_JOURNAL_FAILED); anything else is internal. */
function asCodedError(error: unknown): CodedError {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('TANDEM_ERR_')) return e as unknown as CodedError;
  }
  return { code: 'TANDEM_ERR_INTERNAL', message: 'Internal error; the broker log has the detail' };
}

/** Turns a connection away before it has a session (e.g. over maxConnections): one ERROR, then close. */
export function refuseTransport(transport: SessionTransport, error: CodedError): void {
  transport.write([serializeFrame(errorFrame(error), '1.0')]);
  transport.end();
}
