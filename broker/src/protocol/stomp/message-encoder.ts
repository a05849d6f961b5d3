// The frames a session writes most, MESSAGE and RECEIPT, encoded straight into an Outbox: the same
// bytes as serializeFrame(messageFrame(...)), with no frame object in between, and the part of a
// MESSAGE that every delivery of one message shares encoded once per message and version.
import type { Delivery } from '../../core/types.js';
import type { StompVersion } from './frame.js';
import { SET_BY_SERVER } from './handlers/outbound.js';
import type { Outbox } from './outbox.js';
import { breaksUnescapedName, escapeHeader, withoutLineBreaks } from './serializer.js';

const NUL = 0;
const CACHE_KEY = 'stomp';

/** A message's encoded common part for one version, with the fields it was made from. */
interface SharedPart {
  messageId: string;
  headers: Record<string, string>;
  persistent: boolean;
  priority: number;
  timestamp: number;
  expires: number;
  bodyLength: number;
  /** The destination of the delivery it was made for. */
  destination: string;
  /** From the command through message-id, for deliveries naming `destination`. */
  head: string;
  /** From `persistent` (or `priority`) through `content-length` and the blank line. */
  tail: string;
}

type SharedParts = Partial<Record<StompVersion, SharedPart>>;

/**
 * A header value as the version writes it: escaped in 1.1 and 1.2 (STOMP 1.2 "Value Encoding"); in
 * 1.0, which has no escaping, line breaks become a space, so a 1.2 producer's header cannot make a
 * delivery to a 1.0 consumer fail.
 */
function headerText(text: string, version: StompVersion): string {
  if (version !== '1.0') return escapeHeader(text, version);
  return withoutLineBreaks(text);
}

/**
 * STOMP 1.2 "MESSAGE": destination, message-id, subscription, ack, redelivered, then persistent
 * (when true), priority, timestamp, expires (when set), the sender's headers and content-length,
 * in the order of messageFrame(). Only destination, subscription, ack and redelivered differ
 * between the deliveries of one message; the rest is taken from the delivery's cache.
 */
export function encodeMessage(out: Outbox, delivery: Delivery, version: StompVersion): void {
  const shared = sharedPart(delivery, version);
  // A topic's deliveries all name the topic; a virtual topic's consumer queues each their own.
  const head = delivery.destination === shared.destination ? shared.head : messageHead(delivery, version);
  // One string for the whole head: writing it costs about what copying cached bytes would (both
  // were measured), without a buffer kept per message.
  out.string(
    head +
      'subscription:' +
      headerText(delivery.subscriptionId, version) +
      '\nack:' +
      headerText(delivery.ackId, version) +
      (delivery.redelivered ? '\nredelivered:true\n' : '\nredelivered:false\n') +
      shared.tail,
  );
  out.bytes(delivery.body);
  out.byte(NUL);
}

/** STOMP 1.2 "RECEIPT". */
export function encodeReceipt(out: Outbox, receiptId: string, version: StompVersion): void {
  out.string('RECEIPT\nreceipt-id:' + headerText(receiptId, version) + '\n\n\0');
}

function sharedPart(delivery: Delivery, version: StompVersion): SharedPart {
  const cache = delivery.cache;
  const parts = cache?.[CACHE_KEY] as SharedParts | undefined;
  const found = parts?.[version];
  if (found !== undefined && fits(found, delivery)) return found;
  const made = makeSharedPart(delivery, version);
  if (cache !== undefined) {
    if (parts === undefined) cache[CACHE_KEY] = { [version]: made } satisfies SharedParts;
    else parts[version] = made;
  }
  return made;
}

function fits(part: SharedPart, delivery: Delivery): boolean {
  return (
    part.headers === delivery.headers &&
    part.messageId === delivery.messageId &&
    part.bodyLength === delivery.body.length &&
    part.timestamp === delivery.timestamp &&
    part.priority === delivery.priority &&
    part.expires === delivery.expires &&
    part.persistent === delivery.persistent
  );
}

function messageHead(delivery: Delivery, version: StompVersion): string {
  return 'MESSAGE\ndestination:' + headerText(delivery.destination, version) + '\nmessage-id:' + headerText(delivery.messageId, version) + '\n';
}

function makeSharedPart(delivery: Delivery, version: StompVersion): SharedPart {
  let tail = delivery.persistent ? 'persistent:true\n' : '';
  tail += `priority:${delivery.priority}\ntimestamp:${delivery.timestamp}\n`;
  if (delivery.expires > 0) tail += `expires:${delivery.expires}\n`;
  const headers = delivery.headers;
  for (const name in headers) {
    // An empty name cannot be written; a 1.0 frame cannot carry a name with a line break or colon.
    if (SET_BY_SERVER.has(name) || name === '' || (version === '1.0' && breaksUnescapedName(name))) continue;
    tail += headerText(name, version) + ':' + headerText(headers[name]!, version) + '\n';
  }
  tail += `content-length:${delivery.body.length}\n\n`;
  return {
    messageId: delivery.messageId,
    headers,
    persistent: delivery.persistent,
    priority: delivery.priority,
    timestamp: delivery.timestamp,
    expires: delivery.expires,
    bodyLength: delivery.body.length,
    destination: delivery.destination,
    head: messageHead(delivery, version),
    tail,
  };
}
