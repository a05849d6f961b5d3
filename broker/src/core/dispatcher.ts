// Coalesces dispatch: sends, acks and drains in one turn mark channels dirty and one microtask runs
// a single pass over each, so a batch costs one scan and sinks are never re-entered mid-operation.
import type { Channel } from './channel.js';

// A promise callback rather than queueMicrotask(), which wraps every call in an AsyncResource: this
// runs several times per message.
const RESOLVED = Promise.resolve();

export class DispatchScheduler {
  private dirty: Channel[] = [];
  private queued = false;
  private stopped = false;

  constructor(private readonly onError: (error: unknown, channel: Channel) => void) {}

  schedule(channel: Channel): void {
    if (this.stopped || channel.dirty) return;
    channel.dirty = true;
    this.dirty.push(channel);
    if (!this.queued) {
      this.queued = true;
      void RESOLVED.then(this.flush);
    }
  }

  stop(): void {
    this.stopped = true;
  }

  private readonly flush = (): void => {
    // Channels marked during the pass (a delivery freeing room elsewhere) join this same flush.
    for (let i = 0; i < this.dirty.length; i++) {
      const channel = this.dirty[i]!;
      channel.dirty = false;
      try {
        channel.dispatch();
      } catch (error) {
        this.onError(error, channel);
      }
    }
    this.dirty = [];
    this.queued = false;
  };
}
