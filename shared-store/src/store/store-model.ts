// The logical state both stores agree on: live messages with the targets that still owe an ack,
// durable subscriptions, producer sequences and dispatch marks. The memory store keeps it as its
// whole truth; the file store's recovery rebuilds it from the journal's records.
import type {
  DurableSubscriptionInfo,
  RecoveredMessage,
  RecoveredState,
  RecoveryProblem,
  StoredMessage,
} from './types.js';
import { durableKey } from './types.js';

const DURABLE_PREFIX = 'durable:';

export interface LiveMessage {
  message: StoredMessage;
  /** Targets that have not acknowledged the message yet. */
  remaining: Set<string>;
}

export class StoreModel {
  /** Live messages only: a message leaves this map once its last target lets go of it. */
  readonly messages = new Map<number, LiveMessage>();
  readonly durables = new Map<string, DurableSubscriptionInfo>();
  readonly producerSeqs = new Map<string, number>();
  readonly marks = new Map<string, number>();
  /** One past the highest seq any record mentioned, so seqs never repeat after a restart. */
  nextSeq = 1;

  /**
   * Returns false for a seq already seen live (after compaction the first copy wins) or a message
   * nobody waits for. With `knownTargetsOnly`, durable targets without a subscription are dropped
   * at once; recovery instead drops them at the end (dropOrphanTargets), because a compacted
   * message may precede the carried-forward copy of its subscription in the journal.
   */
  addMessage(message: StoredMessage, knownTargetsOnly = false): boolean {
    this.noteSeq(message.seq);
    if (message.producerId !== undefined && message.producerSeq !== undefined) {
      this.noteProducer(message.producerId, message.producerSeq);
    }
    if (this.messages.has(message.seq)) return false;
    const targets = knownTargetsOnly ? message.targets.filter((t) => this.isKnownTarget(t)) : message.targets;
    if (targets.length === 0) return false;
    this.messages.set(message.seq, { message, remaining: new Set(targets) });
    return true;
  }

  /** Drops durable targets whose subscription does not exist; returns the seqs that died. */
  dropOrphanTargets(): number[] {
    const died: number[] = [];
    for (const [seq, live] of this.messages) {
      for (const target of live.remaining) if (!this.isKnownTarget(target)) live.remaining.delete(target);
      if (live.remaining.size === 0) {
        this.messages.delete(seq);
        died.push(seq);
      }
    }
    return died;
  }

  /** A queue target, or a durable target whose subscription exists. */
  isKnownTarget(target: string): boolean {
    return !target.startsWith(DURABLE_PREFIX) || this.durables.has(target);
  }

  /** Returns true when this ack released the message's last target. */
  ack(target: string, seq: number): boolean {
    this.noteSeq(seq);
    const live = this.messages.get(seq);
    if (live === undefined || !live.remaining.delete(target)) return false;
    if (live.remaining.size > 0) return false;
    this.messages.delete(seq);
    return true;
  }

  addDurable(info: DurableSubscriptionInfo): void {
    // An add for an existing key (a re-subscribe, or a copy the reclaimer carried forward)
    // updates the info and keeps the pending messages.
    this.durables.set(durableKey(info.clientId, info.name), info);
  }

  /** Drops the subscription and its claim on every message; returns the seqs that died. */
  removeDurable(clientId: string, name: string): number[] {
    const key = durableKey(clientId, name);
    this.durables.delete(key);
    this.marks.delete(key);
    const died: number[] = [];
    for (const [seq, live] of this.messages) {
      if (live.remaining.delete(key) && live.remaining.size === 0) {
        this.messages.delete(seq);
        died.push(seq);
      }
    }
    return died;
  }

  noteProducer(producerId: string, producerSeq: number): void {
    const known = this.producerSeqs.get(producerId);
    if (known === undefined || producerSeq > known) this.producerSeqs.set(producerId, producerSeq);
  }

  mark(target: string, seq: number): void {
    this.noteSeq(seq);
    const known = this.marks.get(target);
    if (known === undefined || seq > known) this.marks.set(target, seq);
  }

  noteSeq(seq: number): void {
    if (seq >= this.nextSeq) this.nextSeq = seq + 1;
  }

  /** The broker's view: pending messages per queue and per durable subscription, by seq. */
  toRecovered(
    cleanShutdown: boolean,
    problems: RecoveryProblem[],
    stats: RecoveredState['stats'],
  ): RecoveredState {
    const queues = new Map<string, RecoveredMessage[]>();
    const pendingByDurable = new Map<string, RecoveredMessage[]>();
    for (const key of this.durables.keys()) pendingByDurable.set(key, []);
    const seqs = [...this.messages.keys()].sort((a, b) => a - b);
    for (const seq of seqs) {
      const live = this.messages.get(seq)!;
      const targets = [...live.remaining];
      for (const target of targets) {
        const recovered: RecoveredMessage = {
          ...live.message,
          targets,
          redelivered: seq <= (this.marks.get(target) ?? 0),
        };
        if (target.startsWith(DURABLE_PREFIX)) {
          pendingByDurable.get(target)?.push(recovered);
        } else {
          let list = queues.get(target);
          if (list === undefined) queues.set(target, (list = []));
          list.push(recovered);
        }
      }
    }
    const durableSubscriptions = [...this.durables].map(([key, info]) => ({
      info,
      pending: pendingByDurable.get(key) ?? [],
    }));
    return {
      queues,
      durableSubscriptions,
      producerSeqs: new Map(this.producerSeqs),
      nextSeq: this.nextSeq,
      cleanShutdown,
      problems,
      stats,
    };
  }
}
