// A connection's way to its sink. A persistent delivery whose dispatch mark is not settled yet
// waits for it (so a crash cannot lose its redelivered flag), and every later delivery on the
// connection queues behind it, so the client still sees messages in the order they were dispatched.
import type { Logger } from '@tandem-mq/shared-store';
import type { InFlight } from './subscription.js';
import type { ConnectionSink, Delivery } from './types.js';

const PENDING = 0;
const PASSED = 1;
const REFUSED = 2;
type GateState = typeof PENDING | typeof PASSED | typeof REFUSED;

/** A delivery tracked as in flight that has not reached the sink yet. */
interface Held {
  inFlight: InFlight;
  delivery: Delivery;
  gate: Promise<void> | undefined;
}

export class Outbound {
  private held: Held[] = [];
  private head = 0;
  /** What became of each gate a held delivery waits for; cleared whenever the queue empties. */
  private readonly gates = new Map<Promise<void>, GateState>();
  private closed = false;

  constructor(
    private readonly sink: ConnectionSink,
    private readonly logger: Logger,
  ) {}

  /** Nothing is waiting: a delivery without a gate may go straight to the sink. */
  get idle(): boolean {
    return this.head === this.held.length;
  }

  /** Hands a delivery to the sink now. Callers check `idle` first, or they would overtake. */
  handOff(delivery: Delivery): void {
    try {
      this.sink.deliver(delivery);
    } catch (error) {
      this.logger.error({ event: 'core.deliver-failed', err: error, destination: delivery.destination }, 'a sink threw while taking a delivery');
    }
  }

  /**
   * Queues a delivery (already tracked as in flight) behind `gate`, if any, and behind everything
   * queued before it. It reaches the sink only if it is still in flight by then: a delivery
   * returned meanwhile (its consumer left) has gone back to its destination.
   */
  hold(inFlight: InFlight, delivery: Delivery, gate: Promise<void> | undefined): void {
    if (this.closed) return;
    this.held.push({ inFlight, delivery, gate });
    if (gate === undefined || this.gates.has(gate)) return;
    this.gates.set(gate, PENDING);
    gate.then(
      () => this.settle(gate, PASSED),
      (error: unknown) => {
        // The mark could not be stored, so the journal has failed: the messages behind this gate
        // stay in flight, undelivered, and go back to their destinations when the consumer leaves.
        this.logger.error(
          { event: 'core.delivery-withheld', err: error, destination: delivery.destination },
          'a dispatch mark could not be stored; persistent deliveries are withheld',
        );
        this.settle(gate, REFUSED);
      },
    );
  }

  /** The connection is gone: nothing more reaches its sink. */
  close(): void {
    this.closed = true;
    this.held = [];
    this.head = 0;
    this.gates.clear();
  }

  private settle(gate: Promise<void>, state: GateState): void {
    if (this.closed || !this.gates.has(gate)) return;
    this.gates.set(gate, state);
    this.flush();
  }

  private flush(): void {
    const held = this.held;
    while (!this.closed && this.head < held.length) {
      const item = held[this.head]!;
      const state = item.gate === undefined ? PASSED : this.gates.get(item.gate)!;
      if (state === PENDING) break;
      this.head++;
      if (state === PASSED && item.inFlight.channel.handedOff(item.inFlight)) this.handOff(item.delivery);
    }
    if (!this.closed && this.head === held.length) {
      this.held = [];
      this.head = 0;
      this.gates.clear();
    }
  }
}
