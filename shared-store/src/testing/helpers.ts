// Small helpers the storage engine's own tests share: temp directories, a logger whose lines a
// test can read, and polling for something that happens after a few turns of the event loop.
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { SEGMENT_HEADER_SIZE, SEGMENT_SUFFIX } from '../journal/constants.js';
import { FrameScanner } from '../journal/records/frame.js';
import { decodeRecord, type JournalRecord } from '../journal/records/index.js';
import { createLogger, type Logger } from '../log.js';

export async function tempDir(prefix = 'tandem-journal-'): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export interface CapturedLog {
  logger: Logger;
  lines: Array<Record<string, unknown>>;
  events(name: string): Array<Record<string, unknown>>;
}

export function captureLog(): CapturedLog {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line));
      done();
    },
  });
  const logger = createLogger({ level: 'debug', destination });
  return { logger, lines, events: (name) => lines.filter((l) => l['event'] === name) };
}

/** Polls `condition` every few milliseconds until it holds; fails after `limitMs`. */
export async function eventually(condition: () => boolean, limitMs = 5000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Every good record in a journal directory, in file order, read straight from the files. */
export async function readJournalRecords(dir: string): Promise<JournalRecord[]> {
  const records: JournalRecord[] = [];
  const names = (await readdir(dir)).filter((n) => n.endsWith(SEGMENT_SUFFIX)).sort();
  for (const name of names) {
    const scanner = new FrameScanner(SEGMENT_HEADER_SIZE);
    scanner.push((await readFile(join(dir, name))).subarray(SEGMENT_HEADER_SIZE));
    scanner.finish();
    for (let e = scanner.next(); e !== undefined; e = scanner.next()) {
      if (e.kind === 'frame') records.push(decodeRecord(e.typeId, e.payload));
    }
  }
  return records;
}

/** A small seeded generator, so a failure replays exactly. */
export function rng(seed: number): { int: (n: number) => number; pick: <T>(xs: readonly T[]) => T; chance: (p: number) => boolean } {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
  return {
    int: (n) => Math.floor(next() * n),
    pick: (xs) => xs[Math.floor(next() * xs.length)]!,
    chance: (p) => next() < p,
  };
}
