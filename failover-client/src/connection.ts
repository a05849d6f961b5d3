// One STOMP 1.2 session over one link: the CONNECT handshake, heart-beats, receipts, and the
// frames the client acts on. It knows nothing of failover; when it dies it says so once, and the
// client decides what comes next.
import { clientError, FailoverClientError } from './errors.js';
import { encodeFrame, header, HEARTBEAT, type Frame } from './frame.js';
import { DEFAULT_PARSER_LIMITS, FrameParser } from './frame-parser.js';
import { HeartbeatMonitor, negotiateHeartbeat, parseHeartbeat, type HeartbeatOffer } from './heartbeat.js';
import { openLink, type Link, type TlsSettings } from './transport.js';
import type { Timers } from './timers.js';
import type { Endpoint } from './uri.js';

/** A receipt that can never come: the connection is gone. The client resends or fails the operation. */
export class ConnectionLostError extends Error {
  constructor(readonly reason: string) {
    super(`connection lost: ${reason}`);
    this.name = 'ConnectionLostError';
  }
}

export interface ConnectionOptions {
  /** login, passcode, client-id and the like, added to CONNECT. */
  connectHeaders: Array<[string, string]>;
  /** CONNECT's `host` header; the endpoint's host when undefined. */
  virtualHost: string | undefined;
  heartbeat: HeartbeatOffer;
  tls: TlsSettings;
  maxFrameSize: number;
  timers: Timers;
}

interface Waiter {
  resolve(frame: Frame): void;
  reject(error: Error): void;
}

export class StompConnection {
  /** Frames not answered here: MESSAGE, and ERROR (also routed to a waiting receipt). */
  onFrame: (frame: Frame) => void = () => undefined;
  /** Fires once when the connection is gone. */
  onClose: (reason: string) => void = () => undefined;
  session: string | undefined;
  server: string | undefined;
  private readonly receipts = new Map<string, Waiter>();
  private nextReceipt = 1;
  private closedReason: string | undefined;
  private heartbeat: HeartbeatMonitor | undefined;

  private constructor(
    readonly endpoint: Endpoint,
    private readonly link: Link,
    private readonly timers: Timers,
  ) {}

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  /**
   * Opens the link, sends CONNECT and waits for CONNECTED, all within the endpoint's
   * connectionTimeout. An ERROR instead of CONNECTED rejects with TANDEM_ERR_BROKER_ERROR.
   */
  static async open(endpoint: Endpoint, options: ConnectionOptions, signal?: AbortSignal): Promise<StompConnection> {
    const abort = new AbortController();
    const limit = endpoint.options.connectionTimeout;
    let timer: ReturnType<Timers['setTimeout']> | undefined;
    let onExternalAbort: (() => void) | undefined;
    const stopped = new Promise<never>((_, reject) => {
      const stop = (reason: string): void => {
        abort.abort();
        reject(new Error(reason));
      };
      if (limit > 0) timer = options.timers.setTimeout(() => stop(`no STOMP session with ${endpoint.uri} within connectionTimeout ${limit} ms`), limit);
      onExternalAbort = () => stop(`connecting to ${endpoint.uri} was abandoned`);
      if (signal?.aborted === true) onExternalAbort();
      else signal?.addEventListener('abort', onExternalAbort, { once: true });
    });
    stopped.catch(() => undefined);
    let connection: StompConnection | undefined;
    try {
      const opening = openLink(endpoint, options.tls, abort.signal).then((link) => {
        // The race below may already be lost to a timeout: nobody else will close this link.
        if (abort.signal.aborted) link.destroy();
        return link;
      });
      const link = await Promise.race([opening, stopped]);
      connection = new StompConnection(endpoint, link, options.timers);
      if (abort.signal.aborted) throw new Error(`connecting to ${endpoint.uri} was abandoned`);
      await Promise.race([connection.handshake(options), stopped]);
      return connection;
    } catch (error) {
      connection?.close('handshake failed');
      throw error;
    } finally {
      if (timer !== undefined) options.timers.clearTimeout(timer);
      if (onExternalAbort !== undefined) signal?.removeEventListener('abort', onExternalAbort);
    }
  }

  private handshake(options: ConnectionOptions): Promise<void> {
    const parser = new FrameParser({ ...DEFAULT_PARSER_LIMITS, maxFrameSize: options.maxFrameSize });
    return new Promise((resolve, reject) => {
      let connected = false;
      this.link.onClose((reason) => {
        if (!connected) reject(clientError('TANDEM_ERR_PROTOCOL', `${this.endpoint.uri} closed the connection during the STOMP handshake (${reason})`));
        this.shutdown(reason);
      });
      this.link.onData((chunk) => {
        if (this.closed) return;
        this.heartbeat?.read();
        let frames: Frame[];
        try {
          frames = parser.push(chunk);
        } catch (error) {
          if (!connected) reject(error as Error);
          this.close((error as Error).message);
          return;
        }
        for (const frame of frames) {
          if (!connected) {
            if (frame.command === 'CONNECTED') {
              connected = true;
              this.session = header(frame, 'session');
              this.server = header(frame, 'server');
              this.startHeartbeat(options.heartbeat, parseHeartbeat(header(frame, 'heart-beat')));
              resolve();
            } else {
              reject(frame.command === 'ERROR' ? brokerError(frame) : clientError('TANDEM_ERR_PROTOCOL', `expected CONNECTED from ${this.endpoint.uri}, got ${frame.command}`));
              this.close('handshake refused');
              return;
            }
          } else {
            this.dispatch(frame);
          }
        }
      });
      const hb = options.heartbeat;
      this.write({
        command: 'CONNECT',
        headers: [
          ['accept-version', '1.2'],
          ['host', options.virtualHost ?? this.endpoint.host],
          ['heart-beat', `${hb.send},${hb.receive}`],
          ...options.connectHeaders,
        ],
        body: Buffer.alloc(0),
      });
    });
  }

  private startHeartbeat(client: HeartbeatOffer, server: HeartbeatOffer): void {
    const negotiated = negotiateHeartbeat(client, server);
    this.heartbeat = new HeartbeatMonitor(
      negotiated,
      {
        beat: () => this.link.write(HEARTBEAT),
        silent: (ms) => this.close(`no heart-beat from the server for ${ms} ms`),
      },
      this.timers,
    );
    this.heartbeat.start();
  }

  private dispatch(frame: Frame): void {
    if (frame.command === 'RECEIPT') {
      const id = header(frame, 'receipt-id');
      const waiter = id === undefined ? undefined : this.receipts.get(id);
      if (waiter !== undefined) {
        this.receipts.delete(id!);
        waiter.resolve(frame);
      }
      return;
    }
    if (frame.command === 'ERROR') {
      const id = header(frame, 'receipt-id');
      const waiter = id === undefined ? undefined : this.receipts.get(id);
      if (waiter !== undefined) {
        this.receipts.delete(id!);
        waiter.reject(brokerError(frame));
      }
    }
    this.onFrame(frame);
  }

  /** Writes a frame; dropped when the connection is already gone (the client resends what matters). */
  write(frame: Frame): void {
    if (this.closed) return;
    this.link.write(encodeFrame(frame));
    this.heartbeat?.wrote();
  }

  /**
   * Writes a frame with a `receipt` header and resolves on its RECEIPT. Rejects with
   * TANDEM_ERR_BROKER_ERROR on an ERROR naming that receipt, and with ConnectionLostError when the
   * connection dies first.
   */
  request(frame: Frame): Promise<void> {
    if (this.closed) return Promise.reject(new ConnectionLostError(this.closedReason!));
    const id = `r-${this.nextReceipt++}`;
    const promise = new Promise<void>((resolve, reject) => {
      this.receipts.set(id, { resolve: () => resolve(), reject });
    });
    this.write({ ...frame, headers: [...frame.headers, ['receipt', id]] });
    return promise;
  }

  /** STOMP 1.2 "DISCONNECT" with a receipt: every earlier frame has been handled once it arrives. */
  async disconnect(waitMs: number): Promise<void> {
    if (this.closed) return;
    let timer: ReturnType<Timers['setTimeout']> | undefined;
    const gaveUp = new Promise<void>((resolve) => (timer = this.timers.setTimeout(resolve, waitMs)));
    try {
      await Promise.race([this.request({ command: 'DISCONNECT', headers: [], body: Buffer.alloc(0) }).catch(() => undefined), gaveUp]);
    } finally {
      if (timer !== undefined) this.timers.clearTimeout(timer);
      this.close('disconnected');
    }
  }

  /** Drops the link now. */
  close(reason: string): void {
    if (this.closed) return;
    this.shutdown(reason);
    this.link.destroy();
  }

  private shutdown(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    this.heartbeat?.stop();
    const lost = new ConnectionLostError(reason);
    for (const waiter of this.receipts.values()) waiter.reject(lost);
    this.receipts.clear();
    this.onClose(reason);
  }
}

/** TANDEM_ERR_BROKER_ERROR from an ERROR frame, keeping the broker's own code and message. */
export function brokerError(frame: Frame): FailoverClientError {
  const message = header(frame, 'message') ?? 'the broker sent ERROR';
  const detail = frame.body.length > 0 ? `: ${frame.body.toString('utf8').trim().split('\n')[0]}` : '';
  const options: { brokerCode?: string } = {};
  const code = header(frame, 'code');
  if (code !== undefined) options.brokerCode = code;
  return clientError('TANDEM_ERR_BROKER_ERROR', `broker error${code === undefined ? '' : ` ${code}`}: ${message}${detail === `: ${message}` ? '' : detail}`, options);
}
