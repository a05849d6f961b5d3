// Figures for the admin API and metrics: one row per queue and per topic.
import type { Channel } from './channel.js';
import type { DestinationRegistry } from './registry.js';
import type { DestinationStats } from './types.js';

export function destinationStats(registry: DestinationRegistry): DestinationStats[] {
  const rows: DestinationStats[] = [];
  for (const queue of registry.queues.values()) {
    rows.push({
      destination: queue.name,
      kind: queue.kind,
      depth: queue.depth,
      inFlight: queue.inFlight,
      consumers: queue.consumers.length,
      enqueued: queue.enqueued,
      dequeued: queue.dequeued,
    });
  }
  // A topic row sums the subscriptions made on that name (a wildcard pattern is its own row).
  for (const figures of registry.topics.allFigures()) {
    let depth = 0;
    let inFlight = 0;
    let consumers = 0;
    for (const channel of registry.topics.channelsNamed(figures.name) as Iterable<Channel>) {
      depth += channel.depth;
      inFlight += channel.inFlight;
      consumers += channel.consumers.length;
    }
    rows.push({ destination: figures.name, kind: figures.kind, depth, inFlight, consumers, enqueued: figures.enqueued, dequeued: figures.dequeued });
  }
  rows.sort((a, b) => (a.destination < b.destination ? -1 : a.destination > b.destination ? 1 : 0));
  return rows;
}
