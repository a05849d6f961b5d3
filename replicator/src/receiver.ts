// The replica side of the link: a WebSocket server that checks the sender's token, takes one
// sender at a time, welcomes it with the replica's durable position, and hands batches to the
// applier. It holds the replica directory's lock while it writes there.
import { createHash, timingSafeEqual } from 'node:crypto';
import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import { FileDirectoryLock, nodeFileIO, silentLogger, type DirectoryLock, type FileIO, type Logger } from '@tandem-mq/shared-store';
import { ReplicationError, isReplicationErrorCode, type ReplicationErrorCode } from './errors.js';
import { ReceiverLag, type Lag } from './lag.js';
import { LinkServer } from './link-server.js';
import { describePosition, formatPosition, journalOffset, type Position } from './position.js';
import {
  PROTOCOL_VERSION,
  type BatchMessage,
  type HelloMessage,
  type LinkMessage,
  type Promotion,
  type RefusalMessage,
  type SegmentDeletedMessage,
} from './protocol.js';
import { decodeMessage, encodeMessage } from './protocol-codec.js';
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
  /**
   * false: no endpoint of its own; the host hands it links with accept() (a broker's replication
   * endpoint). Default true.
   */
  listen?: boolean;
  /** With `lock: false`: asked before every ack, as the lock's isHeld() would be. */
  mayConfirm?: () => boolean;
  /** This side's region and generation, told in the welcome. */
  region?: string;
  generation?: number;
  /** The batches and deletions made durable, in order (see ReplicaApplier's onDurable). */
  onDurable?: (applied: ReadonlyArray<BatchMessage | SegmentDeletedMessage>) => void;
  /** After the token and version check: a refusal for a sender this region must not take (a stale primary). */
  admit?: (hello: HelloMessage) => RefusalMessage | undefined;
}

/** Why a drain (the switchover's first half) did not complete. */
export class DrainError extends Error {
  constructor(
    readonly reason: 'no-link' | 'link-lost' | 'timeout' | 'refused',
    message: string,
  ) {
    super(message);
    this.name = 'DrainError';
  }
}

export type ReceiverState = 'starting' | 'listening' | 'streaming' | 'failed' | 'stopped';

export interface ReceiverStats extends ApplierStats {
  linksAccepted: number;
  refusedAuth: number;
  refusedBusy: number;
  /** Links refused because the sender's region was replaced (a stale primary). */
  refusedStale: number;
  protocolErrors: number;
  /** Segment bytes that were already in the directory when it was opened. */
  bytesAtOpen: number;
}

export interface ReceiverReport {
  role: 'replica';
  counterpart: string | undefined;
  state: ReceiverState;
  position: ReturnType<typeof describePosition>;
  /** When the primary first saw the last durable record (epoch ms), if known. */
  observedAt: number | undefined;
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
  /** Set while a drain waits for the sender's `drained`. */
  onDrained?: ((position: Position) => void) | undefined;
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
  private readonly counters = { linksAccepted: 0, refusedAuth: 0, refusedBusy: 0, refusedStale: 0, protocolErrors: 0 };
  private readonly tokenDigest: Buffer;
  private server: LinkServer | undefined;
  private readonly sessions = new Set<Session>();
  private active: Session | undefined;
  private current: ReceiverState = 'stopped';
  private storeFailed = false;
  /** Set by freeze(): nothing more is applied, and no sender is taken. */
  private frozen = false;
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
    const mayConfirm = this.lock === undefined ? options.mayConfirm : () => this.lock!.isHeld();
    this.applier = new ReplicaApplier(this.store, {
      logger: this.logger,
      now: this.now,
      ...(mayConfirm === undefined ? {} : { mayConfirm }),
      onFailure: (error) => this.onStoreFailure(error),
      ...(options.onDurable === undefined ? {} : { onDurable: options.onDurable }),
    });
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve));
  }

  /** What the replica directory holds durably (after open()). */
  get durable(): Position {
    return this.store.durable;
  }

  get state(): ReceiverState {
    return this.current;
  }

  /**
   * Takes the lock, opens the replica directory and listens. Resolves with the bound address, or
   * undefined without an endpoint of its own (`listen: false`).
   */
  async start(): Promise<AddressInfo> {
    const address = await this.open();
    return address!;
  }

  /** start(), for a host whose endpoint hands over links: resolves without an address. */
  async open(): Promise<AddressInfo | undefined> {
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
      let address: AddressInfo | undefined;
      if (this.options.listen !== false) {
        const server = new LinkServer(
          {
            host: this.options.host ?? '127.0.0.1',
            port: this.options.port ?? 0,
            path: this.options.path ?? '/replication',
            ...(this.options.tls === undefined ? {} : { tls: this.options.tls }),
            ...(this.options.maxMessageBytes === undefined ? {} : { maxMessageBytes: this.options.maxMessageBytes }),
          },
          (ws, peer) => this.accept(ws, peer),
        );
        address = await server.listen();
        this.server = server;
      }
      this.current = 'listening';
      this.idleTimer = setInterval(() => this.checkIdle(), 1000);
      this.idleTimer.unref();
      return address;
    } catch (error) {
      await this.store.close();
      await this.lock?.release().catch(() => undefined);
      this.current = 'failed';
      throw error;
    }
  }

  /** Whether a sender is streaming to this receiver now. */
  get linked(): boolean {
    return this.active?.streaming === true;
  }

  /**
   * The switchover's first half: asks the connected sender to stop its primary and ship its last
   * bytes, then waits until they are durable here. Resolves with that position; rejects with a
   * DrainError (no sender, the link lost, or too slow: then the link is cut, so the primary
   * learns the switchover was abandoned when it reconnects and is welcomed again).
   */
  async requestDrain(timeoutMs: number): Promise<Position> {
    const session = this.active;
    if (session === undefined || !session.streaming) throw new DrainError('no-link', 'no primary is connected to this replica');
    const deadline = this.now() + timeoutMs;
    const drained = new Promise<Position>((resolve, reject) => {
      session.onDrained = resolve;
      session.ws.once('close', () => reject(new DrainError('link-lost', 'the link to the primary was lost during the switchover')));
      const timer = setTimeout(() => reject(new DrainError('timeout', `the primary did not finish draining within ${timeoutMs} ms`)), timeoutMs);
      timer.unref();
    });
    this.send(session, { type: 'drain' });
    this.logger.info({ event: 'replication.drain-requested', peer: session.peer }, 'asked the primary to drain');
    try {
      const end = await drained;
      for (;;) {
        await this.applier.idle();
        if (journalOffset(this.store.durable) >= journalOffset(end)) return end;
        if (this.active !== session) throw new DrainError('link-lost', 'the link to the primary was lost during the switchover');
        if (this.now() > deadline) throw new DrainError('timeout', `the replica did not hold ${formatPosition(end)} within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    } catch (error) {
      session.onDrained = undefined;
      if (!(error instanceof DrainError) || error.reason !== 'link-lost') session.ws.close(1011, 'switchover abandoned');
      throw error;
    }
  }

  /**
   * Stops applying (a promotion is under way): what was received is applied first, then the
   * position is final. Resolves with it and the observedAt of its last record.
   */
  async freeze(): Promise<{ position: Position; observedAt: number | undefined }> {
    this.frozen = true;
    await this.applier.idle();
    return { position: this.store.durable, observedAt: this.store.durableObservedAt };
  }

  /** Tells the connected sender, if any, that this replica is primary now. */
  sendPromoted(promotion: Promotion): void {
    const session = this.active;
    if (session !== undefined) this.send(session, { type: 'promoted', promotion });
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
      observedAt: this.store.durableObservedAt,
      lag: this.lag.lag(durable, this.now()),
      lastContactAt: this.lastContactAt,
      primaryEndpoints: [...(this.options.primaryEndpoints ?? [])],
      stats: { ...this.applier.stats, ...this.counters, bytesAtOpen: this.store.bytesAtOpen },
      error: this.lastError === undefined ? undefined : { code: this.lastError.code, message: this.lastError.message },
    };
  }

  // ------------------------------------------------------------------ links

  /** Takes a link from an endpoint: the receiver's own, or its host's. */
  accept(ws: WebSocket, peer: string): void {
    if (this.current !== 'listening' && this.current !== 'streaming') {
      ws.close(1013, 'the receiver is not running');
      return;
    }
    const session: Session = { ws, peer, sender: undefined, streaming: false, lastHeard: this.now() };
    this.sessions.add(session);
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
      this.sessions.delete(session);
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
    const refusal = this.options.admit?.(m);
    if (refusal !== undefined) {
      this.counters.refusedStale++;
      this.logger.warn({ event: 'replication.stale-refused', peer: session.peer, sender: m.sender, region: m.region, generation: m.generation }, refusal.message);
      this.send(session, refusal);
      session.ws.close(1008, refusal.code);
      setTimeout(() => session.ws.terminate(), 2000).unref();
      return;
    }
    if (m.probe) {
      // A broker about to serve as primary asks who answers: a replica, so it may.
      const anchor = { length: 0, crc: 0 };
      this.send(session, { type: 'welcome', version: PROTOCOL_VERSION, position: this.store.durable, anchor, receiver: this.name, ...this.identity() });
      session.ws.close(1000, 'probe answered');
      return;
    }
    if (this.current !== 'listening' || this.active !== undefined || this.frozen) {
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
    this.send(session, { type: 'welcome', version: PROTOCOL_VERSION, position, anchor, receiver: this.name, ...this.identity() });
    this.logger.info({ event: 'replication.link-up', peer: session.peer, sender: m.sender, position: formatPosition(position) }, `receiving from ${m.sender} at ${formatPosition(position)}`);
  }

  private identity(): { region: string; generation: number } {
    return { region: this.options.region ?? '', generation: this.options.generation ?? 0 };
  }

  private onStreamMessage(session: Session, m: LinkMessage): void {
    if (this.active !== session || !session.streaming) return;
    this.lastContactAt = this.now();
    switch (m.type) {
      case 'drained': {
        const done = session.onDrained;
        session.onDrained = undefined;
        this.logger.info({ event: 'replication.drained', peer: session.peer, position: formatPosition(m.position) }, `the primary drained to ${formatPosition(m.position)}`);
        if (done === undefined) return this.refuse(session, 'TANDEM_ERR_REPLICATION_PROTOCOL', 'drained without a drain');
        done(m.position);
        return;
      }
      case 'batch':
      case 'segment-deleted':
        if (this.frozen) return;
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
    const server = this.server;
    this.server = undefined;
    for (const session of this.sessions) session.ws.close(1001, 'receiver stopping');
    this.applier.endLink();
    await server?.close();
    for (const session of this.sessions) session.ws.terminate();
    this.sessions.clear();
    this.active = undefined;
    await this.applier.idle().catch(() => undefined);
    await this.store.close();
    if (releaseLock) await this.lock?.release().catch(() => undefined);
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
