// The broker's error registry: one stable code per failure a client or operator can meet, each
// with its HTTP status. A STOMP ERROR frame carries the code in a `code` header and the message in
// `message`. Every code here is listed in docs/errors.md (a test checks).
import { TandemError, StoreErrorCodes } from '@tandem-mq/shared-store';

export { TandemError };

interface Definition {
  httpStatus: number;
}

export const BrokerErrors = {
  // Frames and the protocol
  TANDEM_ERR_FRAME_TOO_LARGE: { httpStatus: 413 },
  TANDEM_ERR_TOO_MANY_HEADERS: { httpStatus: 400 },
  TANDEM_ERR_HEADER_TOO_LONG: { httpStatus: 400 },
  TANDEM_ERR_MALFORMED_FRAME: { httpStatus: 400 },
  TANDEM_ERR_UNKNOWN_COMMAND: { httpStatus: 400 },
  TANDEM_ERR_MISSING_HEADER: { httpStatus: 400 },
  TANDEM_ERR_INVALID_HEADER: { httpStatus: 400 },
  TANDEM_ERR_UNSUPPORTED_VERSION: { httpStatus: 400 },
  TANDEM_ERR_NOT_CONNECTED: { httpStatus: 400 },
  TANDEM_ERR_ALREADY_CONNECTED: { httpStatus: 400 },
  TANDEM_ERR_HEARTBEAT_TIMEOUT: { httpStatus: 408 },
  TANDEM_ERR_TOO_MANY_CONNECTIONS: { httpStatus: 503 },
  // Messaging
  TANDEM_ERR_INVALID_DESTINATION: { httpStatus: 400 },
  TANDEM_ERR_INVALID_SELECTOR: { httpStatus: 400 },
  TANDEM_ERR_DUPLICATE_SUBSCRIPTION: { httpStatus: 409 },
  TANDEM_ERR_UNKNOWN_SUBSCRIPTION: { httpStatus: 404 },
  TANDEM_ERR_CLIENT_ID_REQUIRED: { httpStatus: 400 },
  TANDEM_ERR_DURABLE_IN_USE: { httpStatus: 409 },
  TANDEM_ERR_UNKNOWN_MESSAGE: { httpStatus: 404 },
  TANDEM_ERR_UNKNOWN_TRANSACTION: { httpStatus: 404 },
  TANDEM_ERR_DUPLICATE_TRANSACTION: { httpStatus: 409 },
  TANDEM_ERR_STORE_UNAVAILABLE: { httpStatus: 503 },
  // Configuration, CLI and admin
  TANDEM_ERR_CONFIG_INVALID: { httpStatus: 400 },
  TANDEM_ERR_CONFIG_UNREADABLE: { httpStatus: 400 },
  TANDEM_ERR_ADMIN_NOT_FOUND: { httpStatus: 404 },
  TANDEM_ERR_ADMIN_BAD_REQUEST: { httpStatus: 400 },
  TANDEM_ERR_ADMIN_METHOD_NOT_ALLOWED: { httpStatus: 405 },
  TANDEM_ERR_USAGE: { httpStatus: 400 },
  TANDEM_ERR_LISTEN_FAILED: { httpStatus: 500 },
  TANDEM_ERR_INTERNAL: { httpStatus: 500 },
  // High availability
  TANDEM_ERR_FENCED: { httpStatus: 503 },
  TANDEM_ERR_ROLE_TRANSITION: { httpStatus: 500 },
  TANDEM_ERR_NOT_ACTIVE: { httpStatus: 503 },
  // Regions: the replica role and promotion
  TANDEM_ERR_REPLICA: { httpStatus: 503 },
  TANDEM_ERR_REGION_STATE: { httpStatus: 500 },
  TANDEM_ERR_PROMOTE_MODE: { httpStatus: 400 },
  TANDEM_ERR_PROMOTE_NOT_REPLICA: { httpStatus: 409 },
  TANDEM_ERR_PROMOTE_NO_LINK: { httpStatus: 409 },
  TANDEM_ERR_PROMOTE_BUSY: { httpStatus: 409 },
  TANDEM_ERR_PROMOTE_TIMEOUT: { httpStatus: 504 },
} as const satisfies Record<string, Definition>;

export type BrokerErrorCode = keyof typeof BrokerErrors;

export class BrokerError extends TandemError {
  constructor(code: BrokerErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { httpStatus: BrokerErrors[code].httpStatus, ...options });
    this.name = 'BrokerError';
  }
}

/** Every code the broker process can emit, its own and the storage engine's. */
export function allErrorCodes(): string[] {
  return [...Object.keys(BrokerErrors), ...Object.values(StoreErrorCodes)];
}
