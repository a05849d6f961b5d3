// The sender's unacknowledged messages, in order: batches and deletions sent and not yet covered
// by an ack. A resend from a position the window still holds is served from memory; the window's
// size in bytes is the sender's flow control.
import { journalOffset, type Position } from './position.js';
import { batchMessage, type BatchMessage, type SegmentDeletedMessage } from './protocol.js';
import type { TailEvent } from './tailer.js';

export interface WindowEntry {
  seq: number;
  event: TailEvent;
  /** The receiver's position before this entry is applied. */
  from: Position;
}

export class SendWindow {
  private entries: WindowEntry[] = [];
  private byteCount = 0;
  private recordCount = 0;

  get size(): number {
    return this.entries.length;
  }
  get bytes(): number {
    return this.byteCount;
  }
  get records(): number {
    return this.recordCount;
  }
  /** When the oldest unacknowledged batch was first seen in the journal. */
  get oldestObservedAt(): number | undefined {
    for (const e of this.entries) if (e.event.kind === 'batch') return e.event.observedAt;
    return undefined;
  }

  push(seq: number, event: TailEvent): WindowEntry {
    const entry: WindowEntry = { seq, event, from: event.kind === 'batch' ? event.position : event.from };
    this.entries.push(entry);
    if (event.kind === 'batch') {
      this.byteCount += event.bytes.length;
      this.recordCount += event.records;
    }
    return entry;
  }

  /** Drops every entry up to and including `seq`; returns how many. */
  ackThrough(seq: number): number {
    let n = 0;
    while (n < this.entries.length && this.entries[n]!.seq <= seq) this.forget(this.entries[n++]!);
    this.entries.splice(0, n);
    return n;
  }

  /**
   * The entries from the one the receiver's `position` stands before, dropping older ones; or
   * undefined when the window does not reach back to that position.
   */
  from(position: Position): WindowEntry[] | undefined {
    const at = journalOffset(position);
    const i = this.entries.findIndex((e) => journalOffset(e.from) === at);
    if (i < 0) return undefined;
    for (const e of this.entries.slice(0, i)) this.forget(e);
    this.entries.splice(0, i);
    return [...this.entries];
  }

  clear(): void {
    this.entries = [];
    this.byteCount = 0;
    this.recordCount = 0;
  }

  private forget(e: WindowEntry): void {
    if (e.event.kind === 'batch') {
      this.byteCount -= e.event.bytes.length;
      this.recordCount -= e.event.records;
    }
  }
}

/** The link message for a window entry, under its current seq. */
export function messageFor(entry: WindowEntry): BatchMessage | SegmentDeletedMessage {
  const e = entry.event;
  if (e.kind === 'segment-deleted') return { type: 'segment-deleted', seq: entry.seq, below: e.below };
  return batchMessage(entry.seq, e.position, e.bytes, e.records, e.observedAt);
}
