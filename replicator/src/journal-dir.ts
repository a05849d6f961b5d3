// The primary's journal directory read from outside the journal: which segments exist, where the
// data in the last one ends (before any preallocated zeros), and byte ranges of a file.
import { join } from 'node:path';
import { nodeFileIO, parseSegmentFileName, segmentFileName, type FileHandleIO, type FileIO } from '@tandem-mq/shared-store';

/** First offsets of the segment files in `dir`, oldest first; none when the directory is missing. */
export async function listSegments(dir: string, io: FileIO = nodeFileIO): Promise<number[]> {
  let names: string[];
  try {
    names = await io.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const offsets: number[] = [];
  for (const name of names) {
    const first = parseSegmentFileName(name);
    if (first !== undefined) offsets.push(first);
  }
  return offsets.sort((a, b) => a - b);
}

/** The journal offset where the journal in `dir` ends (its last segment's end), if it has segments. */
export async function readJournalEnd(dir: string, io: FileIO = nodeFileIO): Promise<number | undefined> {
  const segments = await listSegments(dir, io);
  const last = segments[segments.length - 1];
  if (last === undefined) return undefined;
  const size = await dataEnd(io, join(dir, segmentFileName(last)));
  return size === undefined ? undefined : last + size;
}

/** The end of the journal as a position: the last segment and where its data ends (START when empty). */
export async function journalEndPosition(dir: string, io: FileIO = nodeFileIO): Promise<{ segment: number; offset: number }> {
  const segments = await listSegments(dir, io);
  const last = segments[segments.length - 1];
  if (last === undefined) return { segment: 0, offset: 0 };
  return { segment: last, offset: (await dataEnd(io, join(dir, segmentFileName(last)))) ?? 0 };
}

/**
 * Where the data in a segment file ends: its size, less the zeros the journal preallocated after
 * the last record (found from the end backwards; a record ending in zero bytes reads a few bytes
 * short, which is fine for a lag estimate). Undefined when the file is gone.
 */
export async function dataEnd(io: FileIO, path: string): Promise<number | undefined> {
  let handle: FileHandleIO;
  try {
    handle = await io.open(path, 'read');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const size = await handle.size();
    const chunk = Buffer.allocUnsafe(Math.min(size, 256 * 1024));
    let end = size;
    while (end > 0) {
      const from = Math.max(0, end - chunk.length);
      const n = await handle.read(chunk, 0, end - from, from);
      for (let i = n - 1; i >= 0; i--) if (chunk[i] !== 0) return from + i + 1;
      end = from;
    }
    return 0;
  } finally {
    await handle.close();
  }
}

/** Up to `length` bytes of an open file from `position` (fewer only where the file ends). */
export async function readFrom(handle: FileHandleIO, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const n = await handle.read(buf, filled, length - filled, position + filled);
    if (n === 0) break;
    filled += n;
  }
  return filled === length ? buf : buf.subarray(0, filled);
}

/** Up to `length` bytes of the file at `path` from `position`. */
export async function readRange(io: FileIO, path: string, position: number, length: number): Promise<Buffer> {
  const handle = await io.open(path, 'read');
  try {
    return await readFrom(handle, position, length);
  } finally {
    await handle.close();
  }
}
