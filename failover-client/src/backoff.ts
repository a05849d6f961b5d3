// The reconnect delay: ActiveMQ's schedule (initialReconnectDelay, multiplied by
// reconnectDelayExponent per pass when useExponentialBackOff, capped at maxReconnectDelay) with
// jitter on top, so clients cut off together do not all return in the same millisecond.

export interface BackoffOptions {
  initialReconnectDelay: number;
  maxReconnectDelay: number;
  useExponentialBackOff: boolean;
  reconnectDelayExponent: number;
  /** Fraction of the delay randomised either way: 0.2 gives 80% to 120%. 0 for none. */
  jitter: number;
}

/** The delay before reconnect pass `attempt` (1-based) without jitter. */
export function baseDelay(attempt: number, options: BackoffOptions): number {
  if (attempt < 1) return 0;
  const { initialReconnectDelay: initial, maxReconnectDelay: max } = options;
  const raw = options.useExponentialBackOff ? initial * Math.pow(options.reconnectDelayExponent, attempt - 1) : initial;
  return Math.min(raw, max);
}

/**
 * The delay with jitter, from `random()` in [0, 1). Never above maxReconnectDelay, so the
 * documented ceiling holds; never negative.
 */
export function reconnectDelay(attempt: number, options: BackoffOptions, random: () => number): number {
  const base = baseDelay(attempt, options);
  const spread = base * options.jitter;
  const jittered = base - spread + 2 * spread * random();
  return Math.max(0, Math.min(options.maxReconnectDelay, Math.round(jittered)));
}
