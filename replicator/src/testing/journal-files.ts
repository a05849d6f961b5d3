// Test helpers: temp folders, and journal segment files written by hand (header, records, a
// preallocated zero tail), so a test controls exactly which bytes exist when.
import { appendFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32c, encodeRecord, journalFormat, segmentFileName, type JournalRecord } from '@tandem-mq/shared-store';

export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `tandem-repl-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A segment header as documented in shared-store's journal/constants.ts. */
export function segmentHeader(firstOffset: number): Buffer {
  const buf = Buffer.alloc(journalFormat.SEGMENT_HEADER_SIZE);
  journalFormat.SEGMENT_MAGIC.copy(buf, 0); // 0..7 magic
  buf.writeUInt16BE(journalFormat.JOURNAL_VERSION, 8); // 8..9 version; 10..15 flags and reserved
  buf.writeUInt32BE(Math.floor(firstOffset / 0x1_0000_0000), 16); // 16..23 first offset
  buf.writeUInt32BE(firstOffset % 0x1_0000_0000, 20);
  buf.writeUInt32BE(crc32c(buf, 0, 24), 24); // 24..27 header CRC
  return buf;
}

let nextSeq = 1;

/** A message-add record frame with a body of `size` bytes. */
export function messageRecord(size = 100, destination = '/queue/test'): Buffer {
  const seq = nextSeq++;
  const record: JournalRecord = {
    type: 'message-add',
    txId: 0,
    message: {
      seq,
      id: `m-${seq}`,
      destination,
      headers: {},
      body: Buffer.alloc(size, seq % 251),
      priority: 4,
      expires: 0,
      timestamp: 1_700_000_000_000 + seq,
      targets: [destination],
    },
  };
  return encodeRecord(record);
}

export function segmentPath(dir: string, firstOffset: number): string {
  return join(dir, segmentFileName(firstOffset));
}

/** Writes a whole segment file: header then records. Returns its bytes. */
export function writeSegment(dir: string, firstOffset: number, records: Buffer[]): Buffer {
  const bytes = Buffer.concat([segmentHeader(firstOffset), ...records]);
  writeFileSync(segmentPath(dir, firstOffset), bytes);
  return bytes;
}

export function appendToSegment(dir: string, firstOffset: number, bytes: Buffer): void {
  appendFileSync(segmentPath(dir, firstOffset), bytes);
}

/** Segment files and their bytes, by name. */
export function segmentFiles(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.seg')).sort()) out.set(name, readFileSync(join(dir, name)));
  return out;
}

/** Polls until `check` holds, or fails naming `what`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, limitMs = 5000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
