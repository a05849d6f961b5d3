// What the HA controller needs from the data-directory lock and from the broker around it. The
// lock side is a structural subset of shared-store's DirectoryLock, which satisfies it as is.

export interface HaLockHolder {
  host: string;
  pid: number;
  epoch: number;
  acquiredAt: number;
}

export interface HaAcquisition extends HaLockHolder {
  /** free, stale or process-gone */
  via: string;
}

export interface HaLockLoss {
  /** lease-expired, removed, replaced or renew-failed */
  reason: string;
  detail: string;
  epoch: number;
}

export interface HaLock {
  acquire(signal?: AbortSignal): Promise<HaAcquisition>;
  release(): Promise<void>;
  isHeld(): boolean;
  verify(): Promise<boolean>;
  onLost(listener: (loss: HaLockLoss) => void): void;
  holder(): HaLockHolder | undefined;
  inspect(): Promise<HaLockHolder | undefined>;
}

/**
 * The broker's parts as the role machine drives them. Activation runs openJournal then
 * openListeners; a graceful stop runs closeListeners, closeJournal, then releases the lock; fencing
 * runs fenceWrites and dropConnections at once, then closeListeners and abandonJournal.
 */
export interface HaEffects {
  /** Recovers the journal and records `epoch` in it. Called once per activation. */
  openJournal(epoch: number): Promise<void>;
  /** Opens the client listeners (STOMP over TCP, TLS, WebSocket). */
  openListeners(): Promise<void>;
  /**
   * Stops accepting and closes client connections; on a graceful stop, in-flight commits finish and
   * their RECEIPTs go out first. Must cope with listeners that were never (fully) opened.
   */
  closeListeners(): Promise<void>;
  /** Settles pending group commits and closes the journal cleanly. Must cope with a failed open. */
  closeJournal(): Promise<void>;
  /**
   * Fencing, synchronous: from now on refuse every write and reject every commit still waiting,
   * unconfirmed. Safe in any state and more than once.
   */
  fenceWrites(): void;
  /** Fencing, synchronous: destroys every client connection at once, sending nothing more. */
  dropConnections(): void;
  /** After fencing: closes the journal's files without writing anything (no flush, no clean-shutdown mark). */
  abandonJournal(): Promise<void>;
}
