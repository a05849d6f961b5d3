// Which endpoint to try next. One pass tries every endpoint once: priority endpoints first when
// priorityBackup is on, shuffled when randomize is on, and the endpoint whose connection was just lost last (as
// ActiveMQ's FailoverTransport orders its connect list).
import type { Endpoint } from './uri.js';

export interface PoolOptions {
  randomize: boolean;
  priorityBackup: boolean;
  /** Normalised URIs; empty means the first endpoint of the list is the priority one. */
  priorityURIs: readonly string[];
}

export class EndpointPool {
  private lastFailed: string | undefined;

  constructor(
    readonly endpoints: readonly Endpoint[],
    private readonly options: PoolOptions,
    private readonly random: () => number = Math.random,
  ) {
    if (endpoints.length === 0) throw new Error('an endpoint pool needs at least one endpoint');
  }

  /** The order for the next pass over the list. */
  nextPass(): Endpoint[] {
    let order = [...this.endpoints];
    if (this.options.randomize) order = this.shuffle(order);
    if (this.options.priorityBackup) {
      const priority = order.filter((e) => this.isPriority(e));
      order = [...priority, ...order.filter((e) => !this.isPriority(e))];
    }
    const failedAt = order.findIndex((e) => e.uri === this.lastFailed);
    if (failedAt !== -1 && order.length > 1) order.push(...order.splice(failedAt, 1));
    return order;
  }

  /** Priority endpoints, in list order (used to probe for a priority endpoint coming back). */
  priorityEndpoints(): Endpoint[] {
    return this.options.priorityBackup ? this.endpoints.filter((e) => this.isPriority(e)) : [];
  }

  isPriority(endpoint: Endpoint): boolean {
    if (!this.options.priorityBackup) return false;
    const uris = this.options.priorityURIs;
    return uris.length === 0 ? endpoint.uri === this.endpoints[0]!.uri : uris.includes(endpoint.uri);
  }

  /** The connection on this endpoint was lost: try it last in the next pass. */
  lost(endpoint: Endpoint): void {
    this.lastFailed = endpoint.uri;
  }

  connected(endpoint: Endpoint): void {
    if (this.lastFailed === endpoint.uri) this.lastFailed = undefined;
  }

  /** Fisher-Yates with the injected random source, so tests can seed it. */
  private shuffle(list: Endpoint[]): Endpoint[] {
    for (let i = list.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [list[i], list[j]] = [list[j]!, list[i]!];
    }
    return list;
  }
}
