// Reconnect delays: exponential from `initialMs` up to `maxMs`, each spread by a random jitter so
// two replicators that lost the link together do not knock on the receiver in step.

export interface BackoffSettings {
  initialMs: number;
  maxMs: number;
  factor: number;
  /** Share of the delay drawn at random either way: 0.2 gives 80%..120%. */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffSettings = { initialMs: 100, maxMs: 5000, factor: 2, jitter: 0.2 };

export class Backoff {
  private attempt = 0;

  constructor(
    private readonly settings: BackoffSettings = DEFAULT_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt; each call grows it. */
  next(): number {
    const { initialMs, maxMs, factor, jitter } = this.settings;
    const base = Math.min(maxMs, initialMs * factor ** this.attempt);
    this.attempt++;
    const spread = 1 + jitter * (2 * this.random() - 1);
    return Math.max(0, Math.round(Math.min(maxMs, base * spread)));
  }

  /** After a link that worked: start from the shortest delay again. */
  reset(): void {
    this.attempt = 0;
  }
}
