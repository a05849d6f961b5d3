// The memory lock runs the shared conformance suite on a hand-moved clock.
import { ManualTimers } from '../journal/timers.js';
import { runLockConformance } from './conformance.js';
import type { DirectoryLock } from './directory-lock.js';
import { MemoryDirectoryLock, MemoryLockDirectory } from './memory-lock.js';
import { PausableTimers } from './testing/pausable-timers.js';

runLockConformance('MemoryDirectoryLock', () => {
  const clock = new ManualTimers();
  const directory = new MemoryLockDirectory();
  const made = new Map<DirectoryLock, { lock: MemoryDirectoryLock; timers: PausableTimers; crashed: boolean }>();
  const entry = (lock: DirectoryLock) => made.get(lock)!;
  return {
    create(settings) {
      const timers = new PausableTimers(clock);
      const lock = new MemoryDirectoryLock({ ...settings, directory, timers });
      made.set(lock, { lock, timers, crashed: false });
      return lock;
    },
    crash(lock) {
      const e = entry(lock);
      e.crashed = true;
      e.timers.kill();
      directory.kill(e.lock.identity.pid);
    },
    pause: (lock) => entry(lock).timers.pause(),
    resume: (lock) => entry(lock).timers.resume(),
    stallRenewals: (lock) => directory.stallRenewals(entry(lock).lock.identity.pid),
    async removeLock() {
      directory.lock = undefined;
    },
    async overwriteRecord() {
      directory.record = { ...directory.record!, token: 'someone-else', pid: directory.newPid() };
    },
    async elapse(ms) {
      for (let left = ms; left > 0; left -= 5) {
        clock.advance(Math.min(5, left));
        await new Promise((resolve) => setImmediate(resolve));
      }
    },
    async cleanup() {
      for (const e of made.values()) {
        if (e.crashed) continue;
        e.timers.resume();
        await e.lock.release();
      }
    },
  };
});
