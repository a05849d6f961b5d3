// The file system as the journal sees it, injected so tests can tear a write, fail an fdatasync
// or count syncs. `nodeFileIO` is the real one; `FaultyFileIO` wraps any FileIO with faults.
import { fdatasync, fdatasyncSync, writeSync } from 'node:fs';
import { open as fsOpen, mkdir, readdir, rename, stat, unlink } from 'node:fs/promises';

/** An open file. Positions are absolute; the journal never relies on a file cursor. */
export interface FileHandleIO {
  /** Reads up to `length` bytes at `position` into `buffer` at `offset`; returns bytes read. */
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<number>;
  /** Writes `length` bytes of `buffer` from `offset` at `position`; may write fewer, returns how many. */
  write(buffer: Buffer, offset: number, length: number, position: number): Promise<number>;
  /**
   * The same write, done on the calling thread. The journal appends this way: a write into the
   * page cache takes microseconds, while a hop to the thread pool and back costs tens of them.
   */
  writeSync(buffer: Buffer, offset: number, length: number, position: number): number;
  datasync(): Promise<void>;
  /**
   * fdatasync on the calling thread, for a batch a lone writer waits on: the thread-pool round
   * trip costs as much as a third of the fdatasync itself, and the event loop has nothing else to
   * do meanwhile. Optional: without it the journal always uses datasync().
   */
  datasyncSync?(): void;
  truncate(length: number): Promise<void>;
  size(): Promise<number>;
  close(): Promise<void>;
}

/** 'read' opens an existing file read-only, 'append' read-write, 'create' makes a new file (fails if it exists). */
export type OpenMode = 'read' | 'append' | 'create';

export interface FileIO {
  open(path: string, mode: OpenMode): Promise<FileHandleIO>;
  /** Creates the directory and its parents if missing. */
  mkdir(dir: string): Promise<void>;
  readdir(dir: string): Promise<string[]>;
  unlink(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** Size in bytes, or undefined when the file does not exist. */
  stat(path: string): Promise<{ size: number } | undefined>;
  /** Makes created, renamed and deleted names in `dir` durable. */
  fsyncDir(dir: string): Promise<void>;
  /**
   * Whether the journal fills its head segment with zeros ahead of the write position. An append
   * then overwrites blocks the file already has, so its fdatasync has no file size or block
   * allocation to commit (about a third cheaper on ext4). Recovery reads a zero tail as the end.
   */
  readonly preallocate?: boolean;
}

const FLAGS: Record<OpenMode, string> = { read: 'r', append: 'r+', create: 'wx+' };

export const nodeFileIO: FileIO = {
  preallocate: true,
  async open(path, mode) {
    const handle = await fsOpen(path, FLAGS[mode]);
    const fd = handle.fd;
    return {
      async read(buffer, offset, length, position) {
        return (await handle.read(buffer, offset, length, position)).bytesRead;
      },
      async write(buffer, offset, length, position) {
        return (await handle.write(buffer, offset, length, position)).bytesWritten;
      },
      writeSync: (buffer, offset, length, position) => writeSync(fd, buffer, offset, length, position),
      // The callback form: one thread-pool round trip with less promise machinery around it than
      // FileHandle.datasync(), and this call sits on the path of every durable batch.
      datasync: () => new Promise<void>((resolve, reject) => fdatasync(fd, (err) => (err === null ? resolve() : reject(err)))),
      datasyncSync: () => fdatasyncSync(fd),
      truncate: (length) => handle.truncate(length),
      size: async () => (await handle.stat()).size,
      close: () => handle.close(),
    };
  },
  async mkdir(dir) {
    await mkdir(dir, { recursive: true });
  },
  readdir: (dir) => readdir(dir),
  unlink: (path) => unlink(path),
  rename: (from, to) => rename(from, to),
  async stat(path) {
    try {
      return { size: (await stat(path)).size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  },
  async fsyncDir(dir) {
    // Linux allows fsync on a directory opened read-only; that is what persists its entries.
    const handle = await fsOpen(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
};

/** Writes all of buf[offset, offset+length) at `position`, looping over short writes. */
export async function writeFully(
  file: FileHandleIO,
  buffer: Buffer,
  position: number,
  offset = 0,
  length = buffer.length - offset,
): Promise<void> {
  let done = 0;
  while (done < length) {
    const n = await file.write(buffer, offset + done, length - done, position + done);
    if (n <= 0) throw new Error(`short write at position ${position + done}`);
    done += n;
  }
}

/** writeFully on the calling thread: all of buf[offset, offset+length) at `position`. */
export function writeFullySync(
  file: FileHandleIO,
  buffer: Buffer,
  position: number,
  offset = 0,
  length = buffer.length - offset,
): void {
  let done = 0;
  while (done < length) {
    const n = file.writeSync(buffer, offset + done, length - done, position + done);
    if (n <= 0) throw new Error(`short write at position ${position + done}`);
    done += n;
  }
}

/**
 * Replaces the small file `path` in `dir` with `bytes` so that a crash leaves the old content or the
 * new, never a mix: a temporary file beside it, fdatasync, rename over it, fsync of the directory.
 */
export async function replaceFile(io: FileIO, dir: string, path: string, bytes: Buffer): Promise<void> {
  const temp = `${path}.tmp`;
  if ((await io.stat(temp)) !== undefined) await io.unlink(temp); // left by a crash mid-replace
  const file = await io.open(temp, 'create');
  try {
    await writeFully(file, bytes, 0);
    await file.datasync();
  } finally {
    await file.close();
  }
  await io.rename(temp, path);
  await io.fsyncDir(dir);
}

/** All the bytes of a small file (or its first `limit`), looping over short reads. */
export async function readWholeFile(io: FileIO, path: string, limit = Infinity): Promise<Buffer> {
  const file = await io.open(path, 'read');
  try {
    const size = Math.min(limit, await file.size());
    const buf = Buffer.alloc(size);
    let filled = 0;
    while (filled < size) {
      const n = await file.read(buf, filled, size - filled, filled);
      if (n === 0) break;
      filled += n;
    }
    return buf.subarray(0, filled);
  } finally {
    await file.close();
  }
}

/** An injected I/O failure, shaped like the errors node:fs raises. */
export class InjectedIOError extends Error {
  readonly code = 'EIO';
  constructor(message: string) {
    super(message);
    this.name = 'InjectedIOError';
  }
}

export interface FaultyFileIOOptions {
  /** Let the journal preallocate, as over the real file system; off by default (see the class). */
  preallocate?: boolean;
}

/**
 * A FileIO that forwards to another and injects faults on demand. Counters let tests assert how
 * many writes and syncs a workload cost. Unless asked, its files are not preallocated: they grow
 * by exactly what is written, so a test can assert sizes and tear a write at any byte.
 */
export class FaultyFileIO implements FileIO {
  writes = 0;
  syncs = 0;
  /** Of `syncs`, those made with datasyncSync(), on the calling thread. */
  syncsOnThread = 0;
  dirSyncs = 0;
  readonly preallocate: boolean;
  private tearAt: number | undefined;
  private failWrites = 0;
  private failSyncs = 0;
  private failUnlinks = 0;
  private crashed = false;

  constructor(
    private readonly inner: FileIO = nodeFileIO,
    options: FaultyFileIOOptions = {},
  ) {
    this.preallocate = options.preallocate ?? false;
  }

  /** The next write stores only its first `bytes` bytes, then fails, as a crash mid-write would. */
  tearNextWriteAt(bytes: number): void {
    this.tearAt = bytes;
  }
  /** The next `count` writes fail without writing anything. */
  failNextWrite(count = 1): void {
    this.failWrites = count;
  }
  /** The next `count` fdatasync calls fail. */
  failNextSync(count = 1): void {
    this.failSyncs = count;
  }
  /** The next `count` unlink calls fail, leaving the file in place. */
  failNextUnlink(count = 1): void {
    this.failUnlinks = count;
  }
  /** From now on every write, sync, truncate, unlink and rename fails: the process "died". */
  crash(): void {
    this.crashed = true;
  }
  resetCounters(): void {
    this.writes = 0;
    this.syncs = 0;
    this.syncsOnThread = 0;
    this.dirSyncs = 0;
  }

  async open(path: string, mode: OpenMode): Promise<FileHandleIO> {
    if (this.crashed && mode !== 'read') throw new InjectedIOError(`injected crash: open ${path}`);
    const file = await this.inner.open(path, mode);
    return {
      read: (buffer, offset, length, position) => file.read(buffer, offset, length, position),
      write: async (buffer, offset, length, position) => {
        const keep = this.beforeWrite(length);
        if (keep === undefined) return file.write(buffer, offset, length, position);
        if (keep > 0) await writeFully(file, buffer, position, offset, keep);
        throw new InjectedIOError(`injected torn write after ${keep} bytes`);
      },
      writeSync: (buffer, offset, length, position) => {
        const keep = this.beforeWrite(length);
        if (keep === undefined) return file.writeSync(buffer, offset, length, position);
        if (keep > 0) writeFullySync(file, buffer, position, offset, keep);
        throw new InjectedIOError(`injected torn write after ${keep} bytes`);
      },
      datasync: async () => {
        this.beforeSync();
        await file.datasync();
      },
      // Offered only when the wrapped file has it, as the journal then falls back to datasync().
      ...(file.datasyncSync === undefined
        ? {}
        : {
            datasyncSync: () => {
              this.syncsOnThread++;
              this.beforeSync();
              file.datasyncSync!();
            },
          }),
      truncate: async (length) => {
        if (this.crashed) throw new InjectedIOError('injected crash: truncate');
        await file.truncate(length);
      },
      size: () => file.size(),
      close: () => file.close(),
    };
  }

  /**
   * Counts a write and applies the faults due: throws for a failed write, returns how many bytes
   * a torn write keeps (after which the process counts as crashed), or undefined to write it all.
   */
  private beforeWrite(length: number): number | undefined {
    this.writes++;
    if (this.crashed) throw new InjectedIOError('injected crash: write');
    if (this.failWrites > 0) {
      this.failWrites--;
      throw new InjectedIOError('injected write failure');
    }
    if (this.tearAt === undefined) return undefined;
    const keep = Math.min(this.tearAt, length);
    this.tearAt = undefined;
    this.crashed = true;
    return keep;
  }

  /** Counts an fdatasync and throws the failure due, if any. */
  private beforeSync(): void {
    this.syncs++;
    if (this.crashed) throw new InjectedIOError('injected crash: fdatasync');
    if (this.failSyncs > 0) {
      this.failSyncs--;
      throw new InjectedIOError('injected fdatasync failure');
    }
  }

  mkdir(dir: string): Promise<void> {
    return this.inner.mkdir(dir);
  }
  readdir(dir: string): Promise<string[]> {
    return this.inner.readdir(dir);
  }
  async unlink(path: string): Promise<void> {
    if (this.crashed) throw new InjectedIOError('injected crash: unlink');
    if (this.failUnlinks > 0) {
      this.failUnlinks--;
      throw new InjectedIOError('injected unlink failure');
    }
    await this.inner.unlink(path);
  }
  async rename(from: string, to: string): Promise<void> {
    if (this.crashed) throw new InjectedIOError('injected crash: rename');
    await this.inner.rename(from, to);
  }
  stat(path: string): Promise<{ size: number } | undefined> {
    return this.inner.stat(path);
  }
  async fsyncDir(dir: string): Promise<void> {
    this.dirSyncs++;
    if (this.crashed) throw new InjectedIOError('injected crash: fsync dir');
    await this.inner.fsyncDir(dir);
  }
}
