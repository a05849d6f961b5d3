// The broker process's parts in order: the store (recovering the journal), the messaging core,
// the client listeners and the admin API; stop() takes them down in reverse.
import {
  createLogger,
  openFileStore,
  type Logger,
  type MessageStore,
  type RecoveredState,
} from '@tandem-mq/shared-store';
import { createBrokerCore, type RunningCore } from './core/index.js';
import type { BrokerConfig } from './config/schema.js';
import { listenAdmin } from './admin/server.js';
import { ConnectionRegistry } from './transport/connections.js';
import { listenTcp } from './transport/tcp.js';
import { listenTls } from './transport/tls.js';
import type { Listener, ListeningAddress } from './transport/types.js';
import { listenWs } from './transport/ws.js';

export interface ListeningAddresses {
  stomp: ListeningAddress;
  websocket?: ListeningAddress;
  tls?: ListeningAddress;
  admin: ListeningAddress;
}

export interface BrokerDependencies {
  /** Default: createLogger at the configured level. */
  logger?: Logger;
  /** Default: the file store on config.dataDir. Tests may hand in a memory store. */
  openStore?: (config: BrokerConfig, logger: Logger) => Promise<{ store: MessageStore; recovered: RecoveredState }>;
}

export interface Broker {
  /** Opens everything; resolves with every listener's address once all are up. */
  start(): Promise<ListeningAddresses>;
  /** Stops accepting, closes client connections, settles the core and closes the store. Idempotent. */
  stop(): Promise<void>;
}

/** Room for a WebSocket message holding several frames; the parser still enforces maxFrameSize. */
const WS_MESSAGE_SLACK = 1024 * 1024;

export function createBroker(config: BrokerConfig, deps: BrokerDependencies = {}): Broker {
  const logger = deps.logger ?? createLogger({ level: config.log.level, name: 'tandem-broker' });
  let store: MessageStore | undefined;
  let core: RunningCore | undefined;
  let connections: ConnectionRegistry | undefined;
  const listeners: Listener[] = [];
  let admin: Listener | undefined;
  let starting: Promise<ListeningAddresses> | undefined;
  let stopping: Promise<void> | undefined;

  async function start(): Promise<ListeningAddresses> {
    logger.info({ event: 'broker.starting', dataDir: config.dataDir, mode: config.mode, repair: config.repair }, 'starting the broker');
    const opened = await (deps.openStore ?? openDefaultStore)(config, logger);
    store = opened.store;
    for (const problem of opened.recovered.problems) {
      logger.warn({ event: 'journal.problem', ...problem }, `journal recovery ${problem.action} a damaged record`);
    }
    const openStore = store;
    core = createBrokerCore({
      store: openStore,
      recovered: opened.recovered,
      logger,
      redelivery: config.redelivery,
      deadLetter: {
        defaultQueue: config.deadLetter.queue,
        rules: config.deadLetter.rules,
        processExpired: config.deadLetter.processExpired,
      },
    });
    const registry = new ConnectionRegistry({
      core,
      logger,
      maxConnections: config.limits.maxConnections,
      limits: { maxFrameSize: config.limits.maxFrameSize, maxHeaders: config.limits.maxHeaders, maxHeaderLength: config.limits.maxHeaderLength },
      heartbeat: config.heartbeat,
    });
    connections = registry;

    const stomp = await listenTcp(config.stomp, registry.accept);
    listeners.push(stomp);
    const addresses: ListeningAddresses = { stomp: stomp.address, admin: { host: config.admin.host, port: 0 } };
    if (config.websocket.enabled) {
      const ws = await listenWs(config.websocket, registry.accept, { maxPayload: config.limits.maxFrameSize + WS_MESSAGE_SLACK });
      listeners.push(ws);
      addresses.websocket = ws.address;
    }
    if (config.tls !== undefined) {
      const tls = await listenTls(config.tls, registry.accept);
      listeners.push(tls);
      addresses.tls = tls.address;
    }
    const runningCore = core;
    admin = await listenAdmin(config.admin, {
      role: () => 'active',
      destinations: () => runningCore.destinations(),
      connections: () => registry.stats,
      store: () => openStore.stats(),
      counters: () => runningCore.counters(),
    });
    addresses.admin = admin.address;
    logger.info({ event: 'broker.listening', ...addresses }, 'broker listening');
    return addresses;
  }

  /** Closes whatever is open, in reverse order of start(). */
  async function teardown(): Promise<void> {
    logger.info({ event: 'broker.stopping' }, 'stopping the broker');
    // Stop accepting first, so no client arrives while the others are being closed.
    const closingListeners = listeners.splice(0).map((l) => l.close());
    await connections?.closeAll();
    await Promise.all(closingListeners);
    await core?.close();
    core = undefined;
    // Flushes pending group commits and records a clean shutdown.
    if (store !== undefined && store.state !== 'closed') {
      await store.close().catch((error: unknown) => logger.error({ event: 'journal.close_failed', err: error }, 'closing the journal failed'));
    }
    store = undefined;
    await admin?.close();
    admin = undefined;
    logger.info({ event: 'broker.stopped' }, 'broker stopped');
  }

  return {
    start() {
      if (starting !== undefined) return starting;
      starting = start().catch(async (error: unknown) => {
        // Undo whatever did open, so a failed start leaves no port or journal behind.
        await teardown().catch((cleanup: unknown) => logger.warn({ event: 'broker.cleanup_failed', err: cleanup }, 'cleanup after a failed start failed'));
        throw error;
      });
      return starting;
    },
    stop() {
      stopping ??= (async () => {
        if (starting !== undefined) await starting.catch(() => undefined);
        await teardown();
      })();
      return stopping;
    },
  };

  async function openDefaultStore(c: BrokerConfig, log: Logger): Promise<{ store: MessageStore; recovered: RecoveredState }> {
    return openFileStore({
      dir: c.dataDir,
      mode: c.mode,
      segmentSize: c.journal.segmentSize,
      syncIntervalMs: c.journal.syncIntervalMs,
      reclaimIntervalMs: c.journal.reclaimIntervalMs,
      repair: c.repair,
      logger: log,
    });
  }
}
