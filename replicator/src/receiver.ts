// The replica side of the link: a WebSocket server that checks the sender's token, takes one
// sender at a time, welcomes it with the replica's durable position, and hands batches to the
// applier. It holds the replica directory's lock while it writes there.
import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, WebSocket } from 'ws';
import { FileDirectoryLock, nodeFileIO, silentLogger, type DirectoryLock, type FileIO, type Logger } from '@tandem-mq/shared-store';
import { ReplicationError, isReplicationErrorCode, type ReplicationErrorCode } from './errors.js';
import { ReceiverLag, type Lag } from './lag.js';
import { describePosition, formatPosition } from './position.js';
import { DEFAULT_MAX_MESSAGE_SIZE, PROTOCOL_VERSION, WS_SUBPROTOCOL, decodeMessage, encodeMessage, type LinkMessage } from './protocol.js';
import { ReplicaApplier, type ApplierStats } from './replica-applier.js';
import { ReplicaStore } from './replica-store.js';

export interface ReceiverTlsOptions {
  cert: string | Buffer;
  key: string | Buffer;
  /** With `requestCert`: the CA client certificates must chain to. */
  ca?: string | Buffer;
  requestCert?: boolean;
}

export interface ReceiverOptions {
  /** The replica's data directory. */
  dir: string;
  token: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** URL path the link is served on. Default /replication. */
  path?: string;
  tls?: ReceiverTlsOptions;
  name?: string;
  io?: FileIO;
  logger?: Logger;
  /** The replica directory's lock; by default the file lock in `dir`. false runs without (tests). */
  lock?: DirectoryLock | false;
  idleTimeoutMs?: number;
  /** A connection that has not said hello within this long is closed. Default 10 s. */
  helloTimeoutMs?: number;
  maxMessageBytes?: number;
  /** The primary region's client endpoints, reported for the replica role's refusals. */
  primaryEndpoints?: string[];
  now?: () => number;
}

export type ReceiverState = 'starting' | 'listening' | 'streaming' | 'failed' | 'stopped';

export interface ReceiverStats extends ApplierStats {
  linksAccepted: number;
  refusedAuth: number;
  refusedBusy: number;
  protocolErrors: number;
  /** Segment bytes that were already in the directory when it was opened. */
  bytesAtOpen: number;
}

export interface ReceiverReport {
  role: 'replica';
  counterpart: string | undefined;
  state: ReceiverState;
  position: ReturnType<typeof describePosition>;
  lag: Lag;
  lastContactAt: number | undefined;
  primaryEndpoints: string[];
  stats: ReceiverStats;
  error: { code: string; message: string } | undefined;
}

interface Session {
  ws: WebSocket;
  peer: string;
  sender: string | undefined;
  streaming: boolean;
  lastHeard: number;
}

export class ReplicationReceiver {
  /** Resolves when the receiver stops: undefined after stop(), the error after a failure it cannot ride out. */
  readonly finished: Promise<Error | undefined>;
  private resolveFinished!: (error: Error | undefined) => void;
  private readonly store: ReplicaStore;
  private readonly applier: ReplicaApplier;
  private readonly lag = new ReceiverLag();
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly lock: DirectoryLock | undefined;
  private readonly name: string;
  private readonly counters = { linksAccepted: 0, refusedAuth: 0, refusedBusy: 0, protocolErrors: 0 };
  private readonly tokenDigest: Buffer;
  private server: http.Server | https.Server | undefined;
  private wss: WebSocketServer | undefined;
  private active: Session | undefined;
  private current: ReceiverState = 'stopped';
  private storeFailed = false;
  private lastError: ReplicationError | undefined;
  private lastContactAt: number | undefined;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ReceiverOptions) {
    this.logger = options.logger ?? silentLogger();
    this.now = options.now ?? Date.now;
    this.name = options.name ?? `${hostname()}:${process.pid}`;
    this.tokenDigest = digest(options.token);
    const io = options.io ?? nodeFileIO;
    this.store = new ReplicaStore({ dir: options.dir, io, logger: this.logger, now: this.now });
    this.lock = options.lock === false ? undefined : (options.lock ?? new FileDirectoryLock({ dataDir: options.dir, logger: this.logger }));
    this.applier = new ReplicaApplier(this.store, {
      logger: this.logger,
      now: this.now,
      ...(this.lock === undefined ? {} : { mayConfirm: () => this.lock!.isHeld() }),
      onFailure: (error) => this.onStoreFailure(error),
    });
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve));
  }

  get state(): ReceiverState {
    return this.current;
  }

  /** Takes the lock, opens the replica directory and listens. Resolves with the bound address. */
  async start(): Promise<AddressInfo> {
    this.current = 'starting';
    if (this.lock !== undefined) {
      this.logger.info({ event: 'replication.lock-acquiring', dir: this.options.dir }, 'taking the replica directory lock');
      const acquired = await this.lock.acquire();
      this.logger.info({ event: 'replication.lock-acquired', epoch: acquired.epoch, via: acquired.via }, 'holding the replica directory lock');
      this.lock.onLost((loss) => this.onLockLost(loss.detail));
    }
    try {
      const position = await this.store.open();
      this.logger.info({ event: 'replication.replica-opened', dir: this.options.dir, position: formatPosition(position) }, `replica directory at ${formatPosition(position)}`);
      const server = this.options.tls === undefined ? http.createServer() : https.createServer({ ...this.options.tls });
      server.on('request', (_req, res) => {
        res.writeHead(426, { 'content-type': 'text/plain' }).end('this endpoint speaks the Tandem MQ replication protocol over WebSocket\n');
      });
      this.wss = new WebSocketServer({
        server,
        path: this.options.path ?? '/replication',
        perMessageDeflate: false,
        maxPayload: this.options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_SIZE,
        handleProtocols: (protocols) => (protocols.has(WS_SUBPROTOCOL) ? WS_SUBPROTOCOL : false),
      });
      this.wss.on('connection', (ws, req) => this.onConnection(ws, `${req.socket.remoteAddress}:${req.socket.remotePort}`));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
      this.server = server;
      this.current = 'listening';
      this.idleTimer = setInterval(() => this.checkIdle(), 1000);
      this.idleTimer.unref();
      return server.address() as AddressInfo;
    } catch (error) {
      await this.store.close();
      await this.lock?.release().catch(() => undefined);
      this.current = 'failed';
      throw error;
    }
  }

  async stop(): Promise<void> {
    if (this.current === 'stopped') return;
    await this.shutdown();
    this.current = 'stopped';
    this.resolveFinished(undefined);
  }

  report(): ReceiverReport {
    const durable = this.store.durable;
    return {
      role: 'replica',
      counterpart: this.active === undefined ? undefined : `${this.active.sender ?? 'unknown'} at ${this.active.peer}`,
      state: this.current,
      position: describePosition(durable),
      lag: this.lag.lag(durable, this.now()),
      lastContactAt: this.lastContactAt,
      primaryEndpoints: [...(this.options.primaryEndpoints ?? [])],
      stats: { ...this.applier.stats, ...this.counters, bytesAtOpen: this.store.bytesAtOpen },
      error: this.lastError === undefined ? undefined : { code: this.lastError.code, message: this.lastError.message },
    };
  }

  // ------------------------------------------------------------------ links

  private onConnection(ws: WebSocket, peer: string): void {
    const session: Session = { ws, peer, sender: undefined, streaming: false, lastHeard: this.now() };
    const helloTimer = setTimeout(() => {
      if (session.sender === undefined) this.refuse(session, 'TANDEM_ERR_REPLICATION_PROTOCOL', 'no hello in time');
    }, this.options.helloTimeoutMs ?? 10_000);
    helloTimer.unref();
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      session.lastHeard = this.now();
      let m: LinkMessage;
      try {
        if (!isBinary) throw new ReplicationError('TANDEM_ERR_REPLICATION_PROTOCOL', 'a text message on the replication link');
        m = decodeMessage(data, this.options.maxMessageBytes);
      } catch (error) {
        this.counters.protocolErrors++;
        this.refuse(session, 'TANDEM_ERR_REPLICATION_PROTOCOL', (error as Error).message);
        return;
      }
      if (session.sender === undefined) {
        clearTimeout(helloTimer);
        void this.onHello(session, m);
      } else {
        this.onStreamMessage(session, m);
      }
    });
    ws.on('error', (error) => this.logger.warn({ event: 'replication.link-error', peer, err: error.message }, `replication link error: ${error.message}`));
    ws.on('close', () => {
      clearTimeout(helloTimer);
      if (this.active === session) {
        this.active = undefined;
        this.applier.endLink();
        if (this.current === 'streaming') this.current = 'listening';
        this.logger.info({ event: 'replication.link-closed', peer, sender: session.sender, position: formatPosition(this.store.durable) }, 'replication link closed');
      }
    });
  }

  private async onHello(session: Session, m: LinkMessage): Promise<void> {
    if (m.type !== 'hello') {
      this.counters.protocolErrors++;
      return this.refuse(session, 'TANDEM_ERR_REPLICATION_PROTOCOL', `expected hello, got ${m.type}`);
    }
    session.sender = m.sender || 'unnamed';
    if (!timingSafeEqual(digest(m.token), this.tokenDigest)) {
      this.counters.refusedAuth++;
      this.logger.warn({ event: 'replication.auth-refused', peer: session.peer, sender: m.sender }, 'refused a replication link: wrong token');
      return this.refuse(session, 'TANDEM_ERR_REPLICATION_AUTH', 'the replication token is not the one this receiver expects');
    }
    if (m.version !== PROTOCOL_VERSION) {
      this.counters.protocolErrors++;
      return this.refuse(session, 'TANDEM_ERR_REPLICATION_PROTOCOL', `this receiver speaks version ${PROTOCOL_VERSION}, the sender ${m.version}`);
    }
    if (this.current !== 'listening' || this.active !== undefined) {
      this.counters.refusedBusy++;
      const holder = this.active === undefined ? this.current : `${this.active.sender} at ${this.active.peer}`;
      this.logger.info({ event: 'replication.link-busy', peer: session.peer, sender: m.sender, holder }, 'refused a second sender');
      return this.refuse(session, 'TANDEM_ERR_REPLICATION_BUSY', `this receiver is busy (${holder})`);
    }
    this.active = session;
    this.current = 'streaming';
    try {
      await this.applier.idle();
      if (this.storeFailed || !this.store.isOpen) {
        await this.store.open();
        this.storeFailed = false;
      }
    } catch (error) {
      this.active = undefined;
      this.current = 'listening';
      return this.refuse(session, 'TANDEM_ERR_REPLICATION_IO', `the replica directory cannot be opened: ${(error as Error).message}`);
    }
    if (session.ws.readyState !== WebSocket.OPEN) return; // gone while we waited; its close handler ran
    this.counters.linksAccepted++;
    this.lastError = undefined;
    session.streaming = true;
    this.lastContactAt = this.now();
    const position = this.store.durable;
    let anchor;
    try {
      anchor = await this.store.anchor();
    } catch (error) {
      this.active = undefined;
      this.current = 'listening';
      return this.refuse(session, 'TANDEM_ERR_REPLICATION_IO', `the replica directory cannot be read: ${(error as Error).message}`);
    }
    if (session.ws.readyState !== WebSocket.OPEN) return;
    this.applier.beginLink((out) => this.send(session, out));
    this.send(session, { type: 'welcome', version: PROTOCOL_VERSION, position, anchor, receiver: this.name });
    this.logger.info({ event: 'replication.link-up', peer: session.peer, sender: m.sender, position: formatPosition(position) }, `receiving from ${m.sender} at ${formatPosition(position)}`);
  }

  private onStreamMessage(session: Session, m: LinkMessage): void {
    if (this.active !== session || !session.streaming) return;
    this.lastContactAt = this.now();
    switch (m.type) {
      case 'batch':
      case 'segment-deleted':
        return this.applier.receive(m);
      case 'status':
        return this.lag.onStatus(m, this.now());
      case 'error':
        this.logger.error({ event: 'replication.sender-error', code: m.code, peer: session.peer }, `the sender reported ${m.code}: ${m.message}`);
        this.lastError = new ReplicationError(isReplicationErrorCode(m.code) ? m.code : 'TANDEM_ERR_REPLICATION_PROTOCOL', m.message);
        session.ws.close(1000, 'sender error');
        return;
      default:
        this.counters.protocolErrors++;
        return this.refuse(session, 'TANDEM_ERR_REPLICATION_PROTOCOL', `unexpected ${m.type} on a streaming link`);
    }
  }

  private refuse(session: Session, code: ReplicationErrorCode, message: string): void {
    this.send(session, { type: 'error', code, message });
    session.ws.close(code === 'TANDEM_ERR_REPLICATION_BUSY' ? 1013 : 1008, code);
    // A peer that ignores the close is cut off.
    setTimeout(() => session.ws.terminate(), 2000).unref();
  }

  private send(session: Session, m: LinkMessage): void {
    if (session.ws.readyState === WebSocket.OPEN) session.ws.send(encodeMessage(m), { binary: true });
  }

  private checkIdle(): void {
    const session = this.active;
    if (session === undefined) return;
    if (this.now() - session.lastHeard > (this.options.idleTimeoutMs ?? 10_000)) {
      this.logger.warn({ event: 'replication.link-idle', peer: session.peer }, 'nothing heard from the sender; cutting the link');
      session.ws.terminate();
    }
  }

  // ------------------------------------------------------------------ failures and shutdown

  private onStoreFailure(error: unknown): void {
    this.storeFailed = true;
    const wrapped =
      error instanceof ReplicationError ? error : new ReplicationError('TANDEM_ERR_REPLICATION_IO', `writing the replica failed: ${(error as Error).message}`, { cause: error });
    this.lastError = wrapped;
    this.logger.error({ event: 'replication.replica-write-failed', err: (error as Error).message }, wrapped.message);
    if (this.lock !== undefined && !this.lock.isHeld()) return this.onLockLost((error as Error).message);
    const session = this.active;
    if (session !== undefined) this.refuse(session, wrapped.code, wrapped.message);
  }

  private onLockLost(detail: string): void {
    if (this.current === 'failed' || this.current === 'stopped') return;
    const error = new ReplicationError('TANDEM_ERR_REPLICATION_LOCK_LOST', `lost the replica directory lock: ${detail}`);
    this.lastError = error;
    this.logger.error({ event: 'replication.lock-lost', detail }, error.message);
    const session = this.active;
    if (session !== undefined) this.refuse(session, error.code, error.message);
    this.current = 'failed';
    void this.shutdown(false).finally(() => this.resolveFinished(error));
  }

  private async shutdown(releaseLock = true): Promise<void> {
    if (this.idleTimer !== undefined) clearInterval(this.idleTimer);
    this.idleTimer = undefined;
    const wss = this.wss;
    const server = this.server;
    this.wss = undefined;
    this.server = undefined;
    for (const client of wss?.clients ?? []) client.close(1001, 'receiver stopping');
    this.applier.endLink();
    if (wss !== undefined) await new Promise<void>((resolve) => wss.close(() => resolve()));
    for (const client of wss?.clients ?? []) client.terminate();
    if (server !== undefined) {
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await this.applier.idle().catch(() => undefined);
    await this.store.close();
    if (releaseLock) await this.lock?.release().catch(() => undefined);
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
