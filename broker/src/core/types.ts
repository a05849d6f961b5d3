// The messaging core's contract with the protocol layer. A protocol session (STOMP today, MQTT and
// OpenWire later) opens a CoreConnection and receives deliveries through its ConnectionSink; the
// core never sees frames or sockets.

/** Canonical destinations: "/queue/x", "/topic/x", "/temp-queue/x", "/temp-topic/x". */
export type DestinationKind = 'queue' | 'topic' | 'temp-queue' | 'temp-topic';

export type AckMode = 'auto' | 'client' | 'client-individual';

export interface SendRequest {
  destination: string;
  /** Application and standard headers (content-type, reply-to, correlation-id, JMSXGroupID, type, ...). Frame-level headers (receipt, transaction, content-length) are not included. */
  headers: Record<string, string>;
  body: Buffer;
  /** ActiveMQ `persistent:true`. */
  persistent: boolean;
  /** 0..9; default 4. */
  priority?: number;
  /** Epoch ms; 0 or absent for never. */
  expires?: number;
  /** For duplicate detection across failover (producer id and its sequence). */
  producerId?: string;
  producerSeq?: number;
}

export interface SubscribeRequest {
  /** The protocol's subscription id, unique within the connection. */
  id: string;
  destination: string;
  ack: AckMode;
  selector?: string;
  /** activemq.prefetchSize; how many unacknowledged messages may be outstanding. */
  prefetch?: number;
  /** activemq.subscriptionName: makes a topic subscription durable (with the connection's clientId). */
  durableName?: string;
  noLocal?: boolean;
}

/**
 * Scratch space shared by every delivery of one message, where a protocol may keep (under its own
 * key) the encoding of the part all deliveries have in common, so a fan-out encodes it once. Copies
 * of a message with other headers may share it, so a user checks that what it finds still fits.
 */
export type EncodingCache = { [protocol: string]: unknown };

/** What a consumer receives. `headers` and `body` are shared with other deliveries: read, never mutate. */
export interface Delivery {
  subscriptionId: string;
  /** Unique within the connection; the STOMP 1.2 `ack` header. */
  ackId: string;
  messageId: string;
  destination: string;
  headers: Record<string, string>;
  body: Buffer;
  persistent: boolean;
  priority: number;
  expires: number;
  timestamp: number;
  redelivered: boolean;
  redeliveryCount: number;
  /** Shared by the deliveries of this message; absent where nothing is shared. */
  cache?: EncodingCache;
}

/** Names the message an ACK or NACK is about, in whichever form the protocol version gives. */
export type AckRef = { ackId: string } | { messageId: string; subscriptionId?: string };

export interface AckOptions {
  /**
   * Default true: resolve once the acknowledgement is stored as the storage mode requires
   * (fdatasynced in durability mode). False when nobody waits on it (a STOMP ACK without a
   * receipt): resolve once it is written; it is durable after the store's next fdatasync, at most
   * 50 ms later, and survives the process being killed before that.
   */
  sync?: boolean;
}

export interface ConnectionInfo {
  /** CONNECT `client-id` (needed for durable subscriptions). */
  clientId?: string;
  login?: string;
  remoteAddress: string;
  protocol: string;
}

/** Implemented by the protocol session. */
export interface ConnectionSink {
  deliver(delivery: Delivery): void;
  /** False while the socket's buffer is full; the core stops dispatching until `drained()` is called. */
  isWritable(): boolean;
}

export interface CoreConnection {
  readonly id: string;
  /** Resolves once the message is stored as the storage mode requires (the moment to send a RECEIPT). */
  send(request: SendRequest, transactionId?: string): Promise<void>;
  subscribe(request: SubscribeRequest): Promise<void>;
  /**
   * `removeDurable` (UNSUBSCRIBE with activemq.subscriptionName) deletes the durable subscription.
   * With `durableName`, a durable subscription with no consumer on this connection is deleted by name.
   */
  unsubscribe(subscriptionId: string, removeDurable?: boolean, durableName?: string): Promise<void>;
  ack(ref: AckRef, transactionId?: string, options?: AckOptions): Promise<void>;
  nack(ref: AckRef, transactionId?: string): Promise<void>;
  begin(transactionId: string): void;
  commit(transactionId: string): Promise<void>;
  abort(transactionId: string): void;
  /**
   * Resolves once every acknowledgement this connection made is durable, including those made
   * with `{ sync: false }` (a DISCONNECT's RECEIPT waits for it). Immediate when there are none.
   */
  sync(): Promise<void>;
  /** The socket can take more. */
  drained(): void;
  /** Unacknowledged deliveries return to their destinations flagged redelivered; open transactions abort. */
  close(): void;
  /**
   * The broker-wide name of a destination as this connection uses it: "/temp-queue/x" becomes this
   * connection's "/temp-queue/<connection-id>-x" (created on first use). Sessions rewrite reply-to
   * headers with it so other connections can answer. Other names come back canonical.
   */
  resolveDestination?(destination: string): string;
}

export interface DestinationStats {
  destination: string;
  kind: DestinationKind;
  /** Messages waiting (queues) or pending for durable subscribers (topics). */
  depth: number;
  inFlight: number;
  consumers: number;
  enqueued: number;
  dequeued: number;
}

export interface BrokerCore {
  openConnection(info: ConnectionInfo, sink: ConnectionSink): CoreConnection;
  destinations(): DestinationStats[];
}
