// @tandem-mq/shared-store: the storage engine the broker and the replicator share.
export { TandemError, StoreError, StoreErrorCodes } from './errors.js';
export type { TandemErrorOptions, StoreErrorCode } from './errors.js';
export { createLogger, silentLogger } from './log.js';
export type { Logger, LoggerSettings } from './log.js';
export { durableKey } from './store/types.js';
export type * from './store/types.js';
