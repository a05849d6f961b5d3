// Stands between the listeners and the sessions of one activation so that fencing can cut every
// client off in one synchronous step: from then on nothing more is written to any of them (no
// RECEIPT, no MESSAGE, no ERROR), nothing they send is read, and their sessions close at once.
import type { Acceptor, SessionTransport, TransportHandler } from '../transport/types.js';

interface Gated {
  transport: SessionTransport;
  handler: TransportHandler;
  dropped: boolean;
  closed: boolean;
}

export class ConnectionGate {
  private readonly open = new Set<Gated>();
  private shut = false;

  constructor(private readonly inner: Acceptor) {}

  /** Connections accepted and not yet closed. */
  get size(): number {
    return this.open.size;
  }

  readonly accept: Acceptor = (transport) => {
    const gated: Gated = { transport, handler: undefined as unknown as TransportHandler, dropped: false, closed: false };
    const guarded: SessionTransport = {
      remoteAddress: transport.remoteAddress,
      protocol: transport.protocol,
      // Reporting room keeps a dropped session from waiting on a drain that never comes.
      write: (chunks) => (gated.dropped ? true : transport.write(chunks)),
      pause: () => transport.pause(),
      resume: () => transport.resume(),
      end: () => transport.end(),
    };
    if (this.shut) {
      // Accepted by a listener in the instant after the gate shut: hang up without a word.
      gated.dropped = gated.closed = true;
      transport.end();
      return { onData: () => undefined, onTransportDrain: () => undefined, onTransportClose: () => undefined };
    }
    gated.handler = this.inner(guarded);
    this.open.add(gated);
    return {
      onData: (chunk) => {
        if (!gated.dropped) gated.handler.onData(chunk);
      },
      onTransportDrain: () => {
        if (!gated.dropped) gated.handler.onTransportDrain();
      },
      onTransportClose: () => this.closed(gated),
    };
  };

  /**
   * Fencing: every connection stops hearing from the broker and is closed now; its session learns of
   * the close at once instead of after the socket's goodbye, so the core lets go of it too. New
   * connections that still reach the gate are hung up on.
   */
  dropAll(): void {
    this.shut = true;
    const all = [...this.open];
    // Silence them all before closing any: one session's close hands its messages to the others.
    for (const gated of all) gated.dropped = true;
    for (const gated of all) {
      try {
        gated.transport.end();
      } finally {
        this.closed(gated);
      }
    }
  }

  private closed(gated: Gated): void {
    if (gated.closed) return;
    gated.closed = true;
    this.open.delete(gated);
    gated.handler.onTransportClose();
  }
}
