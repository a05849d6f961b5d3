// The failover client's error registry: one stable code per failure an application can meet, so it
// can branch on `error.code` rather than on message text. Every code is listed in docs/errors.md.

export const FailoverErrors = {
  /** The connection URI cannot be used; the message names the bad part. */
  TANDEM_ERR_FAILOVER_URI_INVALID: 'The failover URI is malformed or has an unknown or out-of-range option.',
  /** Every endpoint was tried for the allowed number of passes; the client has stopped. */
  TANDEM_ERR_CONNECTION_FAILED: 'No endpoint could be reached within the reconnect limits.',
  /** A send (or subscribe, unsubscribe, begin) was not confirmed within the URI's `timeout` option. */
  TANDEM_ERR_TIMEOUT: 'The operation was not confirmed within the configured timeout.',
  /** The connection carrying an open transaction was lost; the broker rolled it back. */
  TANDEM_ERR_TRANSACTION_ROLLED_BACK: 'The transaction was rolled back by a failover; retry it.',
  /** The connection was lost after COMMIT was written and before its receipt. */
  TANDEM_ERR_TRANSACTION_IN_DOUBT: 'The transaction may or may not have been committed.',
  /** COMMIT, ABORT or another operation on a transaction that is already committed or aborted. */
  TANDEM_ERR_TRANSACTION_FINISHED: 'The transaction is already committed or aborted.',
  /** An ACK or NACK for a message delivered on a connection that is gone; it will be redelivered. */
  TANDEM_ERR_DELIVERY_STALE: 'The message came on a connection that was lost; it will be redelivered.',
  /** The client was closed (or never connected) when the operation was asked for. */
  TANDEM_ERR_CLIENT_CLOSED: 'The client is closed.',
  /** A durable subscription needs the client's `clientId`. */
  TANDEM_ERR_CLIENT_ID_REQUIRED: 'A durable subscription needs a client id.',
  /** The broker answered with an ERROR frame; `brokerCode` holds its own code. */
  TANDEM_ERR_BROKER_ERROR: 'The broker refused the operation.',
  /** The broker sent bytes that are not a STOMP 1.2 frame, or never completed the handshake. */
  TANDEM_ERR_PROTOCOL: 'The broker did not speak STOMP as expected.',
} as const;

export type FailoverErrorCode = keyof typeof FailoverErrors;

export class FailoverClientError extends Error {
  readonly code: FailoverErrorCode;
  /** For TANDEM_ERR_BROKER_ERROR: the code from the broker's ERROR frame (e.g. TANDEM_ERR_INVALID_DESTINATION). */
  readonly brokerCode: string | undefined;

  constructor(code: FailoverErrorCode, message: string, options: { cause?: unknown; brokerCode?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FailoverClientError';
    this.code = code;
    this.brokerCode = options.brokerCode;
  }
}

/** Every code this package can raise, for documentation checks. */
export function failoverErrorCodes(): FailoverErrorCode[] {
  return Object.keys(FailoverErrors) as FailoverErrorCode[];
}

/** Short-hand used across the package: `fail('TANDEM_ERR_...', 'message')`. */
export function clientError(code: FailoverErrorCode, message: string, options: { cause?: unknown; brokerCode?: string } = {}): FailoverClientError {
  return new FailoverClientError(code, message, options);
}
