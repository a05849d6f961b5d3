// The send path: number the message, choose its destinations, store the persistent part, then make
// it visible. Nothing reaches a consumer before the store confirms it, so a crash cannot take it back.
import type { CoreContext } from './context.js';
import { isTopicKind, type Destination } from './destination.js';
import { clampPriority, groupFields, toStoredMessage, type MessageData } from './message.js';
import type { Queue } from './queue.js';
import type { DestinationRegistry } from './registry.js';
import type { TopicChannel, TopicFigures } from './topic.js';
import type { SendRequest } from './types.js';
import { isVirtualTopic } from './virtual-topic.js';

const noop = (): void => undefined;

/** A send with its message built and its destinations chosen, not yet stored or visible. */
export interface PreparedSend {
  data: MessageData;
  queues: Queue[];
  channels: TopicChannel[];
  /** Store targets of the persistent copies (queues and durable keys); empty when nothing is stored. */
  targets: string[];
  figures: TopicFigures | undefined;
}

export class Router {
  /** The highest sequence seen per producer id, for dropping copies a failover resent. */
  private readonly producerSeqs: Map<string, number>;

  constructor(
    private readonly ctx: CoreContext,
    private readonly registry: DestinationRegistry,
    private readonly messageIdPrefix: string,
    recoveredProducerSeqs: Map<string, number>,
  ) {
    this.producerSeqs = new Map(recoveredProducerSeqs);
  }

  send(origin: string, destination: Destination, request: SendRequest): Promise<void> {
    if (this.isDuplicate(request)) return Promise.resolve();
    const prepared = this.prepare(origin, destination, request);
    if (prepared.targets.length === 0) {
      this.publish(prepared);
      return Promise.resolve();
    }
    this.preMark(prepared);
    const stored = this.ctx.store.addMessage(toStoredMessage(prepared.data, prepared.targets));
    // Published from a callback of the store's own promise, registered before the caller's: the
    // message is visible before the caller hears it is stored, and the caller (a session owing a
    // RECEIPT) runs before the dispatch that publishing schedules, so a producer waiting on its
    // receipt is not kept behind the encoding of the deliveries.
    stored.then(() => this.publishStored(prepared), noop);
    return stored;
  }

  private publishStored(prepared: PreparedSend): void {
    try {
      this.publish(prepared);
    } catch (error) {
      this.ctx.logger.error({ event: 'core.publish-failed', err: error, destination: prepared.data.destination }, 'a stored message could not be published');
    }
  }

  /** Records the producer's sequence; true (and counted) when it is a copy of one seen already. */
  isDuplicate(request: SendRequest): boolean {
    const { producerId, producerSeq } = request;
    if (producerId === undefined || producerSeq === undefined) return false;
    const last = this.producerSeqs.get(producerId);
    if (last !== undefined && producerSeq <= last) {
      this.ctx.counters.duplicatesDropped++;
      return true;
    }
    this.producerSeqs.set(producerId, producerSeq);
    return false;
  }

  prepare(origin: string, destination: Destination, request: SendRequest): PreparedSend {
    const seq = this.ctx.nextSeq();
    const headers = request.headers;
    const data: MessageData = {
      seq,
      id: this.messageIdPrefix + seq,
      destination: destination.name,
      headers,
      body: request.body,
      priority: clampPriority(request.priority),
      expires: request.expires !== undefined && request.expires > 0 ? request.expires : 0,
      timestamp: this.ctx.now(),
      persistent: request.persistent,
      producerId: request.producerId,
      producerSeq: request.producerSeq,
      origin,
      ...groupFields(headers),
      cache: {},
    };
    const persistent = request.persistent;
    if (!isTopicKind(destination.kind)) {
      const queue = this.registry.queue(destination);
      const targets = persistent && queue.target !== null ? [queue.target] : [];
      return { data, queues: [queue], channels: [], targets, figures: undefined };
    }
    const targets: string[] = [];
    const channels = this.registry.topics.match(destination).filter((channel) => channel.accepts(data));
    if (persistent) {
      for (const channel of channels) if (channel.target !== null) targets.push(channel.target);
    }
    const queues: Queue[] = [];
    if (destination.kind === 'topic' && isVirtualTopic(destination.path)) {
      for (const queue of this.registry.consumerQueuesOf(destination.name)) {
        queues.push(queue);
        if (persistent && queue.target !== null) targets.push(queue.target);
      }
    }
    return { data, queues, channels, targets, figures: this.registry.topics.figures(destination) };
  }

  /**
   * Marks the message dispatched for each stored copy whose destination has a consumer now. Asked
   * for just before the store call, the mark rides the same batch and is settled when the message
   * is, so its delivery need not wait for a commit of its own. The promise can be dropped: a
   * failure shows as the store call's failure.
   */
  preMark(prepared: PreparedSend): void {
    const seq = prepared.data.seq;
    const store = this.ctx.store;
    for (const queue of prepared.queues) {
      if (queue.target !== null && queue.consumers.length > 0) store.markDispatched(queue.target, seq);
    }
    for (const channel of prepared.channels) {
      if (channel.target !== null && channel.consumers.length > 0) store.markDispatched(channel.target, seq);
    }
  }

  /** Makes a stored (or never-stored) message visible to its destinations. */
  publish(prepared: PreparedSend): void {
    const { data } = prepared;
    const persistent = data.persistent;
    for (const queue of prepared.queues) {
      queue.enqueue({ data, stored: persistent && queue.target !== null, redelivered: false, redeliveryCount: 0 });
    }
    for (const channel of prepared.channels) {
      channel.enqueue({ data, stored: persistent && channel.target !== null, redelivered: false, redeliveryCount: 0 });
    }
    if (prepared.figures !== undefined) prepared.figures.enqueued++;
    this.ctx.counters.enqueued++;
  }
}
