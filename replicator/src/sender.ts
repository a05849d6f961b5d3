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
  type LinkMessage,
  type Promotion,
  type RefusalMessage,
  type ResendMessage,
  type WelcomeMessage,
} from './protocol.js';
import { decodeMessage } from './protocol-codec.js';
import { checkAnchor } from './anchor.js';
import { journalEndPosition, readJournalEnd } from './journal-dir.js';
import { OutboundLink, openLinkSocket, type LinkTlsOptions } from './outbound-link.js';
import type { TailEvent } from './tailer.js';

export interface SenderOptions {
  /** The primary's data directory (read only). */
  dir: string;
  /** ws:// or wss:// URL of the receiver; with several, each attempt tries the next one. */
  url: string | readonly string[];
  token: string;
  /** The primary's region and generation, told in the hello (generation 0: no region state). */
  region?: string;
  generation?: number;
  /**
   * A switchover: the receiver asked the primary to drain. The host stops client traffic and
   * closes its store cleanly; once this resolves the sender ships the journal's last bytes and
   * says `drained`. Without it a drain is refused.
   */
  onDrain?: () => Promise<void>;
  /** After a drain, the receiver welcomed this sender again without promoting: the switchover was abandoned. */
  onDrainAbandoned?: () => void;
  /**
   * The counterpart is a newer primary: it said `promoted`, or refused this sender as a stale
   * primary. The promotion says where this region's data ends; undefined when it was not told.
   * The sender has stopped by then.
   */
  onReplaced?: (promotion: Promotion | undefined, refusal: RefusalMessage | undefined) => void;
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

export type SenderState =
  | 'connecting'
  | 'handshaking'
  | 'streaming'
  | 'waiting'
  | 'draining'
  | 'drained'
  | 'refused'
  | 'replaced'
  | 'stopped';

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
  /** The receiver's region and generation from its welcome. */
  receiverRegion: string | undefined;
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
  private receiverRegion: string | undefined;
  private lastError: ReplicationError | undefined;
  private readonly urls: readonly string[];
  private urlIndex = 0;
  /** Set from a drain request until the switchover ends either way. */
  private drain: 'draining' | 'drained' | undefined;
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
    this.urls = typeof options.url === 'string' ? [options.url] : [...options.url];
    if (this.urls.length === 0) throw new RangeError('a sender needs at least one receiver URL');
    this.backoff = new Backoff({ ...DEFAULT_BACKOFF, ...options.backoff }, options.random);
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve));
  }

  get state(): SenderState {
    return this.current;
  }

  /** The URL tried last (or streaming now). */
  get url(): string {
    return this.urls[this.urlIndex]!;
  }

  /**
   * Waits until the receiver has acknowledged everything up to the journal's end as it is now
   * (after a clean close, the last bytes), or the time is up; resolves whether it got there.
   */
  async flush(timeoutMs: number): Promise<boolean> {
    const end = journalOffset(await journalEndPosition(this.options.dir, this.io));
    const deadline = this.timers.now() + timeoutMs;
    while (journalOffset(this.acked) < end) {
      if (this.timers.now() >= deadline || !this.linked) return false;
      await new Promise<void>((resolve) => this.timers.setTimeout(resolve, 5));
    }
    return true;
  }

  /** Whether a receiver has welcomed this sender on the current link. */
  get linked(): boolean {
    return this.link?.streaming === true && this.receiverName !== undefined;
  }

  start(): void {
    if (this.current !== 'stopped') return;
    this.connect();
    this.tick();
    this.beat();
  }

  /** Closes the link and stops; nothing more is sent. */
  async stop(): Promise<void> {
    if (this.current === 'stopped' || this.current === 'refused' || this.current === 'replaced') {
      this.halt();
      await this.endLink(1000, 'replicator stopping');
      return;
    }
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
      counterpart: this.url,
      receiver: this.receiverName,
      receiverRegion: this.receiverRegion,
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
    this.setState(this.drain ?? 'connecting');
    const url = this.url;
    const ws = openLinkSocket(url, this.options.tls ?? {}, {
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
      this.setState(this.drain ?? 'handshaking');
      link.lastHeard = this.timers.now();
      link.send({
        type: 'hello',
        version: PROTOCOL_VERSION,
        token: this.options.token,
        sender: this.name,
        region: this.options.region ?? '',
        generation: this.options.generation ?? 0,
        probe: false,
      });
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
      this.logger.warn({ event: 'replication.link-error', url, err: error.message }, `replication link error: ${error.message}`);
    });
    ws.on('close', (code, reason) => {
      const wasStreaming = link.streaming;
      void this.teardown(link);
      if (this.link === link) this.link = undefined;
      if (this.current === 'stopped' || this.current === 'refused' || this.current === 'replaced') return;
      // The next attempt tries the next URL: only the counterpart's active broker answers.
      if (!wasStreaming) this.urlIndex = (this.urlIndex + 1) % this.urls.length;
      this.logger.info(
        { event: 'replication.link-closed', code, reason: reason.toString(), position: formatPosition(this.acked), wasStreaming },
        'replication link closed',
      );
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer !== undefined) return;
    this.setState(this.drain ?? 'waiting');
    const delay = this.backoff.next();
    this.reconnectTimer = this.timers.setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.current === 'waiting' || this.current === 'draining' || this.current === 'drained') this.connect();
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
      case 'refusal':
        return this.onRoleRefusal(link, m);
      case 'drain':
        if (!link.streaming) return this.protocolError(link, unexpected('drain before welcome'));
        return void this.onDrainRequest(link);
      case 'promoted':
        if (!link.streaming) return this.protocolError(link, unexpected('promoted before welcome'));
        return this.replaced(m.promotion, undefined);
      default:
        return this.protocolError(link, unexpected(`a ${m.type} message from the receiver`));
    }
  }

  private async onWelcome(link: OutboundLink, welcome: WelcomeMessage): Promise<void> {
    const { position, receiver, version } = welcome;
    if (link.streaming) return this.protocolError(link, unexpected('a second welcome'));
    // A drain left over from an earlier link (not one asked for on this link while it settles).
    const drainBefore = this.drain !== undefined;
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
    this.receiverRegion = welcome.region;
    this.acked = { ...position };
    this.lastError = undefined;
    this.backoff.reset();
    this.setState('streaming');
    this.logger.info({ event: 'replication.link-up', receiver, position: formatPosition(position), url: this.url }, `shipping to ${receiver} from ${formatPosition(position)}`);
    if (drainBefore && this.drain !== undefined) {
      // Welcomed as before after a drain: the replica was not promoted, so the switchover is off.
      this.drain = undefined;
      this.logger.warn({ event: 'replication.drain-abandoned', receiver }, 'the replica welcomed this primary again without promoting: the switchover was abandoned');
      this.options.onDrainAbandoned?.();
    }
    link.startAt(position, 1, this.behindSince);
    this.behindSince = undefined;
  }

  /** A switchover asked for by the replica: the host stops serving, then the last bytes go out. */
  private async onDrainRequest(link: OutboundLink): Promise<void> {
    if (this.options.onDrain === undefined) {
      return this.protocolError(link, new ReplicationError('TANDEM_ERR_REPLICATION_PROTOCOL', 'this sender has no broker to drain (a standalone replicator)'));
    }
    if (this.drain !== undefined) return;
    this.drain = 'draining';
    this.setState('draining');
    this.logger.info({ event: 'replication.draining' }, 'the replica asked for a switchover: draining');
    try {
      await this.options.onDrain();
      const end = await journalEndPosition(this.options.dir, this.io);
      // Everything up to the end goes out before `drained`: the link keeps messages in order.
      while (link.open && link.readPosition !== undefined && journalOffset(link.readPosition) < journalOffset(end)) {
        await new Promise<void>((resolve) => this.timers.setTimeout(resolve, 2));
      }
      if (!link.open || this.drain !== 'draining') return;
      this.drain = 'drained';
      this.setState('drained');
      link.send({ type: 'drained', position: end });
      this.logger.info({ event: 'replication.drained', position: formatPosition(end) }, `drained: everything up to ${formatPosition(end)} is sent`);
    } catch (error) {
      this.logger.error({ event: 'replication.drain-failed', err: (error as Error).message }, `draining failed: ${(error as Error).message}`);
      if (link.open) link.ws.close(1011, 'drain failed');
    }
  }

  /** A primary answered (or a newer replica refused us): a newer generation means we were replaced. */
  private onRoleRefusal(link: OutboundLink, m: RefusalMessage): void {
    const mine = this.options.generation ?? 0;
    if (m.generation > mine && (m.code === 'TANDEM_ERR_REPLICATION_NOT_REPLICA' || m.code === 'TANDEM_ERR_REPLICATION_STALE_PRIMARY')) {
      return this.replaced(m.promotion, m);
    }
    this.lastError = new ReplicationError(isReplicationErrorCode(m.code) ? m.code : 'TANDEM_ERR_REPLICATION_PROTOCOL', `${this.url} refused the link: ${m.message}`);
    this.logger.warn(
      { event: 'replication.refused', code: m.code, url: this.url, region: m.region, generation: m.generation },
      `${this.url} refused the link (${m.code}, region ${m.region} generation ${m.generation}); trying again later`,
    );
    link.ws.close(1000, 'refused');
  }

  private replaced(promotion: Promotion | undefined, refusal: RefusalMessage | undefined): void {
    this.logger.warn(
      { event: 'replication.replaced', generation: promotion?.generation ?? refusal?.generation, region: promotion?.promotedRegion ?? refusal?.region },
      'the counterpart region is primary at a newer generation: this region was replaced',
    );
    this.drain = undefined;
    this.setState('replaced');
    this.halt();
    void this.endLink(1000, 'replaced');
    this.resolveFinished(undefined);
    this.options.onReplaced?.(promotion, refusal);
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
      this.logger.info({ event: 'replication.link-busy', code, url: this.url }, 'the receiver already has a sender; trying again later');
    } else {
      this.logger.error({ event: 'replication.refused', code, url: this.url }, error.message);
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
        if (this.current !== 'stopped' && this.current !== 'refused' && this.current !== 'replaced') this.tick();
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
      if (this.current !== 'stopped' && this.current !== 'refused' && this.current !== 'replaced') this.beat();
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
