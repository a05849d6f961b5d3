// The proper-lockfile lock runs the shared conformance suite on real files in a temp directory;
// each in-process contender gets a pausable file system and clock and a pid of its own, so one
// test process can play several broker processes. Real child processes are in lock-processes.test.ts.
import { expect } from 'chai';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { realTimers } from '../journal/timers.js';
import { runLockConformance } from './conformance.js';
import type { DirectoryLock } from './directory-lock.js';
import { FileDirectoryLock } from './file-lock.js';
import { HOLDER_FILE_NAME, LOCK_DIR_NAME, lockPaths, readHolderRecord, writeHolderRecord } from './holder-record.js';
import { LockError } from './lock-errors.js';
import { nodeLockFs } from './lock-fs.js';
import { ControlledLockFs } from './testing/controlled-lock-fs.js';
import { PausableTimers } from './testing/pausable-timers.js';

interface Made {
  lock: FileDirectoryLock;
  fs: ControlledLockFs;
  timers: PausableTimers;
  pid: number;
  crashed: boolean;
}

runLockConformance('FileDirectoryLock (proper-lockfile)', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'tandem-lock-'));
  const paths = lockPaths(dataDir);
  const dead = new Set<number>();
  const made = new Map<DirectoryLock, Made>();
  let nextPid = 900_001;
  return {
    create(settings) {
      const fs = new ControlledLockFs(nodeLockFs);
      const timers = new PausableTimers(realTimers);
      const pid = nextPid++;
      const lock = new FileDirectoryLock({
        ...settings,
        dataDir,
        fs,
        timers,
        identity: { host: hostname(), hostKey: 'conformance-host', pid },
        isProcessAlive: (p) => !dead.has(p),
      });
      made.set(lock, { lock, fs, timers, pid, crashed: false });
      return lock;
    },
    crash(lock) {
      const m = made.get(lock)!;
      m.crashed = true;
      m.fs.kill();
      m.timers.kill();
      dead.add(m.pid);
    },
    pause(lock) {
      made.get(lock)!.fs.pause();
      made.get(lock)!.timers.pause();
    },
    resume(lock) {
      made.get(lock)!.fs.resume();
      made.get(lock)!.timers.resume();
    },
    stallRenewals: (lock) => made.get(lock)!.fs.stall('utimes'),
    async removeLock() {
      await rm(paths.lockDir, { recursive: true, force: true });
    },
    async overwriteRecord() {
      const record = (await readHolderRecord(nodeLockFs, paths.holderFile))!;
      await writeHolderRecord(nodeLockFs, paths.holderFile, dataDir, { ...record, token: 'someone-else', pid: record.pid + 1 });
    },
    elapse: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    async cleanup() {
      for (const m of made.values()) {
        if (m.crashed) continue;
        m.fs.resume();
        m.timers.resume();
        await m.lock.release();
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
});

describe('FileDirectoryLock on disk', function () {
  let dataDir: string;
  const locks: FileDirectoryLock[] = [];

  beforeEach(async function () {
    dataDir = await mkdtemp(join(tmpdir(), 'tandem-lock-'));
  });
  afterEach(async function () {
    for (const lock of locks.splice(0)) await lock.release();
    await rm(dataDir, { recursive: true, force: true });
  });

  function lock(dir = dataDir): FileDirectoryLock {
    const l = new FileDirectoryLock({ dataDir: dir, retryIntervalMs: 20 });
    locks.push(l);
    return l;
  }

  it('keeps the lock directory and the holder record in the data directory, and only those', async function () {
    const l = lock();
    const got = await l.acquire();
    expect((await readdir(dataDir)).sort()).to.deep.equal([LOCK_DIR_NAME, HOLDER_FILE_NAME].sort());
    const record = await readHolderRecord(nodeLockFs, join(dataDir, HOLDER_FILE_NAME));
    expect(record).to.include({ host: hostname(), pid: process.pid, epoch: got.epoch, acquiredAt: got.acquiredAt });
    await l.release();
    // The record outlives the lock: it carries the epoch count to the next holder.
    expect(await readdir(dataDir)).to.deep.equal([HOLDER_FILE_NAME]);
  });

  it('creates a missing data directory', async function () {
    const nested = join(dataDir, 'a', 'b');
    const got = await lock(nested).acquire();
    expect(got.epoch).to.equal(1);
    expect(await readdir(nested)).to.include(LOCK_DIR_NAME);
  });

  it('refuses to acquire over a corrupt holder record, with TANDEM_ERR_LOCK_RECORD_CORRUPT, and leaves no lock', async function () {
    await nodeLockFs.writeNewFileSynced(join(dataDir, HOLDER_FILE_NAME), Buffer.from('{"format":1,"epoch":'));
    const err = await lock()
      .acquire()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).to.be.instanceOf(LockError);
    expect(err).to.have.property('code', 'TANDEM_ERR_LOCK_RECORD_CORRUPT');
    expect((err as Error).message).to.contain(HOLDER_FILE_NAME);
    expect(await readdir(dataDir)).to.deep.equal([HOLDER_FILE_NAME]);
  });

  it('fails with TANDEM_ERR_LOCK_FAILED when the data directory is a file', async function () {
    const file = join(dataDir, 'not-a-dir');
    await nodeLockFs.writeNewFileSynced(file, Buffer.from('x'));
    const err = await lock(file)
      .acquire()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).to.be.instanceOf(LockError);
    expect(err).to.have.property('code', 'TANDEM_ERR_LOCK_FAILED');
    expect((err as Error).message).to.contain('not-a-dir');
  });

  it('rejects lease settings it cannot honour instead of silently changing them', function () {
    expect(() => new FileDirectoryLock({ dataDir, leaseMs: 1000 })).to.throw(RangeError, /leaseMs/);
    expect(() => new FileDirectoryLock({ dataDir, leaseMs: 4000, renewIntervalMs: 3000 })).to.throw(RangeError, /renewIntervalMs/);
    expect(() => new FileDirectoryLock({ dataDir, leaseMs: 2000, renewIntervalMs: 1000, safetyMarginMs: 1000 })).to.throw(
      RangeError,
      /safetyMarginMs/,
    );
    expect(new FileDirectoryLock({ dataDir, leaseMs: 5000 }).settings).to.deep.equal({
      leaseMs: 5000,
      renewIntervalMs: 2500,
      retryIntervalMs: 100,
      pidCheck: true,
      safetyMarginMs: 250,
    });
  });
});
