// The periodic expiry sweep. Dispatch already skips expired messages as it meets them; the sweep
// finds the ones nobody is consuming, so they reach the dead-letter queue (or go) on time.
import type { Channel } from './channel.js';
import type { CoreContext } from './context.js';

export const DEFAULT_EXPIRY_SWEEP_MS = 1000;

/** Starts the sweep; returns the function that stops it. */
export function startExpirySweep(ctx: CoreContext, channels: () => Iterable<Channel>, intervalMs: number): () => void {
  const handle = ctx.timers.setInterval(() => sweepExpired(ctx, channels()), intervalMs);
  return () => ctx.timers.clearInterval(handle);
}

export function sweepExpired(ctx: CoreContext, channels: Iterable<Channel>): void {
  const now = ctx.now();
  for (const channel of channels) {
    try {
      channel.sweepExpired(now);
    } catch (error) {
      ctx.logger.error({ event: 'core.expiry-sweep-failed', destination: channel.name, err: error }, 'the expiry sweep failed on a destination');
    }
  }
}
