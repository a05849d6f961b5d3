// Per-message replication delay, measured from outside the brokers: polls the replica's cursor file
// (replication.cursor.json, written only after the bytes before it are fdatasynced) and reads the
// replica's segments up to it, so each message record is stamped with the first poll that found it
// durable in the other region. Reads only; the replica's broker owns the directory.
import fs from 'node:fs';
import path from 'node:path';
import { decodeRecord, FrameScanner, journalFormat } from '@tandem-mq/shared-store';

const CURSOR_FILE = 'replication.cursor.json';
const READ_CHUNK = 1024 * 1024;

interface Position {
  segment: number;
  offset: number;
}

/** Calls `onDurable(header value, at, destination)` for every message record carrying `header`, once it is durable at the replica. */
export class ReplicaTail {
  /** Message records found durable. */
  records = 0;
  /** Segments the replica had deleted (reclaimed) before this tail read them: their messages go unmeasured. */
  segmentsMissed = 0;
  /** The segment being read, and how far. */
  private current: Position | undefined;
  /** The last segment read to its end. */
  private finished = -1;
  private scanner: FrameScanner | undefined;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(
    private readonly dir: string,
    private readonly header: string,
    private readonly onDurable: (value: string, at: number, destination: string) => void,
    private readonly now: () => number,
    private readonly intervalMs = 5,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.poll(), this.intervalMs);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One pass: everything up to the cursor as it is now. Synchronous reads keep the stamp honest. */
  poll(): void {
    if (this.busy) return;
    this.busy = true;
    try {
      const at = this.now();
      const durable = this.readCursor();
      if (durable !== undefined) this.readUpTo(durable, at);
    } finally {
      this.busy = false;
    }
  }

  private readCursor(): Position | undefined {
    try {
      const value = JSON.parse(fs.readFileSync(path.join(this.dir, CURSOR_FILE), 'utf8')) as Partial<Position>;
      if (typeof value.segment === 'number' && typeof value.offset === 'number') return { segment: value.segment, offset: value.offset };
    } catch {
      // Not written yet (an empty replica), or caught between the rename and our read: next poll.
    }
    return undefined;
  }

  private readUpTo(durable: Position, at: number): void {
    for (;;) {
      if (this.current === undefined) {
        // The oldest segment not read yet; the replica receives segments whole and in order.
        const next = this.segmentAfter(this.finished);
        if (next === undefined || next > durable.segment) return;
        this.open(next);
      }
      const current = this.current!;
      const file = path.join(this.dir, segmentName(current.segment));
      const end = current.segment === durable.segment ? durable.offset : fileSize(file);
      if (end === undefined) {
        this.segmentsMissed++; // reclaimed before we read it: its messages go unmeasured
      } else if (end > current.offset) {
        this.read(file, current, end, at);
      }
      if (current.segment >= durable.segment) return;
      this.finished = current.segment;
      this.current = undefined;
    }
  }

  private read(file: string, current: Position, end: number, at: number): void {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch {
      return;
    }
    try {
      const chunk = Buffer.allocUnsafe(READ_CHUNK);
      while (current.offset < end) {
        const n = fs.readSync(fd, chunk, 0, Math.min(READ_CHUNK, end - current.offset), current.offset);
        if (n <= 0) break;
        current.offset += n;
        this.scanner!.push(Buffer.from(chunk.subarray(0, n)));
        this.drain(at);
      }
    } finally {
      fs.closeSync(fd);
    }
  }

  private drain(at: number): void {
    for (let event = this.scanner!.next(); event !== undefined; event = this.scanner!.next()) {
      if (event.kind !== 'frame' || event.typeId !== journalFormat.RecordType.MessageAdd) continue;
      const record = decodeRecord(event.typeId, event.payload);
      if (record.type !== 'message-add') continue;
      const value = record.message.headers[this.header];
      if (value === undefined) continue;
      this.records++;
      this.onDurable(value, at, record.message.destination);
    }
  }

  private open(segment: number): void {
    this.current = { segment, offset: journalFormat.SEGMENT_HEADER_SIZE };
    this.scanner = new FrameScanner(journalFormat.SEGMENT_HEADER_SIZE);
  }

  private segmentAfter(segment: number): number | undefined {
    let best: number | undefined;
    for (const name of fs.readdirSync(this.dir)) {
      const match = journalFormat.SEGMENT_NAME_PATTERN.exec(name);
      if (match === null) continue;
      const first = Number(match[1]);
      if (first > segment && (best === undefined || first < best)) best = first;
    }
    return best;
  }
}

function segmentName(segment: number): string {
  return `${String(segment).padStart(journalFormat.SEGMENT_NAME_DIGITS, '0')}${journalFormat.SEGMENT_SUFFIX}`;
}

function fileSize(file: string): number | undefined {
  try {
    return fs.statSync(file).size;
  } catch {
    return undefined;
  }
}
