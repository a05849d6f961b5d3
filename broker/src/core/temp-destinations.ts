// Temporary destinations: owned by the connection that first uses them, under a broker-wide name
// (/temp-queue/<connection-id>-x) that reply-to headers carry; never stored, gone with the owner.
import { canonicalName, isTemporary, parseDestination, type Destination } from './destination.js';
import type { DestinationRegistry } from './registry.js';

/** Connection ids look like "<8 hex>-<n>"; a temporary name that starts with one is broker-wide. */
const SCOPED_NAME = /^[0-9a-f]{8}-\d+-/;

export class TempScope {
  /** Name as the owner wrote it -> broker-wide name. */
  private readonly mapping = new Map<string, string>();

  constructor(
    private readonly connectionId: string,
    private readonly registry: DestinationRegistry,
  ) {}

  get mappings(): ReadonlyMap<string, string> {
    return this.mapping;
  }

  /**
   * The broker-wide destination for a name this connection uses. For a send, null means a
   * temporary destination whose owner has gone: the message has nowhere to go and is dropped.
   */
  resolve(destination: Destination, forSend: boolean): Destination | null {
    if (!isTemporary(destination.kind)) return destination;
    const mapped = this.mapping.get(destination.name);
    if (mapped !== undefined) return parseDestination(mapped);
    if (this.registry.tempOwners.has(destination.name)) return destination;
    if (forSend && SCOPED_NAME.test(destination.path)) return null;
    const scoped = parseDestination(canonicalName(destination.kind, `${this.connectionId}-${destination.path}`));
    this.mapping.set(destination.name, scoped.name);
    this.registry.tempOwners.set(scoped.name, this.connectionId);
    return scoped;
  }

  /** Deletes every temporary destination this connection created. */
  release(): void {
    for (const name of this.mapping.values()) this.registry.deleteTemporary(name);
    this.mapping.clear();
  }
}
