// One term as the active broker: the store recovered from disk, a messaging core built on it, and
// the client listeners, all made fresh for the epoch and never reused after it ends, whether it
// ends by a graceful stop (close) or by losing the lock (fence, drop, abandon).
import type { Logger, MessageStore, RecoveredState, WarmJournal } from '@tandem-mq/shared-store';
import { createBrokerCore, type RunningCore } from '../core/index.js';
import type { BrokerConfig } from '../config/schema.js';
import { ConnectionRegistry } from '../transport/connections.js';
import { listenTcp } from '../transport/tcp.js';
import { listenTls } from '../transport/tls.js';
import type { Listener, ListeningAddress } from '../transport/types.js';
import { listenWs } from '../transport/ws.js';
import { ConnectionGate } from './connection-gate.js';

/** Room for a WebSocket message holding several frames; the parser still enforces maxFrameSize. */
const WS_MESSAGE_SLACK = 1024 * 1024;

export interface ClientAddresses {
  stomp: ListeningAddress;
  websocket?: ListeningAddress;
  tls?: ListeningAddress;
}

/** Opens the store for `epoch`, the lock's: the journal seals what the epochs before it wrote. */
export type OpenStore = (epoch: number, warm?: WarmJournal) => Promise<{ store: MessageStore; recovered: RecoveredState }>;

export interface ActivationOptions {
  config: BrokerConfig;
  logger: Logger;
  epoch: number;
  openStore: OpenStore;
}

export class Activation {
  readonly epoch: number;
  private store: MessageStore | undefined;
  private storeOpening: Promise<unknown> | undefined;
  private core: RunningCore | undefined;
  private registry: ConnectionRegistry | undefined;
  private gate: ConnectionGate | undefined;
  private readonly listeners: Listener[] = [];
  private fenced: string | undefined;

  constructor(private readonly options: ActivationOptions) {
    this.epoch = options.epoch;
  }

  /** The running core, for the admin API; undefined until the journal is recovered. */
  get running(): { core: RunningCore; registry: ConnectionRegistry; store: MessageStore } | undefined {
    if (this.core === undefined || this.registry === undefined || this.store === undefined) return undefined;
    return { core: this.core, registry: this.registry, store: this.store };
  }

  /** Recovers the journal and builds the core on what it recovered. */
  async openJournal(): Promise<void> {
    const { config, logger } = this.options;
    const opening = this.options.openStore(this.epoch);
    this.storeOpening = opening.catch(() => undefined);
    const opened = await opening;
    this.store = opened.store;
    if (this.fenced !== undefined) opened.store.fence(this.fenced);
    for (const problem of opened.recovered.problems) {
      logger.warn({ event: 'journal.problem', ...problem }, `journal recovery ${problem.action} a damaged record`);
    }
    this.core = createBrokerCore({
      store: opened.store,
      recovered: opened.recovered,
      logger,
      redelivery: config.redelivery,
      deadLetter: { defaultQueue: config.deadLetter.queue, rules: config.deadLetter.rules, processExpired: config.deadLetter.processExpired },
    });
    this.registry = new ConnectionRegistry({
      core: this.core,
      logger,
      maxConnections: config.limits.maxConnections,
      limits: { maxFrameSize: config.limits.maxFrameSize, maxHeaders: config.limits.maxHeaders, maxHeaderLength: config.limits.maxHeaderLength },
      heartbeat: config.heartbeat,
    });
    this.gate = new ConnectionGate(this.registry.accept);
  }

  /** Opens STOMP over TCP, then WebSocket and TLS when configured; each one closes with closeListeners(). */
  async openListeners(): Promise<ClientAddresses> {
    const { config } = this.options;
    const accept = this.gate!.accept;
    const stomp = await listenTcp(config.stomp, accept);
    this.listeners.push(stomp);
    const addresses: ClientAddresses = { stomp: stomp.address };
    if (config.websocket.enabled) {
      const ws = await listenWs(config.websocket, accept, { maxPayload: config.limits.maxFrameSize + WS_MESSAGE_SLACK });
      this.listeners.push(ws);
      addresses.websocket = ws.address;
    }
    if (config.tls !== undefined) {
      const tls = await listenTls(config.tls, accept);
      this.listeners.push(tls);
      addresses.tls = tls.address;
    }
    return addresses;
  }

  /**
   * Stops accepting, then lets every session finish the work it has handed to the core (so each
   * RECEIPT earned goes out) and close; resolves once every connection is gone.
   */
  async closeListeners(): Promise<void> {
    const closing = this.listeners.splice(0).map((l) => l.close());
    await this.registry?.closeAll();
    await Promise.all(closing);
  }

  /** Stops the core, then flushes the journal and closes it cleanly (a clean-shutdown record). */
  async closeJournal(): Promise<void> {
    await this.storeOpening;
    await this.core?.close();
    this.core = undefined;
    const store = this.store;
    this.store = undefined;
    if (store !== undefined && store.state !== 'closed') await store.close();
  }

  /** Fencing, synchronous: the store refuses every waiting and later write, so nothing more is confirmed. */
  fenceWrites(reason: string): void {
    this.fenced ??= reason;
    this.store?.fence(reason);
  }

  /** Fencing, synchronous: every client is cut off at once. */
  dropConnections(): void {
    this.gate?.dropAll();
  }

  /**
   * After fencing: stops the core and closes the journal's files. The store is fenced, so closing
   * writes nothing (no flush, no clean-shutdown record).
   */
  async abandonJournal(): Promise<void> {
    await this.storeOpening;
    this.fenceWrites(this.fenced ?? 'abandoned');
    await this.core?.close();
    this.core = undefined;
    const store = this.store;
    this.store = undefined;
    if (store !== undefined && store.state !== 'closed') await store.close().catch(() => undefined);
  }
}
