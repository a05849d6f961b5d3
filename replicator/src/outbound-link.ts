// One connection of the sender, from the socket opening to its close: the tailer reading from
// the receiver's position, the window of unacknowledged messages, the numbering, and the pump
// that reads and sends while the window has room. A resend is served from the window when it
// still holds that position, and by reading the journal again from there otherwise.
import WebSocket from 'ws';
import type { FileIO, Logger, Timers } from '@tandem-mq/shared-store';
import { ReplicationError } from './errors.js';
import { formatPosition, type Position } from './position.js';
import { WS_SUBPROTOCOL, type AckMessage, type LinkMessage, type ResendMessage } from './protocol.js';
import { encodeMessage } from './protocol-codec.js';
import { SendWindow, messageFor } from './send-window.js';
import { JournalTailer, type TailEvent } from './tailer.js';

export interface LinkTlsOptions {
  /** PEM of the CA that signed the receiver's certificate (for a private CA or a self-signed one). */
  ca?: string | Buffer;
  /** Client certificate and key, when the receiver asks for one. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** The name to check the receiver's certificate against, if not the URL's host. */
  servername?: string;
  /** Default true; false accepts any certificate (tests only). */
  rejectUnauthorized?: boolean;
}

/** The client socket of a link: our subprotocol, no compression (journal bytes gain little), TLS as configured. */
export function openLinkSocket(url: string, tls: LinkTlsOptions, limits: { maxPayload: number; handshakeTimeout: number }): WebSocket {
  return new WebSocket(url, WS_SUBPROTOCOL, {
    perMessageDeflate: false,
    maxPayload: limits.maxPayload,
    handshakeTimeout: limits.handshakeTimeout,
    ...(tls.ca === undefined ? {} : { ca: tls.ca }),
    ...(tls.cert === undefined ? {} : { cert: tls.cert }),
    ...(tls.key === undefined ? {} : { key: tls.key }),
    ...(tls.servername === undefined ? {} : { servername: tls.servername }),
    ...(tls.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: tls.rejectUnauthorized }),
  });
}

export interface OutboundLinkSettings {
  dir: string;
  io: FileIO;
  timers: Timers;
  logger: Logger;
  pollIntervalMs?: number;
  maxBatchBytes?: number;
  /** Unacknowledged bytes in flight before the pump waits for acks. */
  windowBytes: number;
}

export interface OutboundLinkEvents {
  /** A tail event went out for the first time. */
  sent(event: TailEvent): void;
  /** Reading the journal failed; fatal errors (divergence) are ReplicationErrors with `fatal`. */
  failed(error: unknown): void;
}

export class OutboundLink {
  open = true;
  streaming = false;
  lastHeard: number;
  private readonly window = new SendWindow();
  private tailer: JournalTailer | undefined;
  private nextSeq = 1;
  /** Bumped when the tailer is replaced, so a pump reading the old one stops. */
  private generation = 0;
  private wakePump: (() => void) | undefined;

  constructor(
    readonly ws: WebSocket,
    private readonly settings: OutboundLinkSettings,
    private readonly events: OutboundLinkEvents,
  ) {
    this.lastHeard = settings.timers.now();
  }

  /** Where the tailer reads next, while there is one. */
  get readPosition(): Position | undefined {
    return this.tailer?.position;
  }
  get head(): number {
    return this.tailer?.head ?? 0;
  }
  get unreadSince(): number | undefined {
    return this.tailer?.waitingSince;
  }
  get unackedRecords(): number {
    return this.window.records;
  }
  get oldestUnackedAt(): number | undefined {
    return this.window.oldestObservedAt;
  }
  get problem(): ReplicationError | undefined {
    return this.tailer?.problem;
  }

  /** Ships from `from`, numbering from `seq`: on welcome, and on a resend the window cannot serve. */
  startAt(from: Position, seq: number, waitingSince?: number): void {
    void this.tailer?.close();
    this.window.clear();
    this.nextSeq = seq;
    this.generation++;
    const { dir, io, timers, logger, pollIntervalMs, maxBatchBytes } = this.settings;
    this.tailer = new JournalTailer({
      dir,
      from,
      io,
      timers,
      logger,
      ...(pollIntervalMs === undefined ? {} : { pollIntervalMs }),
      ...(maxBatchBytes === undefined ? {} : { maxBatchBytes }),
      ...(waitingSince === undefined ? {} : { waitingSince }),
    });
    void this.pump(this.generation);
  }

  ack(m: AckMessage): void {
    this.window.ackThrough(m.seq);
    this.wakePump?.();
  }

  /** Returns whether the window served it. */
  resend(m: ResendMessage): boolean {
    const entries = this.window.from(m.position);
    if (entries === undefined) {
      this.startAt(m.position, m.seq);
      return false;
    }
    this.nextSeq = m.seq;
    for (const entry of entries) {
      entry.seq = this.nextSeq++;
      this.send(messageFor(entry));
    }
    return true;
  }

  /** Health for an idle check: refreshes the tailer's view of the primary's end. */
  async refreshHead(): Promise<void> {
    await this.tailer?.refreshHead();
  }

  send(m: LinkMessage): void {
    if (!this.open || this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(encodeMessage(m), { binary: true });
  }

  /** After the socket closed: stops the pump and the tailer. */
  async dispose(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    this.streaming = false;
    this.wakePump?.();
    this.window.clear();
    const tailer = this.tailer;
    this.tailer = undefined;
    await tailer?.close();
  }

  /** Reads the journal and sends, while this link and this tailer last. */
  private async pump(generation: number): Promise<void> {
    const { windowBytes, timers, logger } = this.settings;
    const current = (): boolean => this.open && this.generation === generation;
    try {
      while (current()) {
        while (current() && (this.window.bytes >= windowBytes || this.ws.bufferedAmount >= windowBytes)) {
          await new Promise<void>((resolve) => {
            this.wakePump = resolve;
            timers.setTimeout(resolve, 100); // the socket's buffer drains without an event
          });
          this.wakePump = undefined;
        }
        if (!current()) return;
        const event = await this.tailer!.next();
        if (!current()) return;
        const entry = this.window.push(this.nextSeq++, event);
        this.events.sent(event);
        this.send(messageFor(entry));
      }
    } catch (error) {
      if (!current()) return;
      logger.debug({ event: 'replication.pump-stopped', position: formatPosition(this.tailer?.position ?? { segment: 0, offset: 0 }) }, 'the pump stopped');
      this.events.failed(error);
    }
  }
}
