// @tandem-mq/broker: the broker process's public API.
export * from './errors.js';
export type * from './core/types.js';
