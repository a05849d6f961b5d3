// The file system as the lock sees it, injected so tests can pause or kill one holder's I/O the
// way SIGSTOP or a crash would, without pausing the test itself.
import { mkdir, open, readFile, rename, rmdir, stat, unlink, utimes } from 'node:fs/promises';

export interface LockStat {
  ino: number;
  /** 0 where the file system does not record a birth time. */
  birthtimeMs: number;
  mtimeMs: number;
}

/** Errors are node's (with `code`: ENOENT, EEXIST, ...), since proper-lockfile branches on them. */
export interface LockFs {
  /** Fails with EEXIST when the directory exists (that failure is the lock's mutual exclusion). */
  mkdir(path: string): Promise<void>;
  /** Creates the directory and its parents; no error when it exists. */
  mkdirp(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
  stat(path: string): Promise<LockStat>;
  utimes(path: string, atime: Date, mtime: Date): Promise<void>;
  readFile(path: string): Promise<Buffer>;
  /** Creates `path` (failing if it exists), writes all of `data` and fsyncs it before closing. */
  writeNewFileSynced(path: string, data: Buffer): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Makes created, renamed and removed names in `dir` durable. */
  fsyncDir(dir: string): Promise<void>;
}

export const nodeLockFs: LockFs = {
  mkdir: async (path) => {
    await mkdir(path);
  },
  mkdirp: async (path) => {
    await mkdir(path, { recursive: true });
  },
  rmdir: (path) => rmdir(path),
  stat: async (path) => {
    const s = await stat(path);
    return { ino: s.ino, birthtimeMs: s.birthtimeMs, mtimeMs: s.mtimeMs };
  },
  utimes: (path, atime, mtime) => utimes(path, atime, mtime),
  readFile: (path) => readFile(path),
  async writeNewFileSynced(path, data) {
    const handle = await open(path, 'wx');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  rename: (from, to) => rename(from, to),
  unlink: (path) => unlink(path),
  async fsyncDir(dir) {
    // Linux allows fsync on a directory opened read-only; that is what persists its entries.
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
};
