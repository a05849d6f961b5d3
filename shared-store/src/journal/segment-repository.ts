// The segment files of one journal directory: listing them in order, creating a new head,
// reopening the last for append, reading one back, and deleting from the old end. Creating or
// deleting a file is followed by an fsync of the directory, so the name change itself is durable.
import { join } from 'node:path';
import { READ_CHUNK_SIZE, SEGMENT_HEADER_SIZE } from './constants.js';
import type { FileIO } from './file-io.js';
import { readWholeFile, writeFully } from './file-io.js';
import { Segment, encodeSegmentHeader, parseSegmentFileName, segmentFileName } from './segment.js';

export interface SegmentFile {
  firstOffset: number;
  name: string;
  path: string;
  size: number;
}

export class SegmentRepository {
  constructor(
    readonly dir: string,
    private readonly io: FileIO,
  ) {}

  pathOf(firstOffset: number): string {
    return join(this.dir, segmentFileName(firstOffset));
  }

  /** Segment files in journal order. Other files in the directory are left alone. */
  async list(): Promise<SegmentFile[]> {
    await this.io.mkdir(this.dir);
    const files: SegmentFile[] = [];
    for (const name of await this.io.readdir(this.dir)) {
      const firstOffset = parseSegmentFileName(name);
      if (firstOffset === undefined) continue;
      const path = join(this.dir, name);
      const stat = await this.io.stat(path);
      if (stat !== undefined) files.push({ firstOffset, name, path, size: stat.size });
    }
    return files.sort((a, b) => a.firstOffset - b.firstOffset);
  }

  /**
   * Creates the file of a segment placed ahead of the writer: header, fdatasync, directory fsync.
   * `first` (whole frames) is written with the header in the same write, so the segment never
   * exists on disk without it unless that write was torn (a new epoch's epoch record goes here).
   */
  async create(segment: Segment, first?: Buffer): Promise<void> {
    const file = await this.io.open(segment.path, 'create');
    const header = encodeSegmentHeader(segment.firstOffset);
    try {
      await writeFully(file, first === undefined ? header : Buffer.concat([header, first]), 0);
      await file.datasync();
      await this.io.fsyncDir(this.dir);
    } catch (err) {
      await file.close().catch(() => undefined);
      throw err;
    }
    if (first !== undefined) {
      segment.written += first.length;
      segment.placed += first.length;
      segment.allocated = Math.max(segment.allocated, segment.written);
    }
    segment.handle = file;
  }

  /** A new in-memory segment starting at `firstOffset`; its file is created by create(). */
  place(firstOffset: number): Segment {
    return new Segment(firstOffset, this.pathOf(firstOffset), SEGMENT_HEADER_SIZE, undefined);
  }

  /** A finished segment found on disk: readable, never written again. */
  existing(file: SegmentFile): Segment {
    return new Segment(file.firstOffset, file.path, file.size, undefined);
  }

  /** Reopens the last segment to append at `size`; zeros after it (preallocated) are reused. */
  async openForAppend(file: SegmentFile, size: number): Promise<Segment> {
    const handle = await this.io.open(file.path, 'append');
    try {
      return new Segment(file.firstOffset, file.path, size, handle, await handle.size());
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
  }

  /**
   * Cuts a segment to `size` bytes if the file is longer (preallocated zeros, or bytes past a torn
   * record), durably: a sealed segment then ends exactly where the next one begins.
   */
  async cutTo(path: string, size: number): Promise<void> {
    const file = await this.io.open(path, 'append');
    try {
      if ((await file.size()) <= size) return;
      await file.truncate(size);
      await file.datasync();
    } finally {
      await file.close();
    }
  }

  /** Cuts a segment back to `size` bytes (a torn tail) and makes the cut durable. */
  async truncate(path: string, size: number): Promise<void> {
    const file = await this.io.open(path, 'append');
    try {
      await file.truncate(size);
      await file.datasync();
    } finally {
      await file.close();
    }
  }

  async delete(path: string): Promise<void> {
    await this.io.unlink(path);
    await this.io.fsyncDir(this.dir);
  }

  /**
   * Reads a file from `from` to its end (or to `until`, if the file is longer) in chunks, each a
   * fresh buffer the caller may keep. Returns the position reached.
   */
  async read(path: string, from: number, onChunk: (chunk: Buffer) => void, until = Infinity): Promise<number> {
    const file = await this.io.open(path, 'read');
    try {
      const size = Math.min(until, await file.size());
      let position = from;
      while (position < size) {
        const chunk = Buffer.allocUnsafe(Math.min(READ_CHUNK_SIZE, size - position));
        let filled = 0;
        while (filled < chunk.length) {
          const n = await file.read(chunk, filled, chunk.length - filled, position + filled);
          if (n === 0) break;
          filled += n;
        }
        if (filled === 0) break;
        onChunk(filled === chunk.length ? chunk : chunk.subarray(0, filled));
        position += filled;
      }
      return position;
    } finally {
      await file.close();
    }
  }

  /** The first `length` bytes of a file (a segment header), however many of them exist. */
  readHead(path: string, length: number): Promise<Buffer> {
    return readWholeFile(this.io, path, length);
  }
}
