// The lock's errors: codes from the storage engine's registry (../errors.ts), listed in docs/errors.md.
import { StoreErrorCodes, TandemError, type TandemErrorOptions } from '../errors.js';

export const LockErrorCodes = {
  LOCK_FAILED: StoreErrorCodes.LOCK_FAILED,
  LOCK_RECORD_CORRUPT: StoreErrorCodes.LOCK_RECORD_CORRUPT,
} as const;

export type LockErrorCode = (typeof LockErrorCodes)[keyof typeof LockErrorCodes];

export class LockError extends TandemError {
  constructor(code: LockErrorCode, message: string, options: TandemErrorOptions = {}) {
    super(code, message, { httpStatus: 503, ...options });
    this.name = 'LockError';
  }
}
