// The file store's bookkeeping per segment, without message bodies: which segment holds each
// live message and which targets still owe it an ack, how many messages each segment was written
// with, and where the latest copy of each durable subscription, producer sequence and dispatch
// mark sits (the reclaimer must carry those forward before it deletes their segment).
import type { DurableSubscriptionInfo } from './types.js';
import { durableKey } from './types.js';

const DURABLE_PREFIX = 'durable:';

export interface LiveEntry {
  segment: number;
  remaining: string[];
}

interface SegmentCounts {
  live: number;
  messages: number;
}

/** A value and the segment holding its latest record. */
export interface Pinned<T> {
  value: T;
  segment: number;
}

export class SegmentLedger {
  readonly live = new Map<number, LiveEntry>();
  readonly durables = new Map<string, Pinned<DurableSubscriptionInfo>>();
  readonly producers = new Map<string, Pinned<number>>();
  readonly marks = new Map<string, Pinned<number>>();
  private readonly counts = new Map<number, SegmentCounts>();

  liveIn(segment: number): number {
    return this.counts.get(segment)?.live ?? 0;
  }

  messagesIn(segment: number): number {
    return this.counts.get(segment)?.messages ?? 0;
  }

  /** Recovery: `segment` was written with `messages` message-add records. */
  restoreCount(segment: number, messages: number): void {
    this.countsOf(segment).messages += messages;
  }

  /** Recovery: a live message, with the targets that still owe an ack. */
  restoreLive(seq: number, segment: number, remaining: string[]): void {
    this.live.set(seq, { segment, remaining });
    this.countsOf(segment).live++;
  }

  /**
   * A message-add record went to `segment`. A seq already live keeps its first copy. A durable
   * target without a subscription (routed as it was removed) owes nothing and is not tracked.
   */
  added(seq: number, targets: readonly string[], segment: number): void {
    this.countsOf(segment).messages++;
    if (this.live.has(seq)) return;
    const remaining = targets.filter((t) => !t.startsWith(DURABLE_PREFIX) || this.durables.has(t));
    if (remaining.length === 0) return;
    this.live.set(seq, { segment, remaining });
    this.countsOf(segment).live++;
  }

  acked(target: string, seq: number): void {
    const entry = this.live.get(seq);
    if (entry === undefined) return;
    const at = entry.remaining.indexOf(target);
    if (at < 0) return;
    entry.remaining.splice(at, 1);
    if (entry.remaining.length === 0) this.release(seq, entry);
  }

  /** The live message moved: a compacted copy of it was appended to `segment`. */
  moved(seq: number, segment: number): void {
    const entry = this.live.get(seq);
    if (entry === undefined || entry.segment === segment) return;
    this.countsOf(entry.segment).live--;
    entry.segment = segment;
    const counts = this.countsOf(segment);
    counts.live++;
    counts.messages++;
  }

  durableAdded(info: DurableSubscriptionInfo, segment: number): void {
    this.durables.set(durableKey(info.clientId, info.name), { value: info, segment });
  }

  durableRemoved(clientId: string, name: string): void {
    const key = durableKey(clientId, name);
    this.durables.delete(key);
    this.marks.delete(key);
    for (const [seq, entry] of this.live) {
      const at = entry.remaining.indexOf(key);
      if (at < 0) continue;
      entry.remaining.splice(at, 1);
      if (entry.remaining.length === 0) this.release(seq, entry);
    }
  }

  producer(producerId: string, producerSeq: number, segment: number): void {
    const known = this.producers.get(producerId);
    if (known === undefined || producerSeq >= known.value) this.producers.set(producerId, { value: producerSeq, segment });
  }

  marked(target: string, seq: number, segment: number): void {
    const known = this.marks.get(target);
    if (known === undefined || seq >= known.value) this.marks.set(target, { value: seq, segment });
  }

  /** The segment is deleted; nothing live may remain in it. */
  forget(segment: number): void {
    this.counts.delete(segment);
  }

  private release(seq: number, entry: LiveEntry): void {
    this.live.delete(seq);
    this.countsOf(entry.segment).live--;
  }

  private countsOf(segment: number): SegmentCounts {
    let counts = this.counts.get(segment);
    if (counts === undefined) this.counts.set(segment, (counts = { live: 0, messages: 0 }));
    return counts;
  }
}
