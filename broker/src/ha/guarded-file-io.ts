// The journal's file I/O with the lock checked before every change to the data directory, so a
// broker that lost its lease (a pause, a stalled renewal) issues no further write, not just no
// further confirmation. Reads pass through: recovery and a fenced broker's reads harm nobody.
import { StoreError, StoreErrorCodes, type FileHandleIO, type FileIO } from '@tandem-mq/shared-store';

/** Throws StoreError TANDEM_ERR_FENCED when this broker may no longer write the data directory. */
export type WriteGuard = () => void;

/** A guard over the lock's cheap synchronous check (isHeld: held and the lease not yet stale by our clock). */
export function lockWriteGuard(lock: { isHeld(): boolean }): WriteGuard {
  return () => {
    if (!lock.isHeld()) {
      throw new StoreError(
        StoreErrorCodes.FENCED,
        'this broker no longer holds the data-directory lock, so it writes and confirms nothing more; reconnect to the active broker',
      );
    }
  };
}

/**
 * Wraps `inner` so that every write, truncate, sync, create, rename and delete runs `guard` first.
 * A refused call fails as the write would have (an asynchronous one rejects, writeSync throws), and
 * the journal fails its batch without confirming it.
 */
export function guardedFileIO(inner: FileIO, guard: WriteGuard): FileIO {
  const checked = <T>(run: () => Promise<T>): Promise<T> => {
    try {
      guard();
    } catch (error) {
      return Promise.reject(error);
    }
    return run();
  };
  const wrap = (handle: FileHandleIO): FileHandleIO => ({
    read: (buffer, offset, length, position) => handle.read(buffer, offset, length, position),
    write: (buffer, offset, length, position) => checked(() => handle.write(buffer, offset, length, position)),
    writeSync: (buffer, offset, length, position) => {
      guard();
      return handle.writeSync(buffer, offset, length, position);
    },
    datasync: () => checked(() => handle.datasync()),
    // The journal fdatasyncs a small batch on the event loop when the handle offers it; keep that path.
    ...(handle.datasyncSync === undefined
      ? {}
      : {
          datasyncSync: () => {
            guard();
            handle.datasyncSync!();
          },
        }),
    truncate: (length) => checked(() => handle.truncate(length)),
    size: () => handle.size(),
    close: () => handle.close(),
  });
  return {
    ...(inner.preallocate === undefined ? {} : { preallocate: inner.preallocate }),
    open: async (path, mode) => wrap(await (mode === 'read' ? inner.open(path, mode) : checked(() => inner.open(path, mode)))),
    mkdir: (dir) => checked(() => inner.mkdir(dir)),
    readdir: (dir) => inner.readdir(dir),
    unlink: (path) => checked(() => inner.unlink(path)),
    rename: (from, to) => checked(() => inner.rename(from, to)),
    stat: (path) => inner.stat(path),
    fsyncDir: (dir) => checked(() => inner.fsyncDir(dir)),
  };
}
