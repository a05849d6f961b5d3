// Reading and checking client headers: required headers, numbers, destinations, and the headers a
// SEND carries through to consumers. Every failure is a BrokerError whose message names the header.
import { BrokerError } from '../../../errors.js';
import { header, type StompFrame } from '../frame.js';

export function requireHeader(frame: StompFrame, name: string): string {
  const value = header(frame, name);
  if (value === undefined) {
    throw new BrokerError('TANDEM_ERR_MISSING_HEADER', `${frame.command} requires the '${name}' header`);
  }
  return value;
}

/** An optional integer header within [min, max]; undefined when absent. */
export function integerHeader(frame: StompFrame, name: string, min: number, max: number): number | undefined {
  return integerValue(frame.command, name, header(frame, name), min, max);
}

/** integerHeader() for a value already read from the frame. */
export function integerValue(command: string, name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const parsed = /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
    throw new BrokerError(
      'TANDEM_ERR_INVALID_HEADER',
      `${command} header '${name}' must be an integer from ${min} to ${max}, not '${value}'`,
    );
  }
  return parsed;
}

const KINDS = ['/queue/', '/topic/', '/temp-queue/', '/temp-topic/'] as const;

/**
 * The canonical form of a client's destination. A bare name is a queue, as in ActiveMQ
 * ("orders" is "/queue/orders"); a name with a leading slash must carry one of the four kinds.
 */
export function canonicalDestination(value: string, headerName = 'destination'): string {
  if (value.length > 0 && !value.startsWith('/')) return `/queue/${value}`;
  for (const kind of KINDS) {
    if (value.startsWith(kind) && value.length > kind.length) return value;
  }
  throw new BrokerError(
    'TANDEM_ERR_INVALID_DESTINATION',
    `'${headerName}' must be /queue/NAME, /topic/NAME, /temp-queue/NAME, /temp-topic/NAME or a bare queue name, not '${value}'`,
  );
}

/** The failover client's producer id and per-producer sequence, for dropping resent duplicates. */
export const PRODUCER_ID_HEADER = 'tandem-producer-id';
export const PRODUCER_SEQ_HEADER = 'tandem-producer-seq';

/**
 * Headers that describe the frame or that the broker sets on delivery; they are not stored with
 * the message (SendRequest carries persistent, priority and expires as fields).
 */
const NOT_CARRIED = new Set([
  'destination',
  'receipt',
  'transaction',
  'content-length',
  'persistent',
  'priority',
  'expires',
  'message-id',
  'subscription',
  'ack',
  'redelivered',
  'timestamp',
  PRODUCER_ID_HEADER,
  PRODUCER_SEQ_HEADER,
]);

/**
 * The SEND headers that travel with the message, first occurrence winning (STOMP 1.2 "Repeated
 * Header Entries"). The core's resolveDestination turns a temporary reply-to into the broker-wide
 * name other connections can send to (ActiveMQ rewrites it the same way).
 */
export function carriedHeaders(frame: StompFrame, core: { resolveDestination?(destination: string): string }): Record<string, string> {
  const carried: Record<string, string> = {};
  for (const [name, value] of frame.headers) {
    if (NOT_CARRIED.has(name) || Object.hasOwn(carried, name)) continue;
    carried[name] = value;
  }
  return resolveReplyTo(carried, core);
}

/** A SEND's headers read in one pass: the first of each header the broker reads, and the rest. */
export interface SendHeaders {
  destination: string | undefined;
  persistent: string | undefined;
  priority: string | undefined;
  expires: string | undefined;
  producerId: string | undefined;
  producerSeq: string | undefined;
  transaction: string | undefined;
  /** What carriedHeaders() returns, reply-to not yet resolved. */
  carried: Record<string, string>;
}

/** One pass over a SEND's headers (a SEND is the frame every message costs). */
export function readSendHeaders(frame: StompFrame): SendHeaders {
  const read: SendHeaders = {
    destination: undefined,
    persistent: undefined,
    priority: undefined,
    expires: undefined,
    producerId: undefined,
    producerSeq: undefined,
    transaction: undefined,
    carried: {},
  };
  const carried = read.carried;
  for (const [name, value] of frame.headers) {
    switch (name) {
      case 'destination':
        read.destination ??= value;
        continue;
      case 'persistent':
        read.persistent ??= value;
        continue;
      case 'priority':
        read.priority ??= value;
        continue;
      case 'expires':
        read.expires ??= value;
        continue;
      case PRODUCER_ID_HEADER:
        read.producerId ??= value;
        continue;
      case PRODUCER_SEQ_HEADER:
        read.producerSeq ??= value;
        continue;
      case 'transaction':
        read.transaction ??= value;
        continue;
    }
    if (NOT_CARRIED.has(name) || Object.hasOwn(carried, name)) continue;
    carried[name] = value;
  }
  return read;
}

/** Rewrites a carried reply-to to its canonical, broker-wide name; returns the same object. */
export function resolveReplyTo(carried: Record<string, string>, core: { resolveDestination?(destination: string): string }): Record<string, string> {
  const replyTo = carried['reply-to'];
  if (replyTo !== undefined) {
    const canonical = canonicalDestination(replyTo, 'reply-to');
    carried['reply-to'] = core.resolveDestination === undefined ? canonical : core.resolveDestination(canonical);
  }
  return carried;
}
