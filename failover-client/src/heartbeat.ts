// STOMP 1.2 "Heart-beating" on the client side: negotiate the two intervals from CONNECT's and
// CONNECTED's `heart-beat` headers, write an EOL when the client has been quiet, and report a
// server that has been silent for longer than its interval plus grace.
import type { TimerHandle, Timers } from './timers.js';

export interface HeartbeatOffer {
  /** The smallest interval (ms) at which the party can send; 0 for never. */
  send: number;
  /** The interval (ms) at which the party wants to receive; 0 for none. */
  receive: number;
}

export interface NegotiatedHeartbeat {
  /** How often the client must write something; 0 for never. */
  sendEvery: number;
  /** How often the server promised to write something; 0 when it is not checked. */
  expectEvery: number;
}

/** Reads a `heart-beat:sx,sy` header; absent or unreadable counts as "0,0" (no heart-beats). */
export function parseHeartbeat(value: string | undefined): HeartbeatOffer {
  const match = value === undefined ? null : /^\s*(\d+)\s*,\s*(\d+)\s*$/.exec(value);
  return match === null ? { send: 0, receive: 0 } : { send: Number(match[1]), receive: Number(match[2]) };
}

/** The spec's rule, seen from the client: send every max(cx, sy) and expect every max(sx, cy), unless either side is 0. */
export function negotiateHeartbeat(client: HeartbeatOffer, server: HeartbeatOffer): NegotiatedHeartbeat {
  return {
    sendEvery: client.send === 0 || server.receive === 0 ? 0 : Math.max(client.send, server.receive),
    expectEvery: client.receive === 0 || server.send === 0 ? 0 : Math.max(client.receive, server.send),
  };
}

export interface HeartbeatEvents {
  /** Nothing was written for `sendEvery`: write an EOL. */
  beat(): void;
  /** Nothing was read for `silentMs`; the connection should be treated as dead. */
  silent(silentMs: number): void;
}

/**
 * Watches one connection. The server is declared silent after `graceFactor` times its interval,
 * because the spec asks for tolerance of network delay and a busy server's timer drift.
 */
export class HeartbeatMonitor {
  private lastRead: number;
  private lastWrite: number;
  private sendTimer: TimerHandle | undefined;
  private readTimer: TimerHandle | undefined;
  private stopped = false;

  constructor(
    private readonly negotiated: NegotiatedHeartbeat,
    private readonly events: HeartbeatEvents,
    private readonly timers: Timers,
    private readonly graceFactor = 2,
  ) {
    this.lastRead = this.lastWrite = timers.now();
  }

  start(): void {
    if (this.negotiated.sendEvery > 0) this.scheduleSend(this.negotiated.sendEvery);
    if (this.negotiated.expectEvery > 0) this.scheduleRead(this.silenceLimit());
  }

  /** Any bytes from the server, a heart-beat or a frame. */
  read(): void {
    this.lastRead = this.timers.now();
  }

  /** Any bytes to the server. */
  wrote(): void {
    this.lastWrite = this.timers.now();
  }

  stop(): void {
    this.stopped = true;
    if (this.sendTimer !== undefined) this.timers.clearTimeout(this.sendTimer);
    if (this.readTimer !== undefined) this.timers.clearTimeout(this.readTimer);
  }

  private silenceLimit(): number {
    return Math.round(this.negotiated.expectEvery * this.graceFactor);
  }

  private scheduleSend(ms: number): void {
    this.sendTimer = this.timers.setTimeout(() => {
      if (this.stopped) return;
      const quiet = this.timers.now() - this.lastWrite;
      if (quiet >= this.negotiated.sendEvery) {
        this.events.beat();
        this.lastWrite = this.timers.now();
        this.scheduleSend(this.negotiated.sendEvery);
      } else {
        this.scheduleSend(this.negotiated.sendEvery - quiet);
      }
    }, ms);
  }

  private scheduleRead(ms: number): void {
    this.readTimer = this.timers.setTimeout(() => {
      if (this.stopped) return;
      const silent = this.timers.now() - this.lastRead;
      const limit = this.silenceLimit();
      if (silent >= limit) {
        this.stopped = true;
        if (this.sendTimer !== undefined) this.timers.clearTimeout(this.sendTimer);
        this.events.silent(silent);
      } else {
        this.scheduleRead(limit - silent);
      }
    }, ms);
  }
}
