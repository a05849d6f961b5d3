// The contract for the data-directory lock that decides which broker of a pair is active: one
// holder at a time, a lease it keeps renewing, a fencing epoch that grows with every acquisition.

/** Who holds (or last held) the lock, as recorded beside it. */
export interface LockHolder {
  /** os.hostname() of the holder. */
  host: string;
  pid: number;
  /** Grows by one on every acquisition, across restarts and hosts; the journal records it too. */
  epoch: number;
  /** Epoch milliseconds, by the holder's clock. */
  acquiredAt: number;
}

/**
 * How the lock came to us: it was free, the holder's lease had gone stale, or the holder's process
 * was gone from this host (the pid check).
 */
export type AcquiredVia = 'free' | 'stale' | 'process-gone';

export interface Acquisition extends LockHolder {
  via: AcquiredVia;
  /** The holder we took over from, when the holder record named one. */
  previous?: LockHolder;
}

/**
 * Why a holder lost the lock:
 * - `lease-expired`: its renewals stalled (a pause, a slow disk) long enough that another broker
 *   may already consider the lease stale; the holder stops trusting it before that can happen;
 * - `removed`: the lock (or its holder record) was deleted;
 * - `replaced`: another holder's lock or record is there now;
 * - `renew-failed`: renewing the lease kept failing (I/O errors) until the lease ran out.
 */
export type LockLossReason = 'lease-expired' | 'removed' | 'replaced' | 'renew-failed';

export interface LockLoss {
  reason: LockLossReason;
  /** One line for the log and the admin API. */
  detail: string;
  /** The epoch that was lost. */
  epoch: number;
}

export type LockLostListener = (loss: LockLoss) => void;

export interface DirectoryLock {
  /**
   * Polls until this lock holds, then resolves with the new epoch. Rejects with the signal's reason
   * when aborted, and with a LockError when the directory cannot be locked at all (permissions, a
   * corrupt holder record). Calling it again after release() or a loss takes a new epoch.
   */
  acquire(signal?: AbortSignal): Promise<Acquisition>;
  /** Stops renewing and removes the lock if it is still ours. Idempotent; never fires onLost. */
  release(): Promise<void>;
  /**
   * Cheap and synchronous: held, not lost, and the lease renewed recently enough that no other
   * broker may break it yet. Call it before every write.
   */
  isHeld(): boolean;
  /**
   * Like isHeld(), and also reads the lock and the holder record to confirm they are still ours.
   * Call it after a write is durable and before confirming it (a RECEIPT): when it resolves true,
   * any broker that takes over later recovers that write. A detected loss fires onLost first.
   */
  verify(): Promise<boolean>;
  /** Registers a listener for the loss of a held lock; it fires once per loss, never on release(). */
  onLost(listener: LockLostListener): void;
  /** Our holder record while we hold the lock. */
  holder(): LockHolder | undefined;
  /** The holder recorded beside the lock, when a lock exists (a standby's view of the active). */
  inspect(): Promise<LockHolder | undefined>;
}

/** Settings every implementation takes. The defaults are in DEFAULT_LOCK_SETTINGS. */
export interface LockSettings {
  /** How long a lease lasts without renewal before another broker may break the lock. */
  leaseMs: number;
  /** How often the holder renews its lease; at most half the lease. */
  renewIntervalMs: number;
  /** How often a contender (the standby) tries for the lock. */
  retryIntervalMs: number;
  /** Break a lock at once when its holder ran on this host and its process is gone. */
  pidCheck: boolean;
  /**
   * The holder stops trusting its lease this long before others may break it: room for the time
   * between isHeld() and the write reaching the disk, and for clock skew between hosts.
   */
  safetyMarginMs: number;
}

/**
 * Defaults (see docs/adr/0009-lock-lease-and-fencing.md): a 2 s lease renewed every second is the
 * shortest proper-lockfile allows and puts a lease-only takeover at 1-2 s after a crash; the holder
 * gives up its lease after 1.75 s without a renewal, so only a stall of about 0.7 s past a renewal
 * costs a failover, and never a confirmed message.
 */
export const DEFAULT_LOCK_SETTINGS: LockSettings = {
  leaseMs: 2000,
  renewIntervalMs: 1000,
  retryIntervalMs: 100,
  pidCheck: true,
  safetyMarginMs: 250,
};

/** The smallest lease and renewal interval proper-lockfile accepts; it silently raises smaller ones. */
export const MIN_LEASE_MS = 2000;
export const MIN_RENEW_INTERVAL_MS = 1000;

/**
 * Fills in defaults and rejects settings the lease arithmetic cannot honour. Values below
 * proper-lockfile's minimums are refused rather than silently raised, so the configured numbers are
 * the ones in force.
 */
export function resolveLockSettings(given: Partial<LockSettings> = {}): LockSettings {
  const leaseMs = given.leaseMs ?? DEFAULT_LOCK_SETTINGS.leaseMs;
  const settings: LockSettings = {
    leaseMs,
    renewIntervalMs: given.renewIntervalMs ?? Math.max(MIN_RENEW_INTERVAL_MS, Math.floor(leaseMs / 2)),
    retryIntervalMs: given.retryIntervalMs ?? DEFAULT_LOCK_SETTINGS.retryIntervalMs,
    pidCheck: given.pidCheck ?? DEFAULT_LOCK_SETTINGS.pidCheck,
    safetyMarginMs: given.safetyMarginMs ?? DEFAULT_LOCK_SETTINGS.safetyMarginMs,
  };
  const problems: string[] = [];
  if (!Number.isInteger(settings.leaseMs) || settings.leaseMs < MIN_LEASE_MS) {
    problems.push(`leaseMs must be an integer of at least ${MIN_LEASE_MS} (got ${settings.leaseMs})`);
  }
  if (
    !Number.isInteger(settings.renewIntervalMs) ||
    settings.renewIntervalMs < MIN_RENEW_INTERVAL_MS ||
    settings.renewIntervalMs > settings.leaseMs / 2
  ) {
    problems.push(
      `renewIntervalMs must be an integer from ${MIN_RENEW_INTERVAL_MS} to half of leaseMs (got ${settings.renewIntervalMs})`,
    );
  }
  if (!Number.isInteger(settings.retryIntervalMs) || settings.retryIntervalMs < 1) {
    problems.push(`retryIntervalMs must be a positive integer (got ${settings.retryIntervalMs})`);
  }
  if (
    !Number.isInteger(settings.safetyMarginMs) ||
    settings.safetyMarginMs < 0 ||
    settings.safetyMarginMs >= settings.leaseMs - settings.renewIntervalMs
  ) {
    problems.push(
      `safetyMarginMs must be an integer from 0 to below leaseMs - renewIntervalMs (got ${settings.safetyMarginMs})`,
    );
  }
  if (problems.length > 0) throw new RangeError(`invalid lock settings: ${problems.join('; ')}`);
  return settings;
}
