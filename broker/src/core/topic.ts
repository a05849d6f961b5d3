// Topics: every subscription has its own channel, and a send fans out to each channel whose pattern
// (exact or wildcard), selector and noLocal accept it. The index also keeps per-topic figures.
import { Channel } from './channel.js';
import type { CoreContext } from './context.js';
import type { Destination } from './destination.js';
import { selectorLookup, type Entry, type MessageData } from './message.js';
import type { Selector } from './selectors/index.js';
import type { DestinationKind } from './types.js';
import { compileTopicPattern, type TopicMatcher } from './wildcard.js';

/** Counts kept per topic name (a pattern counts as its own name). */
export interface TopicFigures {
  name: string;
  kind: DestinationKind;
  enqueued: number;
  dequeued: number;
}

export interface TopicChannelOptions {
  pattern: Destination;
  selector: Selector | undefined;
  noLocal: boolean;
  figures: TopicFigures;
  /** The durable subscription's store key; undefined for a non-durable subscription. */
  target: string | null;
}

/** A subscription's buffer on a topic. Durable subscriptions extend it with a store target. */
export class TopicChannel extends Channel {
  readonly pattern: Destination;
  readonly matcher: TopicMatcher | undefined;
  selector: Selector | undefined;
  noLocal: boolean;
  /** The connection of the active consumer, for noLocal. */
  localConnection: string | undefined;
  readonly figures: TopicFigures;

  constructor(ctx: CoreContext, options: TopicChannelOptions) {
    super(ctx, options.pattern.name, options.pattern.kind, options.target, false);
    this.pattern = options.pattern;
    this.matcher = options.pattern.wildcard ? compileTopicPattern(options.pattern.path) : undefined;
    this.selector = options.selector;
    this.noLocal = options.noLocal;
    this.figures = options.figures;
  }

  /** Wildcard subscribers must see which topic a message was sent to. */
  deliveryDestination(entry: Entry): string {
    return entry.data.destination;
  }

  /** Whether a message sent now belongs in this channel. */
  accepts(data: MessageData): boolean {
    if (this.closed) return false;
    if (this.noLocal && data.origin !== undefined && data.origin === this.localConnection) return false;
    if (this.selector === undefined) return true;
    return this.selector(selectorLookup({ data, stored: false, redelivered: false, redeliveryCount: 0 }));
  }

  protected override countDequeue(): void {
    super.countDequeue();
    this.figures.dequeued++;
  }
}

export class TopicIndex {
  /** Every channel by the canonical name of its pattern (sends never hold wildcards, so exact lookups only find exact subscribers). */
  private readonly byName = new Map<string, Set<TopicChannel>>();
  private readonly wildcards: TopicChannel[] = [];
  private readonly figuresByName = new Map<string, TopicFigures>();

  add(channel: TopicChannel): void {
    let set = this.byName.get(channel.name);
    if (set === undefined) this.byName.set(channel.name, (set = new Set()));
    set.add(channel);
    if (channel.matcher !== undefined) this.wildcards.push(channel);
  }

  remove(channel: TopicChannel): void {
    const set = this.byName.get(channel.name);
    if (set !== undefined) {
      set.delete(channel);
      if (set.size === 0) this.byName.delete(channel.name);
    }
    if (channel.matcher !== undefined) {
      const index = this.wildcards.indexOf(channel);
      if (index >= 0) this.wildcards.splice(index, 1);
    }
  }

  /** Channels whose pattern matches a topic a message is sent to. */
  match(destination: Destination): TopicChannel[] {
    const exact = this.byName.get(destination.name);
    const matched = exact === undefined ? [] : [...exact];
    for (const channel of this.wildcards) {
      if (channel.pattern.kind === destination.kind && channel.matcher!(destination.path)) matched.push(channel);
    }
    return matched;
  }

  figures(destination: Destination): TopicFigures {
    let figures = this.figuresByName.get(destination.name);
    if (figures === undefined) {
      figures = { name: destination.name, kind: destination.kind, enqueued: 0, dequeued: 0 };
      this.figuresByName.set(destination.name, figures);
    }
    return figures;
  }

  /** A temporary topic's figures go with it. */
  forget(name: string): void {
    this.figuresByName.delete(name);
  }

  allFigures(): Iterable<TopicFigures> {
    return this.figuresByName.values();
  }

  channelsNamed(name: string): Iterable<TopicChannel> {
    return this.byName.get(name) ?? [];
  }

  channels(): Iterable<TopicChannel> {
    const all: TopicChannel[] = [];
    for (const set of this.byName.values()) all.push(...set);
    return all;
  }
}
