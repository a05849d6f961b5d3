// Replication lag as Amazon MQ reports ReplicationLag, from either side of the link: records and
// bytes of the primary's journal not yet durable at the replica, and the age in seconds of the
// oldest of them. The sender measures it; the receiver works from the sender's last status.
import { journalOffset, type Position } from './position.js';
import type { StatusMessage } from './protocol.js';

export interface Lag {
  records: number;
  bytes: number;
  seconds: number;
}

export const NO_LAG: Lag = Object.freeze({ records: 0, bytes: 0, seconds: 0 });

export interface SenderLagInput {
  /** Journal offset of the end of the primary's journal. */
  head: number;
  /** The receiver's durable position, from its last ack (or welcome). */
  durable: Position;
  /** Where the tailer will read next: bytes between here and `head` are not read yet. */
  readPosition: Position;
  /** Records sent (or queued) and not yet acknowledged. */
  unackedRecords: number;
  /** When the oldest unacknowledged batch was first seen in the journal. */
  oldestUnackedAt: number | undefined;
  /** When bytes beyond the read position were first seen, if any wait. */
  unreadSince: number | undefined;
  /** Average record size so far, to estimate records not read yet. */
  averageRecordBytes: number;
  now: number;
}

/** The sender's view; records not yet read from the journal are estimated from the average size. */
export function senderLag(input: SenderLagInput): Lag {
  const bytes = Math.max(0, input.head - journalOffset(input.durable));
  if (bytes === 0) return { ...NO_LAG };
  const unread = Math.max(0, input.head - journalOffset(input.readPosition));
  const unreadRecords = unread === 0 ? 0 : Math.ceil(unread / Math.max(1, input.averageRecordBytes));
  const since = Math.min(input.oldestUnackedAt ?? Infinity, input.unreadSince ?? Infinity);
  return {
    records: input.unackedRecords + unreadRecords,
    bytes,
    seconds: since === Infinity ? 0 : Math.max(0, input.now - since) / 1000,
  };
}

/** The receiver's view: the sender's last status, corrected for what became durable since. */
export class ReceiverLag {
  private last: { status: StatusMessage; receivedAt: number } | undefined;

  onStatus(status: StatusMessage, now: number): void {
    this.last = { status, receivedAt: now };
  }

  /** When the last status arrived, if one has. */
  get lastStatusAt(): number | undefined {
    return this.last?.receivedAt;
  }

  lag(durable: Position, now: number): Lag {
    if (this.last === undefined) return { ...NO_LAG };
    const { status, receivedAt } = this.last;
    const bytes = Math.max(0, status.head - journalOffset(durable));
    if (bytes === 0) return { ...NO_LAG };
    return {
      records: status.records,
      bytes,
      seconds: (status.ageMs + Math.max(0, now - receivedAt)) / 1000,
    };
  }
}
