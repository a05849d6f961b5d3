// The data-directory lock: its contract, the proper-lockfile implementation, the in-memory one for
// tests, and the conformance suite both run. shared-store's index.ts re-exports this file.
export { DEFAULT_LOCK_SETTINGS, MIN_LEASE_MS, MIN_RENEW_INTERVAL_MS, resolveLockSettings } from './directory-lock.js';
export type {
  AcquiredVia,
  Acquisition,
  DirectoryLock,
  LockHolder,
  LockLoss,
  LockLossReason,
  LockLostListener,
  LockSettings,
} from './directory-lock.js';
export { FileDirectoryLock } from './file-lock.js';
export type { FileDirectoryLockOptions } from './file-lock.js';
export { MemoryDirectoryLock, MemoryLockDirectory } from './memory-lock.js';
export type { MemoryDirectoryLockOptions } from './memory-lock.js';
export { LockError, LockErrorCodes } from './lock-errors.js';
export type { LockErrorCode } from './lock-errors.js';
export { nodeLockFs } from './lock-fs.js';
export type { LockFs, LockStat } from './lock-fs.js';
export { HOLDER_FILE_NAME, LOCK_DIR_NAME, readHolderRecord } from './holder-record.js';
export type { HolderRecord } from './holder-record.js';
export { currentIdentity, isProcessAlive } from './host-identity.js';
export type { ProcessIdentity } from './host-identity.js';
export { runLockConformance, CONFORMANCE_SETTINGS } from './conformance.js';
export type { LockHarness, LockHarnessFactory } from './conformance.js';
export { ControlledLockFs } from './testing/controlled-lock-fs.js';
export { PausableTimers } from './testing/pausable-timers.js';
