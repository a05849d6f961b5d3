// Every destination the core knows: queues by name, the topic index, durable subscriptions by key,
// the virtual-topic consumer queues, and which connection owns each temporary destination.
import type { Channel } from './channel.js';
import type { CoreContext } from './context.js';
import { type Destination } from './destination.js';
import type { DurableSubscription } from './durable.js';
import { Queue } from './queue.js';
import { TopicIndex } from './topic.js';
import { virtualTopicFeeding } from './virtual-topic.js';

export class DestinationRegistry {
  readonly queues = new Map<string, Queue>();
  readonly topics = new TopicIndex();
  readonly durables = new Map<string, DurableSubscription>();
  /** Canonical temporary destination name -> id of the connection that owns it. */
  readonly tempOwners = new Map<string, string>();
  /** Canonical virtual topic -> the consumer queues it feeds. */
  private readonly virtualQueues = new Map<string, Set<Queue>>();
  private ctx: CoreContext | undefined;

  /** The context and the registry refer to each other; the context is attached once built. */
  attach(ctx: CoreContext): void {
    this.ctx = ctx;
  }

  /** The queue of that destination, created (and wired to its virtual topic) on first use. */
  queue(destination: Destination): Queue {
    let queue = this.queues.get(destination.name);
    if (queue !== undefined) return queue;
    queue = new Queue(this.ctx!, destination);
    this.queues.set(destination.name, queue);
    if (destination.kind === 'queue') {
      const topic = virtualTopicFeeding(destination.path);
      if (topic !== undefined) {
        let set = this.virtualQueues.get(topic);
        if (set === undefined) this.virtualQueues.set(topic, (set = new Set()));
        set.add(queue);
      }
    }
    return queue;
  }

  consumerQueuesOf(topicName: string): Iterable<Queue> {
    return this.virtualQueues.get(topicName) ?? [];
  }

  /** Drops a temporary destination and everything waiting in it. */
  deleteTemporary(name: string): void {
    this.tempOwners.delete(name);
    const queue = this.queues.get(name);
    if (queue !== undefined) {
      this.queues.delete(name);
      queue.close();
    }
    this.topics.forget(name);
  }

  /** Every channel, for the expiry sweep. */
  *channels(): Iterable<Channel> {
    yield* this.queues.values();
    yield* this.topics.channels();
  }
}
