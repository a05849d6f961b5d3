// The error base every package shares: a stable code, and how the error reads over HTTP.
// Each package keeps its own registry of codes (see docs/errors.md); this file holds the base
// class and the storage engine's own codes.

export interface TandemErrorOptions {
  /** HTTP status when the error reaches the admin API. */
  httpStatus?: number;
  cause?: unknown;
}

export class TandemError extends Error {
  readonly code: string;
  readonly httpStatus: number;

  constructor(code: string, message: string, options: TandemErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TandemError';
    this.code = code;
    this.httpStatus = options.httpStatus ?? 500;
  }

  toJSON(): { error: { code: string; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

/** Codes raised by the storage engine. Every code is listed in docs/errors.md. */
export const StoreErrorCodes = {
  /** A write or fdatasync failed; the journal refuses further writes until restarted. */
  JOURNAL_FAILED: 'TANDEM_ERR_JOURNAL_FAILED',
  /** The journal is closed (stopping, or not yet open). */
  JOURNAL_CLOSED: 'TANDEM_ERR_JOURNAL_CLOSED',
  /** A record in the middle of a segment is corrupt; start with --repair to skip it. */
  JOURNAL_CORRUPT: 'TANDEM_ERR_JOURNAL_CORRUPT',
  /** A replica's replayed state does not match its journal files; the store recovers them in full instead. */
  JOURNAL_RESUME: 'TANDEM_ERR_JOURNAL_RESUME',
  /** A record is larger than a segment may hold. */
  RECORD_TOO_LARGE: 'TANDEM_ERR_RECORD_TOO_LARGE',
  /** This broker lost the data-directory lock: writes are refused and nothing more is confirmed. */
  FENCED: 'TANDEM_ERR_FENCED',
  /** The data directory cannot be locked at all: missing, read-only, or not ours to write. */
  LOCK_FAILED: 'TANDEM_ERR_LOCK_FAILED',
  /** The holder record beside the lock cannot be parsed, so the next epoch is unknown. */
  LOCK_RECORD_CORRUPT: 'TANDEM_ERR_LOCK_RECORD_CORRUPT',
} as const;

export type StoreErrorCode = (typeof StoreErrorCodes)[keyof typeof StoreErrorCodes];

export class StoreError extends TandemError {
  constructor(code: StoreErrorCode, message: string, options: TandemErrorOptions = {}) {
    super(code, message, { httpStatus: 503, ...options });
    this.name = 'StoreError';
  }
}
