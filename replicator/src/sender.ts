// The primary side of the link: a WebSocket client that says hello, learns the receiver's durable
// position, and ships the journal from there in order, keeping what is unacknowledged. It
// reconnects with back-off after any cut, and stops for good when the receiver refuses it for a
// reason retrying cannot fix (a wrong token, a replica that has diverged).
import { hostname } from 'node:os';
import WebSocket from 'ws';
import {
  nodeFileIO,
  realTimers,
  silentLogger,
  type FileIO,
  type Logger,
  type TimerHandle,
  type Timers,
} from '@tandem-mq/shared-store';
import { Backoff, DEFAULT_BACKOFF, type BackoffSettings } from './backoff.js';
import { ReplicationError, isReplicationErrorCode, ReplicationErrors } from './errors.js';
import { senderLag, type Lag } from './lag.js';
import { describePosition, formatPosition, journalOffset, START, type Position } from './position.js';
import {
  DEFAULT_MAX_MESSAGE_SIZE,
  PROTOCOL_VERSION,
  decodeMessage,
  type LinkMessage,
  type ResendMessage,
  type WelcomeMessage,
} from './protocol.js';
import { checkAnchor } from './anchor.js';
import { readJournalEnd } from './journal-dir.js';
import { OutboundLink, openLinkSocket, type LinkTlsOptions } from './outbound-link.js';
import type { TailEvent } from './tailer.js';

export interface SenderOptions {
  /** The primary's data directory (read only). */
  dir: string;
  /** ws:// or wss:// URL of the receiver. */
  url: string;
  token: string;
  tls?: LinkTlsOptions;
  /** How the receiver's logs name us; default host:pid. */
  name?: string;
  io?: FileIO;
  timers?: Timers;
  logger?: Logger;
  pollIntervalMs?: number;
  maxBatchBytes?: number;
  /** Unacknowledged bytes in flight before the sender waits for acks. Default 16 MiB. */
  windowBytes?: number;
  statusIntervalMs?: number;
  heartbeatMs?: number;
  /** A link that has not been heard from for this long is cut. Default 10 s. */
  idleTimeoutMs?: number;
  backoff?: Partial<BackoffSettings>;
  random?: () => number;
  maxMessageBytes?: number;
}

export type SenderState = 'connecting' | 'handshaking' | 'streaming' | 'waiting' | 'refused' | 'stopped';

export interface SenderStats {
  linksOpened: number;
  batchesSent: number;
  recordsSent: number;
  bytesSent: number;
  deletionsSent: number;
  resendsServed: number;
  resendsFromWindow: number;
  acks: number;
}

export interface SenderReport {
  role: 'primary';
  counterpart: string;
  receiver: string | undefined;
  state: SenderState;
  /** The receiver's durable position as last acknowledged. */
  position: ReturnType<typeof describePosition>;
  readPosition: ReturnType<typeof describePosition>;
  head: number;
  lag: Lag;
  stats: SenderStats;
  error: { code: string; message: string } | undefined;
}

export class ReplicationSender {
  readonly stats: SenderStats = {
    linksOpened: 0,
    batchesSent: 0,
    recordsSent: 0,
    bytesSent: 0,
    deletionsSent: 0,
    resendsServed: 0,
    resendsFromWindow: 0,
    acks: 0,
  };
  /** Resolves when the sender stops: undefined after stop(), the error after a refusal. */
  readonly finished: Promise<ReplicationError | undefined>;
  private resolveFinished!: (error: ReplicationError | undefined) => void;
  private current: SenderState = 'stopped';
  private link: OutboundLink | undefined;
  private readonly backoff: Backoff;
  private readonly timers: Timers;
  private readonly logger: Logger;
  private readonly io: FileIO;
  private readonly name: string;
  private acked: Position = START;
  private receiverName: string | undefined;
  private lastError: ReplicationError | undefined;
  /** The primary's end as last seen while no link was streaming (a streaming link's tailer tracks it then). */
  private head = 0;
  /** Since when the primary has had bytes the replica lacks, while no link is streaming. */
  private behindSince: number | undefined;
  private readBytes = 0;
  private readRecords = 0;
  private reconnectTimer: TimerHandle | undefined;
  private ticker: TimerHandle | undefined;
  private heartbeatTimer: TimerHandle | undefined;

  constructor(private readonly options: SenderOptions) {
    this.timers = options.timers ?? realTimers;
    this.logger = options.logger ?? silentLogger();
    this.io = options.io ?? nodeFileIO;
    this.name = options.name ?? `${hostname()}:${process.pid}`;
    this.backoff = new Backoff({ ...DEFAULT_BACKOFF, ...options.backoff }, options.random);
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve));
  }

  get state(): SenderState {
    return this.current;
  }

  start(): void {
    if (this.current !== 'stopped') return;
    this.connect();
    this.tick();
    this.beat();
  }

  /** Closes the link and stops; nothing more is sent. */
  async stop(): Promise<void> {
    if (this.current === 'stopped' || this.current === 'refused') return;
    this.setState('stopped');
    this.halt();
    await this.endLink(1000, 'replicator stopping');
    this.resolveFinished(undefined);
  }

  report(): SenderReport {
    const now = this.timers.now();
    const link = this.link;
    // A streaming link's tailer knows the primary's end best; between links, the last look.
    const head = link?.readPosition !== undefined ? link.head : this.head;
    const readPosition = link?.readPosition ?? this.acked;
    const lag = senderLag({
      head,
      durable: this.acked,
      readPosition,
      unackedRecords: link?.unackedRecords ?? 0,
      oldestUnackedAt: link?.oldestUnackedAt,
      unreadSince: link?.unreadSince ?? this.behindSince,
      averageRecordBytes: this.readRecords === 0 ? 1024 : this.readBytes / this.readRecords,
      now,
    });
    const problem = link?.problem ?? this.lastError;
    return {
      role: 'primary',
      counterpart: this.options.url,
      receiver: this.receiverName,
      state: this.current,
      position: describePosition(this.acked),
      readPosition: describePosition(readPosition),
      head,
      lag,
      stats: { ...this.stats },
      error: problem === undefined ? undefined : { code: problem.code, message: problem.message },
    };
  }

  // ------------------------------------------------------------------ the connection

  private connect(): void {
    this.setState('connecting');
    const ws = openLinkSocket(this.options.url, this.options.tls ?? {}, {
      maxPayload: this.options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_SIZE,
      handshakeTimeout: this.options.idleTimeoutMs ?? 10_000,
    });
    const link = new OutboundLink(
      ws,
      {
        dir: this.options.dir,
        io: this.io,
        timers: this.timers,
        logger: this.logger,
        windowBytes: this.options.windowBytes ?? 16 * 1024 * 1024,
        ...(this.options.pollIntervalMs === undefined ? {} : { pollIntervalMs: this.options.pollIntervalMs }),
        ...(this.options.maxBatchBytes === undefined ? {} : { maxBatchBytes: this.options.maxBatchBytes }),
      },
      { sent: (event) => this.countSent(event), failed: (error) => this.onReadFailure(link, error) },
    );
    this.link = link;
    ws.on('open', () => {
      this.stats.linksOpened++;
      this.setState('handshaking');
      link.lastHeard = this.timers.now();
      link.send({ type: 'hello', version: PROTOCOL_VERSION, token: this.options.token, sender: this.name });
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      link.lastHeard = this.timers.now();
      let message: LinkMessage;
      try {
        if (!isBinary) throw new ReplicationError('TANDEM_ERR_REPLICATION_PROTOCOL', 'a text message on the replication link');
        message = decodeMessage(data, this.options.maxMessageBytes);
      } catch (error) {
        this.protocolError(link, error as ReplicationError);
        return;
      }
      this.onMessage(link, message);
    });
    ws.on('pong', () => (link.lastHeard = this.timers.now()));
    ws.on('error', (error) => {
      this.logger.warn({ event: 'replication.link-error', url: this.options.url, err: error.message }, `replication link error: ${error.message}`);
    });
    ws.on('close', (code, reason) => {
      const wasStreaming = link.streaming;
      void this.teardown(link);
      if (this.link === link) this.link = undefined;
      if (this.current === 'stopped' || this.current === 'refused') return;
      this.logger.info(
        { event: 'replication.link-closed', code, reason: reason.toString(), position: formatPosition(this.acked), wasStreaming },
        'replication link closed',
      );
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer !== undefined) return;
    this.setState('waiting');
    const delay = this.backoff.next();
    this.reconnectTimer = this.timers.setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.current === 'waiting') this.connect();
    }, delay);
  }

  private onMessage(link: OutboundLink, m: LinkMessage): void {
    switch (m.type) {
      case 'welcome':
        return void this.onWelcome(link, m);
      case 'ack':
        if (!link.streaming) return this.protocolError(link, unexpected('ack before welcome'));
        this.stats.acks++;
        this.acked = { ...m.position };
        link.ack(m);
        return;
      case 'resend':
        if (!link.streaming) return this.protocolError(link, unexpected('resend before welcome'));
        return this.onResend(link, m);
      case 'error':
        return this.onRefusal(link, m.code, m.message);
      default:
        return this.protocolError(link, unexpected(`a ${m.type} message from the receiver`));
    }
  }

  private async onWelcome(link: OutboundLink, welcome: WelcomeMessage): Promise<void> {
    const { position, receiver, version } = welcome;
    if (link.streaming) return this.protocolError(link, unexpected('a second welcome'));
    if (version !== PROTOCOL_VERSION) {
      return this.protocolError(link, new ReplicationError('TANDEM_ERR_REPLICATION_PROTOCOL', `the receiver speaks version ${version}, this sender ${PROTOCOL_VERSION}`));
    }
    link.streaming = true;
    try {
      await checkAnchor(this.io, this.options.dir, position, welcome.anchor);
    } catch (error) {
      if (!link.open) return;
      if (error instanceof ReplicationError && error.fatal) return this.fail(link, error);
      this.logger.error({ event: 'replication.read-failed', err: (error as Error).message }, `reading the journal failed: ${(error as Error).message}`);
      link.ws.close(1011, 'read failed');
      return;
    }
    if (!link.open) return;
    this.receiverName = receiver;
    this.acked = { ...position };
    this.lastError = undefined;
    this.backoff.reset();
    this.setState('streaming');
    this.logger.info({ event: 'replication.link-up', receiver, position: formatPosition(position), url: this.options.url }, `shipping to ${receiver} from ${formatPosition(position)}`);
    link.startAt(position, 1, this.behindSince);
    this.behindSince = undefined;
  }

  /** A failure no reconnect can cure: tell the receiver, stop, and report it. */
  private fail(link: OutboundLink, error: ReplicationError): void {
    this.lastError = error;
    this.logger.error({ event: 'replication.failed', code: error.code }, error.message);
    link.send({ type: 'error', code: error.code, message: error.message });
    this.setState('refused');
    this.halt();
    void this.endLink(1011, error.code);
    this.resolveFinished(error);
  }

  private onResend(link: OutboundLink, m: ResendMessage): void {
    this.stats.resendsServed++;
    const fromWindow = link.resend(m);
    if (fromWindow) this.stats.resendsFromWindow++;
    this.logger.info(
      { event: 'replication.resend', seq: m.seq, position: formatPosition(m.position), fromWindow },
      `the receiver asked for a resend from ${formatPosition(m.position)}`,
    );
  }

  private onRefusal(link: OutboundLink, code: string, message: string): void {
    const known = isReplicationErrorCode(code) ? code : 'TANDEM_ERR_REPLICATION_PROTOCOL';
    const error = new ReplicationError(known, `the receiver refused the link: ${code}: ${message}`);
    this.lastError = error;
    if (known === 'TANDEM_ERR_REPLICATION_BUSY') {
      this.logger.info({ event: 'replication.link-busy', code, url: this.options.url }, 'the receiver already has a sender; trying again later');
    } else {
      this.logger.error({ event: 'replication.refused', code, url: this.options.url }, error.message);
    }
    if (ReplicationErrors[known].fatal) {
      this.setState('refused');
      this.halt();
      void this.endLink(1000, 'refused');
      this.resolveFinished(error);
      return;
    }
    link.ws.close(1000, 'refused');
  }

  private protocolError(link: OutboundLink, error: ReplicationError): void {
    this.logger.error({ event: 'replication.protocol-error', err: error.message }, error.message);
    link.send({ type: 'error', code: error.code, message: error.message });
    link.ws.close(1002, 'protocol error');
  }

  // ------------------------------------------------------------------ shipping

  private countSent(event: TailEvent): void {
    if (event.kind === 'segment-deleted') {
      this.stats.deletionsSent++;
      return;
    }
    this.stats.batchesSent++;
    this.stats.recordsSent += event.records;
    this.stats.bytesSent += event.bytes.length;
    this.readBytes += event.bytes.length;
    this.readRecords += event.records;
  }

  private onReadFailure(link: OutboundLink, error: unknown): void {
    if (error instanceof ReplicationError && error.fatal) return this.fail(link, error);
    this.logger.error({ event: 'replication.read-failed', err: (error as Error).message }, `reading the journal failed: ${(error as Error).message}`);
    link.ws.close(1011, 'read failed');
  }

  // ------------------------------------------------------------------ timers and teardown

  /** Status for the receiver's lag report, and the primary's head while no link reads it. */
  private tick(): void {
    this.ticker = this.timers.setTimeout(() => {
      void this.statusNow().finally(() => {
        if (this.current !== 'stopped' && this.current !== 'refused') this.tick();
      });
    }, this.options.statusIntervalMs ?? 250);
  }

  private async statusNow(): Promise<void> {
    const link = this.link;
    try {
      if (link?.streaming === true) {
        await link.refreshHead();
      } else {
        const end = await readJournalEnd(this.options.dir, this.io);
        if (end !== undefined) this.head = end;
        if (this.head > journalOffset(this.acked)) this.behindSince ??= this.timers.now();
      }
    } catch {
      // The next tick tries again; a lasting failure shows in the pump.
    }
    if (link === undefined || !link.streaming) return;
    const report = this.report();
    link.send({
      type: 'status',
      head: report.head,
      records: report.lag.records,
      ageMs: Math.round(report.lag.seconds * 1000),
      sentAt: Math.max(0, Math.round(this.timers.now())),
    });
  }

  private beat(): void {
    this.heartbeatTimer = this.timers.setTimeout(() => {
      const link = this.link;
      if (link !== undefined && link.open && link.ws.readyState === WebSocket.OPEN) {
        if (this.timers.now() - link.lastHeard > (this.options.idleTimeoutMs ?? 10_000)) {
          this.logger.warn({ event: 'replication.link-idle' }, 'nothing heard from the receiver; cutting the link');
          link.ws.terminate();
        } else {
          link.ws.ping();
        }
      }
      if (this.current !== 'stopped' && this.current !== 'refused') this.beat();
    }, this.options.heartbeatMs ?? 1000);
  }

  private halt(): void {
    for (const t of [this.reconnectTimer, this.ticker, this.heartbeatTimer]) if (t !== undefined) this.timers.clearTimeout(t);
    this.reconnectTimer = this.ticker = this.heartbeatTimer = undefined;
  }

  private async endLink(code: number, reason: string): Promise<void> {
    const link = this.link;
    if (link === undefined) return;
    if (link.ws.readyState === WebSocket.OPEN || link.ws.readyState === WebSocket.CONNECTING) {
      const closed = new Promise<void>((resolve) => link.ws.once('close', () => resolve()));
      link.ws.close(code, reason);
      const timer = this.timers.setTimeout(() => link.ws.terminate(), 2000);
      await closed;
      this.timers.clearTimeout(timer);
    }
    await this.teardown(link);
  }

  /** Keeps what the link knew about lag for the time without a link, then disposes of it. */
  private async teardown(link: OutboundLink): Promise<void> {
    if (!link.open) return;
    const oldest = Math.min(link.oldestUnackedAt ?? Infinity, link.unreadSince ?? Infinity);
    if (oldest !== Infinity) this.behindSince = Math.min(this.behindSince ?? Infinity, oldest);
    if (link.readPosition !== undefined) this.head = link.head;
    await link.dispose();
  }

  private setState(state: SenderState): void {
    this.current = state;
  }
}

function unexpected(what: string): ReplicationError {
  return new ReplicationError('TANDEM_ERR_REPLICATION_PROTOCOL', `unexpected on the replication link: ${what}`);
}
