// @tandem-mq/failover-client: a STOMP 1.2 client for Tandem MQ that takes ActiveMQ failover URIs,
// reconnects with back-off, restores subscriptions and resends unconfirmed sends without duplicates.
export { FailoverClient, type ClientOptions } from './client.js';
export { Subscription } from './subscriptions.js';
export { FailoverClientError, FailoverErrors, failoverErrorCodes, type FailoverErrorCode } from './errors.js';
export type { Status, StatusType, StatusListener } from './status.js';
export type { Message, MessageHandler, SubscribeOptions, AckMode } from './subscriptions.js';
export type { SendOptions } from './outgoing.js';
export { Transaction } from './transaction.js';
export {
  parseConnectionUri,
  FAILOVER_DEFAULTS,
  ENDPOINT_DEFAULTS,
  type ConnectionUri,
  type Endpoint,
  type EndpointOptions,
  type FailoverOptions,
  type InnerScheme,
} from './uri.js';
export { PRODUCER_ID_HEADER, PRODUCER_SEQ_HEADER } from './producer.js';
export type { HeartbeatOffer } from './heartbeat.js';
export type { TlsSettings } from './transport.js';
export type { Timers } from './timers.js';

/** The prefix of a failover URI. */
export const FAILOVER_SCHEME = 'failover:';
