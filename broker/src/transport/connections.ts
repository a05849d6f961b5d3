// Every client connection across all listeners: enforces maxConnections (one budget for TCP, TLS
// and WebSocket together) and closes them all when the broker stops.
import type { Logger } from '@tandem-mq/shared-store';
import type { BrokerCore } from '../core/types.js';
import { BrokerError } from '../errors.js';
import type { StompLimits } from '../protocol/stomp/frame.js';
import { refuseTransport, StompSession } from '../protocol/stomp/session.js';
import type { HeartbeatOffer } from '../protocol/stomp/handlers/heartbeat.js';
import type { Acceptor, SessionTransport, TransportHandler } from './types.js';

export interface ConnectionRegistryOptions {
  core: BrokerCore;
  logger: Logger;
  maxConnections: number;
  limits: StompLimits;
  heartbeat: HeartbeatOffer;
}

const IGNORE: TransportHandler = { onData: () => undefined, onTransportDrain: () => undefined, onTransportClose: () => undefined };

export class ConnectionRegistry {
  private readonly sessions = new Set<StompSession>();
  private readonly idleWaiters: Array<() => void> = [];
  private stopping = false;
  private accepted = 0;
  private refused = 0;

  constructor(private readonly options: ConnectionRegistryOptions) {}

  /** Open connections now. */
  get count(): number {
    return this.sessions.size;
  }

  get stats(): { open: number; accepted: number; refused: number } {
    return { open: this.sessions.size, accepted: this.accepted, refused: this.refused };
  }

  readonly accept: Acceptor = (transport: SessionTransport) => {
    const { maxConnections, logger } = this.options;
    if (this.stopping || this.sessions.size >= maxConnections) {
      this.refused++;
      const reason = this.stopping ? 'the broker is stopping' : `the broker already has ${maxConnections} connections (limits.maxConnections)`;
      logger.warn({ event: 'connection.refused', remote: transport.remoteAddress, open: this.sessions.size, maxConnections }, `refused a connection: ${reason}`);
      refuseTransport(transport, new BrokerError('TANDEM_ERR_TOO_MANY_CONNECTIONS', `Connection refused: ${reason}`));
      return IGNORE;
    }
    this.accepted++;
    const session: StompSession = new StompSession({
      core: this.options.core,
      transport,
      logger,
      limits: this.options.limits,
      heartbeat: this.options.heartbeat,
      onClosed: () => {
        this.sessions.delete(session);
        if (this.sessions.size === 0) for (const wake of this.idleWaiters.splice(0)) wake();
      },
    });
    this.sessions.add(session);
    return session;
  };

  /** Refuses new connections, closes the open ones, and resolves once they have all closed. */
  closeAll(): Promise<void> {
    this.stopping = true;
    if (this.sessions.size === 0) return Promise.resolve();
    const idle = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    for (const session of [...this.sessions]) void session.shutdown();
    return idle;
  }
}
