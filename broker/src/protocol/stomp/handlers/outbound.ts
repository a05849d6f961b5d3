// The frames the server writes: MESSAGE, RECEIPT and ERROR, built as plain StompFrames for the
// serializer. STOMP 1.2 "Server Frames".
import type { Delivery } from '../../../core/types.js';
import type { StompFrame } from '../frame.js';
import { withoutLineBreaks } from '../serializer.js';

/** The error shape an ERROR frame needs; BrokerError and StoreError both fit. */
export interface CodedError {
  code: string;
  message: string;
  /** Extra ERROR headers, e.g. `version` on a failed negotiation (STOMP 1.2 "Protocol Negotiation"). */
  stompHeaders?: Array<[string, string]>;
}

export function withStompHeaders<E extends Error>(error: E, headers: Array<[string, string]>): E {
  return Object.assign(error, { stompHeaders: headers });
}

/** Headers the MESSAGE frame sets itself; a stored header of the same name is not repeated. */
export const SET_BY_SERVER: ReadonlySet<string> = new Set([
  'destination',
  'message-id',
  'subscription',
  'ack',
  'redelivered',
  'persistent',
  'priority',
  'timestamp',
  'expires',
  'content-length',
]);

/**
 * STOMP 1.2 "MESSAGE": destination, message-id and subscription, plus `ack` (required in 1.2 for
 * client acks; always sent, older clients ignore it) and ActiveMQ's redelivered, persistent,
 * priority, timestamp and expires, then the sender's own headers and content-length.
 */
export function messageFrame(delivery: Delivery): StompFrame {
  const headers: Array<[string, string]> = [
    ['destination', delivery.destination],
    ['message-id', delivery.messageId],
    ['subscription', delivery.subscriptionId],
    ['ack', delivery.ackId],
    ['redelivered', delivery.redelivered ? 'true' : 'false'],
  ];
  if (delivery.persistent) headers.push(['persistent', 'true']);
  headers.push(['priority', String(delivery.priority)], ['timestamp', String(delivery.timestamp)]);
  if (delivery.expires > 0) headers.push(['expires', String(delivery.expires)]);
  for (const name in delivery.headers) {
    if (!SET_BY_SERVER.has(name)) headers.push([name, delivery.headers[name]!]);
  }
  headers.push(['content-length', String(delivery.body.length)]);
  return { command: 'MESSAGE', headers, body: delivery.body };
}

/** STOMP 1.2 "RECEIPT". */
export function receiptFrame(receiptId: string): StompFrame {
  return { command: 'RECEIPT', headers: [['receipt-id', receiptId]], body: EMPTY };
}

/**
 * STOMP 1.2 "ERROR": a one-line `message`, our `code`, `receipt-id` when the offending frame asked
 * for a receipt, and a plain-text body with the detail. The server closes the connection after it.
 */
export function errorFrame(error: CodedError, offending?: StompFrame, receiptId?: string): StompFrame {
  const message = oneLine(error.message);
  const headers: Array<[string, string]> = [
    ['message', message],
    ['code', error.code],
  ];
  if (receiptId !== undefined) headers.push(['receipt-id', receiptId]);
  for (const extra of error.stompHeaders ?? []) headers.push(extra);
  let detail = `${error.code}: ${message}\n`;
  if (offending !== undefined) detail += `\nThe frame that caused it: ${offending.command}\n`;
  const body = Buffer.from(detail, 'utf8');
  headers.push(['content-type', 'text/plain'], ['content-length', String(body.length)]);
  return { command: 'ERROR', headers, body };
}

const EMPTY = Buffer.alloc(0);

function oneLine(text: string): string {
  return withoutLineBreaks(text).trim();
}
