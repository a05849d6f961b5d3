// priorityBackup: while the client is on a non-priority endpoint, probe the priority endpoints on
// the back-off schedule, and hand over once one completes a STOMP handshake. The client decides
// when a switch is safe (no open transaction) and performs it.
import { reconnectDelay, type BackoffOptions } from './backoff.js';
import type { StompConnection } from './connection.js';
import type { EndpointPool } from './endpoint-pool.js';
import type { Live } from './producer.js';
import type { TimerHandle, Timers } from './timers.js';
import type { Endpoint } from './uri.js';

export interface ProbeHost {
  live(): Live | undefined;
  /** A STOMP session to `endpoint` for the probe (closed by the probe). */
  open(endpoint: Endpoint): Promise<StompConnection>;
  /** Whether moving now would roll back work (an open transaction). */
  busy(): boolean;
  /** Moves from `live` to the priority endpoints. */
  switchTo(live: Live, endpoint: Endpoint): Promise<void>;
  closeTimeout: number;
}

export class PriorityProbe {
  private timer: TimerHandle | undefined;

  constructor(
    private readonly pool: EndpointPool,
    private readonly backoff: BackoffOptions,
    private readonly random: () => number,
    private readonly timers: Timers,
    private readonly host: ProbeHost,
  ) {}

  /** Starts probing if the live connection is on a non-priority endpoint. */
  schedule(attempt = 1): void {
    this.stop();
    const live = this.host.live();
    if (live === undefined || this.pool.isPriority(live.conn.endpoint) || this.pool.priorityEndpoints().length === 0) return;
    this.timer = this.timers.setTimeout(() => void this.probe(attempt), reconnectDelay(attempt, this.backoff, this.random));
  }

  stop(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async probe(attempt: number): Promise<void> {
    this.timer = undefined;
    const live = this.host.live();
    if (live === undefined) return;
    for (const endpoint of this.pool.priorityEndpoints()) {
      let probe: StompConnection;
      try {
        probe = await this.host.open(endpoint);
      } catch {
        continue;
      }
      await probe.disconnect(this.host.closeTimeout);
      if (this.host.live() !== live) return;
      if (this.host.busy()) {
        this.schedule(attempt);
        return;
      }
      await this.host.switchTo(live, endpoint);
      return;
    }
    this.schedule(attempt + 1);
  }
}
