// Virtual topics (ActiveMQ): a send to /topic/VirtualTopic.X also lands in every existing queue
// named /queue/Consumer.<name>.VirtualTopic.X, so each consumer group gets queue semantics.
import { canonicalName } from './destination.js';

const TOPIC_PREFIX = 'VirtualTopic.';
const CONSUMER_QUEUE = /^Consumer\.[^.]+\.(VirtualTopic\..+)$/;

export function isVirtualTopic(path: string): boolean {
  return path.startsWith(TOPIC_PREFIX) && path.length > TOPIC_PREFIX.length;
}

/** For a consumer queue's path, the canonical virtual topic that feeds it. */
export function virtualTopicFeeding(queuePath: string): string | undefined {
  const match = CONSUMER_QUEUE.exec(queuePath);
  return match === null ? undefined : canonicalName('topic', match[1]!);
}
