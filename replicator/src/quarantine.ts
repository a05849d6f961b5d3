// A replaced primary's unreplicated tail, moved aside before it rejoins as a replica: everything
// in its journal past the point where the new primary's copy ends. Kept for inspection in
// <dir>/quarantine/<time>-generation-<n>/, never deleted: the cut segment's tail as a file holding
// exactly those bytes, every later segment whole, and a manifest with positions, sizes and record
// counts by type. The journal is then cut back to that point, byte-identical to the new primary's.
import { join } from 'node:path';
import { journalFormat, nodeFileIO, segmentFileName, silentLogger, writeFully, type FileIO, type Logger } from '@tandem-mq/shared-store';
import { SEGMENT_HEADER_SIZE, wholeRecords } from './journal-bytes.js';
import { readRange, listSegments } from './journal-dir.js';
import { describePosition, formatPosition, journalOffset, type Position } from './position.js';

export const QUARANTINE_DIR = 'quarantine';
export const MANIFEST_NAME = 'manifest.json';

export interface QuarantinedFile {
  /** File name inside the quarantine folder. */
  file: string;
  /** The segment it came from, and the offset in that segment of its first byte. */
  segment: number;
  fromOffset: number;
  /** Bytes in the file; `dataBytes` of them are records (the rest preallocated zeros). */
  bytes: number;
  dataBytes: number;
  records: number;
}

export interface QuarantineManifest {
  version: 1;
  createdAt: string;
  /** The generation whose promotion replaced this region. */
  generation: number;
  endOfPrevious: ReturnType<typeof describePosition>;
  files: QuarantinedFile[];
  bytes: number;
  records: number;
  recordsByType: Record<string, number>;
}

export interface QuarantineSummary {
  /** Absolute path of the folder, or undefined when there was nothing past the position. */
  folder: string | undefined;
  bytes: number;
  records: number;
  manifest: QuarantineManifest | undefined;
}

export interface QuarantineOptions {
  io?: FileIO;
  logger?: Logger;
  now?: () => number;
  generation: number;
}

const TYPE_NAMES = new Map<number, string>(Object.entries(journalFormat.RecordType).map(([name, id]) => [id, name]));

/**
 * Moves every journal byte past `end` in `dir` into a new quarantine folder and cuts the journal
 * back to `end`. Safe to run again: a second run finds nothing past `end`.
 */
export async function quarantineTail(dir: string, end: Position, options: QuarantineOptions): Promise<QuarantineSummary> {
  const io = options.io ?? nodeFileIO;
  const logger = options.logger ?? silentLogger();
  const now = options.now ?? Date.now;
  const endOffset = journalOffset(end);
  const pieces: Array<{ segment: number; from: number; size: number; whole: boolean }> = [];
  for (const first of await listSegments(dir, io)) {
    const size = (await io.stat(join(dir, segmentFileName(first))))?.size ?? 0;
    if (first >= endOffset) pieces.push({ segment: first, from: 0, size, whole: true });
    else if (first + size > endOffset) pieces.push({ segment: first, from: endOffset - first, size, whole: false });
  }
  const createdAt = new Date(now()).toISOString();
  const folder = join(dir, QUARANTINE_DIR, `${createdAt.replace(/:/g, '-')}-generation-${options.generation}`);
  const files: QuarantinedFile[] = [];
  const byType: Record<string, number> = {};
  let cut: { segment: number; at: number } | undefined;
  for (const piece of pieces) {
    const path = join(dir, segmentFileName(piece.segment));
    const bytes = await readRange(io, path, piece.from, piece.size - piece.from);
    const scanned = scan(bytes, piece.whole ? SEGMENT_HEADER_SIZE : 0, byType);
    if (!piece.whole) cut = { segment: piece.segment, at: piece.from };
    if (!piece.whole && scanned.dataBytes === 0) continue; // only the zeros the journal preallocated
    if (files.length === 0) await io.mkdir(folder);
    if (piece.whole) {
      const name = segmentFileName(piece.segment);
      await io.rename(path, join(folder, name));
      files.push({ file: name, segment: piece.segment, fromOffset: 0, bytes: bytes.length, dataBytes: scanned.dataBytes, records: scanned.records });
    } else {
      const name = `${segmentFileName(piece.segment)}.from-${piece.from}.tail`;
      const kept = bytes.subarray(0, scanned.dataBytes);
      const handle = await io.open(join(folder, name), 'create');
      try {
        await writeFully(handle, kept, 0);
        await handle.datasync();
      } finally {
        await handle.close();
      }
      files.push({ file: name, segment: piece.segment, fromOffset: piece.from, bytes: kept.length, dataBytes: kept.length, records: scanned.records });
    }
  }
  let manifest: QuarantineManifest | undefined;
  if (files.length > 0) {
    manifest = {
      version: 1,
      createdAt,
      generation: options.generation,
      endOfPrevious: describePosition(end),
      files,
      bytes: files.reduce((n, f) => n + f.dataBytes, 0),
      records: files.reduce((n, f) => n + f.records, 0),
      recordsByType: byType,
    };
    const handle = await io.open(join(folder, MANIFEST_NAME), 'create');
    try {
      await writeFully(handle, Buffer.from(JSON.stringify(manifest, null, 2) + '\n'), 0);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await io.fsyncDir(folder);
  }
  // Only once the tail is safe in the folder is the journal cut back.
  if (cut !== undefined) {
    const handle = await io.open(join(dir, segmentFileName(cut.segment)), 'append');
    try {
      await handle.truncate(cut.at);
      await handle.datasync();
    } finally {
      await handle.close();
    }
  }
  if (pieces.length > 0) await io.fsyncDir(dir);
  if (manifest !== undefined) {
    logger.warn(
      { event: 'replication.quarantined', folder, bytes: manifest.bytes, records: manifest.records, recordsByType: byType, endOfPrevious: formatPosition(end) },
      `moved ${manifest.records} unreplicated records (${manifest.bytes} bytes) past ${formatPosition(end)} to ${folder}`,
    );
  }
  return { folder: manifest === undefined ? undefined : folder, bytes: manifest?.bytes ?? 0, records: manifest?.records ?? 0, manifest };
}

/** Lists the quarantine folders in `dir` with their manifests' totals. */
export async function listQuarantine(dir: string, io: FileIO = nodeFileIO): Promise<Array<{ folder: string; bytes: number; records: number }>> {
  const root = join(dir, QUARANTINE_DIR);
  let names: string[];
  try {
    names = await io.readdir(root);
  } catch {
    return [];
  }
  const out: Array<{ folder: string; bytes: number; records: number }> = [];
  for (const name of names.sort()) {
    const path = join(root, name, MANIFEST_NAME);
    const size = (await io.stat(path))?.size;
    if (size === undefined) continue;
    try {
      const manifest = JSON.parse((await readRange(io, path, 0, size)).toString('utf8')) as QuarantineManifest;
      out.push({ folder: join(root, name), bytes: manifest.bytes, records: manifest.records });
    } catch {
      out.push({ folder: join(root, name), bytes: -1, records: -1 });
    }
  }
  return out;
}

/** Whole records in `bytes` from `start`, counted by type; data ends where preallocated zeros begin. */
function scan(bytes: Buffer, start: number, byType: Record<string, number>): { dataBytes: number; records: number } {
  if (bytes.length <= start) return { dataBytes: bytes.length, records: 0 };
  const run = wholeRecords(bytes, start);
  let at = start;
  for (let i = 0; i < run.records; i++) {
    const name = TYPE_NAMES.get(bytes[at + 8]!) ?? `type-${bytes[at + 8]}`;
    byType[name] = (byType[name] ?? 0) + 1;
    at += journalFormat.RECORD_HEADER_SIZE + bytes.readUInt32BE(at);
  }
  // A torn or corrupt stretch after the last good record is kept too: it is evidence.
  const dataBytes = run.stop === 'zeros' ? start + run.length : bytes.length;
  return { dataBytes, records: run.records };
}
