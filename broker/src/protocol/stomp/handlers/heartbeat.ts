// STOMP 1.2 "Heart-beating": negotiating the two intervals from CONNECT's and CONNECTED's
// `heart-beat` headers, and a monitor that sends beats and notices a silent peer. Time is injected.
import { BrokerError } from '../../../errors.js';

export interface HeartbeatOffer {
  /** Smallest interval, ms, at which the party can send beats; 0 for never. */
  send: number;
  /** Desired interval, ms, at which the party wants to receive beats; 0 for none. */
  receive: number;
}

export interface NegotiatedHeartbeat {
  /** How often the server must send something; 0 for never. */
  sendEvery: number;
  /** How often the client must send something; 0 when not checked. */
  expectEvery: number;
}

/** Parses a `heart-beat` header ("cx,cy"); absent means "0,0" (the spec's default). */
export function parseHeartbeat(value: string | undefined): HeartbeatOffer {
  if (value === undefined) return { send: 0, receive: 0 };
  const match = /^\s*(\d+)\s*,\s*(\d+)\s*$/.exec(value);
  if (match === null) {
    throw new BrokerError('TANDEM_ERR_INVALID_HEADER', `CONNECT header 'heart-beat' must be two integers 'cx,cy', not '${value}'`);
  }
  return { send: Number(match[1]), receive: Number(match[2]) };
}

/**
 * The spec's rule: the server sends every max(sx, cy) ms unless either is 0, and expects the
 * client every max(cx, sy) ms unless either is 0.
 */
export function negotiateHeartbeat(client: HeartbeatOffer, server: HeartbeatOffer): NegotiatedHeartbeat {
  return {
    sendEvery: server.send === 0 || client.receive === 0 ? 0 : Math.max(server.send, client.receive),
    expectEvery: client.send === 0 || server.receive === 0 ? 0 : Math.max(client.send, server.receive),
  };
}

export interface Clock {
  now(): number;
  /** Calls `fn` every `ms`; returns the function that stops it. */
  every(ms: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  every(ms, fn) {
    const timer = setInterval(fn, ms);
    timer.unref();
    return () => clearInterval(timer);
  },
};

export interface HeartbeatEvents {
  /** Nothing was written for a while: write an EOL. */
  beat(): void;
  /** Nothing was read for `silentMs`, beyond the grace the spec allows for network delay. */
  timedOut(silentMs: number): void;
}

/**
 * Runs the negotiated heart-beats. Sending checks at half the interval so that a beat always goes
 * out within one interval of the last write (checking once per interval can leave a gap of almost
 * two). Receiving allows `grace` times the interval, since the spec leaves the margin for network
 * delay to the implementation (ActiveMQ's hbGracePeriodMultiplier plays the same role).
 */
export class HeartbeatMonitor {
  private wroteSinceCheck = true;
  private lastRead: number;
  private readonly stops: Array<() => void> = [];

  constructor(
    private readonly clock: Clock,
    negotiated: NegotiatedHeartbeat,
    events: HeartbeatEvents,
    grace = 1.5,
  ) {
    this.lastRead = clock.now();
    if (negotiated.sendEvery > 0) {
      this.stops.push(
        clock.every(Math.max(1, Math.floor(negotiated.sendEvery / 2)), () => {
          if (!this.wroteSinceCheck) events.beat();
          this.wroteSinceCheck = false;
        }),
      );
    }
    if (negotiated.expectEvery > 0) {
      const limit = negotiated.expectEvery * grace;
      this.stops.push(
        clock.every(negotiated.expectEvery, () => {
          const silent = this.clock.now() - this.lastRead;
          if (silent > limit) events.timedOut(silent);
        }),
      );
    }
  }

  /** Any bytes from the client count, frames or beats. */
  noteRead(): void {
    this.lastRead = this.clock.now();
  }

  /** Any bytes to the client count. */
  noteWrite(): void {
    this.wroteSinceCheck = true;
  }

  stop(): void {
    for (const stop of this.stops.splice(0)) stop();
  }
}
