// The core's message records: the immutable message as accepted (shared by every destination it
// reaches) and the per-destination entry that carries the redelivery state of one copy.
import type { StoredMessage } from '@tandem-mq/shared-store';
import type { PropertyLookup } from './selectors/index.js';
import type { Delivery, EncodingCache } from './types.js';

export const DEFAULT_PRIORITY = 4;

/** A message as the core holds it. Never mutated after creation; copies are made instead. */
export interface MessageData {
  seq: number;
  id: string;
  /** Canonical destination it was sent to (a topic for topic and virtual-topic messages). */
  destination: string;
  headers: Record<string, string>;
  body: Buffer;
  priority: number;
  expires: number;
  timestamp: number;
  persistent: boolean;
  producerId: string | undefined;
  producerSeq: number | undefined;
  /** The connection that sent it, for noLocal; undefined for recovered messages. */
  origin: string | undefined;
  /** JMSXGroupID, when the message belongs to a message group. */
  groupId: string | undefined;
  /** JMSXGroupSeq -1 closes the group after this message (ActiveMQ). */
  closesGroup: boolean;
  /** The protocols' encodings of this message, made on its first delivery (a copy gets its own). */
  cache: EncodingCache;
}

/** One copy of a message waiting in (or delivered from) one channel. */
export interface Entry {
  data: MessageData;
  /** True when the store holds this copy under the channel's target and must be told of its ack. */
  stored: boolean;
  redelivered: boolean;
  redeliveryCount: number;
}

export function clampPriority(priority: number | undefined): number {
  if (priority === undefined || !Number.isFinite(priority)) return DEFAULT_PRIORITY;
  return Math.min(9, Math.max(0, Math.trunc(priority)));
}

export function groupFields(headers: Record<string, string>): Pick<MessageData, 'groupId' | 'closesGroup'> {
  const groupId = headers['JMSXGroupID'];
  if (groupId === undefined || groupId === '') return { groupId: undefined, closesGroup: false };
  return { groupId, closesGroup: headers['JMSXGroupSeq'] === '-1' };
}

export function toStoredMessage(data: MessageData, targets: string[]): StoredMessage {
  const stored: StoredMessage = {
    seq: data.seq,
    id: data.id,
    destination: data.destination,
    headers: data.headers,
    body: data.body,
    priority: data.priority,
    expires: data.expires,
    timestamp: data.timestamp,
    targets,
  };
  if (data.producerId !== undefined) stored.producerId = data.producerId;
  if (data.producerSeq !== undefined) stored.producerSeq = data.producerSeq;
  return stored;
}

/** A message read back from the store is persistent by definition. */
export function fromStoredMessage(message: StoredMessage): MessageData {
  return {
    seq: message.seq,
    id: message.id,
    destination: message.destination,
    headers: message.headers,
    body: message.body,
    priority: clampPriority(message.priority),
    expires: message.expires,
    timestamp: message.timestamp,
    persistent: true,
    producerId: message.producerId,
    producerSeq: message.producerSeq,
    origin: undefined,
    ...groupFields(message.headers),
    cache: {},
  };
}

export function isExpired(data: MessageData, now: number): boolean {
  return data.expires > 0 && data.expires <= now;
}

/**
 * What a selector sees: the JMS header fields by their JMS names (the table in
 * docs/adr/0004-selectors.md), otherwise the application header of that name, as a string.
 */
export function selectorLookup(entry: Entry): PropertyLookup {
  const data = entry.data;
  return (name) => {
    switch (name) {
      case 'JMSPriority':
        return data.priority;
      case 'JMSTimestamp':
        return data.timestamp;
      case 'JMSMessageID':
        return data.id;
      case 'JMSCorrelationID':
        return data.headers['correlation-id'];
      case 'JMSType':
        return data.headers['type'];
      case 'JMSDeliveryMode':
        return data.persistent ? 'PERSISTENT' : 'NON_PERSISTENT';
      case 'JMSExpiration':
        return data.expires;
      case 'JMSRedelivered':
        return entry.redelivered;
      case 'JMSXDeliveryCount':
        return entry.redeliveryCount + 1;
      case 'JMSDestination':
        return data.destination;
      case 'JMSReplyTo':
        return data.headers['reply-to'];
      default:
        return data.headers[name];
    }
  };
}

export function toDelivery(entry: Entry, subscriptionId: string, ackId: string, destination: string): Delivery {
  const data = entry.data;
  return {
    subscriptionId,
    ackId,
    messageId: data.id,
    destination,
    headers: data.headers,
    body: data.body,
    persistent: data.persistent,
    priority: data.priority,
    expires: data.expires,
    timestamp: data.timestamp,
    redelivered: entry.redelivered,
    redeliveryCount: entry.redeliveryCount,
    cache: data.cache,
  };
}
