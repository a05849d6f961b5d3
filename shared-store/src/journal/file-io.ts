// The file system as the journal sees it, injected so tests can tear a write, fail an fdatasync
// or count syncs. `nodeFileIO` is the real one; `FaultyFileIO` wraps any FileIO with faults.
import { open as fsOpen, mkdir, readdir, rename, stat, unlink } from 'node:fs/promises';

/** An open file. Positions are absolute; the journal never relies on a file cursor. */
export interface FileHandleIO {
  /** Reads up to `length` bytes at `position` into `buffer` at `offset`; returns bytes read. */
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<number>;
  /** Writes `length` bytes of `buffer` from `offset` at `position`; may write fewer, returns how many. */
  write(buffer: Buffer, offset: number, length: number, position: number): Promise<number>;
  datasync(): Promise<void>;
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
}

const FLAGS: Record<OpenMode, string> = { read: 'r', append: 'r+', create: 'wx+' };

export const nodeFileIO: FileIO = {
  async open(path, mode) {
    const handle = await fsOpen(path, FLAGS[mode]);
    return {
      async read(buffer, offset, length, position) {
        return (await handle.read(buffer, offset, length, position)).bytesRead;
      },
      async write(buffer, offset, length, position) {
        return (await handle.write(buffer, offset, length, position)).bytesWritten;
      },
      datasync: () => handle.datasync(),
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

/** An injected I/O failure, shaped like the errors node:fs raises. */
export class InjectedIOError extends Error {
  readonly code = 'EIO';
  constructor(message: string) {
    super(message);
    this.name = 'InjectedIOError';
  }
}

/**
 * A FileIO that forwards to another and injects faults on demand. Counters let tests assert how
 * many writes and syncs a workload cost.
 */
export class FaultyFileIO implements FileIO {
  writes = 0;
  syncs = 0;
  dirSyncs = 0;
  private tearAt: number | undefined;
  private failWrites = 0;
  private failSyncs = 0;
  private failUnlinks = 0;
  private crashed = false;

  constructor(private readonly inner: FileIO = nodeFileIO) {}

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
    this.dirSyncs = 0;
  }

  async open(path: string, mode: OpenMode): Promise<FileHandleIO> {
    if (this.crashed && mode !== 'read') throw new InjectedIOError(`injected crash: open ${path}`);
    const file = await this.inner.open(path, mode);
    return {
      read: (buffer, offset, length, position) => file.read(buffer, offset, length, position),
      write: async (buffer, offset, length, position) => {
        this.writes++;
        if (this.crashed) throw new InjectedIOError('injected crash: write');
        if (this.failWrites > 0) {
          this.failWrites--;
          throw new InjectedIOError('injected write failure');
        }
        if (this.tearAt !== undefined) {
          const keep = Math.min(this.tearAt, length);
          this.tearAt = undefined;
          if (keep > 0) await writeFully(file, buffer, position, offset, keep);
          this.crashed = true;
          throw new InjectedIOError(`injected torn write after ${keep} bytes`);
        }
        return file.write(buffer, offset, length, position);
      },
      datasync: async () => {
        this.syncs++;
        if (this.crashed) throw new InjectedIOError('injected crash: fdatasync');
        if (this.failSyncs > 0) {
          this.failSyncs--;
          throw new InjectedIOError('injected fdatasync failure');
        }
        await file.datasync();
      },
      truncate: async (length) => {
        if (this.crashed) throw new InjectedIOError('injected crash: truncate');
        await file.truncate(length);
      },
      size: () => file.size(),
      close: () => file.close(),
    };
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
