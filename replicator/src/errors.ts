// The replicator's error registry: one stable code per failure an operator of the link can meet.
// A code travels over the link in an error message, reaches the admin API as JSON with its HTTP
// status, and is listed in docs/errors.md (a test checks).
import { TandemError } from '@tandem-mq/shared-store';

interface Definition {
  httpStatus: number;
  /** The sender stops instead of reconnecting: trying again cannot help until someone acts. */
  fatal: boolean;
}

export const ReplicationErrors = {
  /** The sender's token is not the receiver's: the link is refused before anything is written. */
  TANDEM_ERR_REPLICATION_AUTH: { httpStatus: 401, fatal: true },
  /** A link message is malformed, of an unknown type or version, or out of place in the exchange. */
  TANDEM_ERR_REPLICATION_PROTOCOL: { httpStatus: 400, fatal: false },
  /** The receiver already has a sender; a second replicator waits as a spare and retries. */
  TANDEM_ERR_REPLICATION_BUSY: { httpStatus: 409, fatal: false },
  /** The replica holds journal bytes the primary does not: the two have diverged. */
  TANDEM_ERR_REPLICATION_DIVERGED: { httpStatus: 409, fatal: true },
  /** The primary's journal has a record that stays corrupt; shipping stalls before it. */
  TANDEM_ERR_REPLICATION_SOURCE_CORRUPT: { httpStatus: 500, fatal: false },
  /** The replica directory's cursor is unreadable, or does not match the segment files. */
  TANDEM_ERR_REPLICATION_CURSOR: { httpStatus: 500, fatal: false },
  /** Writing, syncing or deleting in the replica directory failed. */
  TANDEM_ERR_REPLICATION_IO: { httpStatus: 503, fatal: false },
  /** The receiver lost the replica directory's lock and stopped writing. */
  TANDEM_ERR_REPLICATION_LOCK_LOST: { httpStatus: 503, fatal: false },
  /** A replicator or receiver configuration field is missing or wrong; the message names it. */
  TANDEM_ERR_REPLICATION_CONFIG: { httpStatus: 400, fatal: true },
  /** The endpoint belongs to a broker in the primary role: it ships, it does not receive. */
  TANDEM_ERR_REPLICATION_NOT_REPLICA: { httpStatus: 409, fatal: false },
  /** The sender's region was replaced by a promotion of the replica (a newer generation). */
  TANDEM_ERR_REPLICATION_STALE_PRIMARY: { httpStatus: 409, fatal: true },
} as const satisfies Record<string, Definition>;

export type ReplicationErrorCode = keyof typeof ReplicationErrors;

export class ReplicationError extends TandemError {
  declare readonly code: ReplicationErrorCode;

  constructor(code: ReplicationErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { httpStatus: ReplicationErrors[code].httpStatus, ...options });
    this.name = 'ReplicationError';
  }

  /** Whether a sender refused with this code should stop rather than reconnect. */
  get fatal(): boolean {
    return ReplicationErrors[this.code].fatal;
  }
}

export function isReplicationErrorCode(code: string): code is ReplicationErrorCode {
  return Object.prototype.hasOwnProperty.call(ReplicationErrors, code);
}

/** Every code this package can raise, for documentation checks. */
export function replicationErrorCodes(): ReplicationErrorCode[] {
  return Object.keys(ReplicationErrors) as ReplicationErrorCode[];
}
