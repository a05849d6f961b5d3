// The broker process's parts in order: the admin API first (it answers in every role), then the HA
// controller, which contends for the data-directory lock and, per activation, recovers the journal
// into a fresh core and opens the client listeners; stop() takes them down in reverse.
import {
  createLogger,
  FileDirectoryLock,
  nodeFileIO,
  openFileStore,
  type Logger,
  type MessageStore,
  type RecoveredState,
  type WarmJournal,
} from '@tandem-mq/shared-store';
import type { BrokerConfig } from './config/schema.js';
import { listenAdmin, type AdminSource } from './admin/server.js';
import { BrokerError } from './errors.js';
import { Activation, type ClientAddresses } from './ha/activation.js';
import { HaController, type HaOutcome, type HaStatus } from './ha/controller.js';
import { guardedFileIO, lockWriteGuard, type WriteGuard } from './ha/guarded-file-io.js';
import type { HaEffects, HaLock, HaLockHolder } from './ha/ha-lock.js';
import { UnsharedLock, WaitingNoticeLock } from './ha/waiting-notice.js';
import { RegionActivation } from './region/region-activation.js';
import { regionAdminSource } from './region/region-admin.js';
import type { Listener, ListeningAddress } from './transport/types.js';

export interface ListeningAddresses extends ClientAddresses {
  admin: ListeningAddress;
}

export interface BrokerDependencies {
  /** Default: createLogger at the configured level. */
  logger?: Logger;
  /**
   * Default: the file store on config.dataDir, its writes guarded by the lock. Tests may hand in a
   * memory store; `guard` throws TANDEM_ERR_FENCED once the lock is no longer held.
   */
  openStore?: (config: BrokerConfig, logger: Logger, guard: WriteGuard, epoch: number, warm?: WarmJournal) => Promise<{ store: MessageStore; recovered: RecoveredState }>;
  /** Default: the file lock on config.dataDir with config.ha's settings (none when ha.enabled is false). */
  lock?: HaLock;
}

/** What the broker turned out to be once it was up. */
export type BrokerReady =
  | { role: 'active'; addresses: ListeningAddresses }
  | { role: 'standby'; admin: ListeningAddress; holder?: HaLockHolder };

export interface Broker {
  /** Starts, and resolves once this broker is active with every address; rejects if it stops first. */
  start(): Promise<ListeningAddresses>;
  /** Starts, and resolves as soon as the broker is either active or waiting as standby. */
  ready(): Promise<BrokerReady>;
  /**
   * The graceful stop: listeners (in-flight commits finish), the journal, the lock, the admin API.
   * Idempotent.
   */
  stop(reason?: string): Promise<void>;
  status(): HaStatus;
  /** Every activation, with the addresses it listens on. */
  onActive(listener: (addresses: ListeningAddresses) => void): void;
  /** Every wait behind another holder of the lock. */
  onStandby(listener: (admin: ListeningAddress, holder: HaLockHolder | undefined) => void): void;
  /** Settles once the broker has stopped, by stop() or on its own (a failure, or fenced with afterFence stop). */
  readonly stopped: Promise<HaOutcome>;
}

export function createBroker(config: BrokerConfig, deps: BrokerDependencies = {}): Broker {
  const logger = deps.logger ?? createLogger({ level: config.log.level, name: 'tandem-broker' });
  const activeListeners: Array<(addresses: ListeningAddresses) => void> = [];
  const standbyListeners: Array<(admin: ListeningAddress, holder: HaLockHolder | undefined) => void> = [];
  const lock = new WaitingNoticeLock(deps.lock ?? defaultLock(config, logger), { onWaiting: (holder) => waiting(holder) });
  const guard = lockWriteGuard(lock);
  const openStore = deps.openStore ?? openDefaultStore;
  // With a replication section, each term runs in the region's role (docs/adr/0012).
  let activation: Activation | RegionActivation | undefined;
  let clientAddresses: ClientAddresses | undefined;
  let fenceReason = 'lost the data-directory lock';
  let admin: Listener | undefined;
  let booting: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;
  let resolveStopped!: (outcome: HaOutcome) => void;
  const stopped = new Promise<HaOutcome>((resolve) => (resolveStopped = resolve));

  const effects: HaEffects = {
    async openJournal(epoch) {
      const open = (e: number, warm?: WarmJournal): ReturnType<typeof openStore> => openStore(config, logger, guard, e, warm);
      activation =
        config.replication === undefined
          ? new Activation({ config, logger, epoch, openStore: open })
          : new RegionActivation({
              config,
              replication: config.replication,
              logger,
              epoch,
              openStore: open,
              isHeld: () => lock.isHeld(),
              io: guardedFileIO(nodeFileIO, guard),
            });
      await activation.openJournal();
    },
    async openListeners() {
      clientAddresses = await activation!.openListeners();
    },
    closeListeners: async () => activation?.closeListeners(),
    async closeJournal() {
      const ending = activation;
      activation = undefined;
      await ending?.closeJournal();
    },
    fenceWrites: () => activation?.fenceWrites(fenceReason),
    dropConnections: () => activation?.dropConnections(),
    async abandonJournal() {
      const ending = activation;
      activation = undefined;
      await ending?.abandonJournal();
    },
  };

  const controller = new HaController({ lock, effects, logger, afterFence: config.ha.afterFence });
  controller.onTransition((t) => {
    if (t.to === 'fenced') fenceReason = t.reason;
    // Logged on arrival rather than when the sockets open, so /health already says active.
    if (t.to === 'active' && clientAddresses !== undefined && admin !== undefined) {
      const addresses: ListeningAddresses = { ...clientAddresses, admin: admin.address };
      logger.info({ event: 'broker.listening', ...addresses, epoch: controller.status().epoch }, 'broker listening');
      for (const listener of activeListeners) listener(addresses);
    }
  });
  void controller.stopped.then(async (outcome) => {
    await admin?.close();
    admin = undefined;
    logger.info({ event: 'broker.stopped', reason: outcome.reason }, 'broker stopped');
    resolveStopped(outcome);
  });

  function waiting(holder: HaLockHolder | undefined): void {
    if (admin === undefined || controller.role !== 'standby') return;
    const held = holder === undefined ? 'another broker' : `${holder.host} pid ${holder.pid} (epoch ${holder.epoch})`;
    logger.info({ event: 'ha.standby', admin: admin.address, dataDir: config.dataDir, holder }, `standing by: the data directory is held by ${held}`);
    for (const listener of standbyListeners) listener(admin.address, holder);
  }

  const running = (): Activation['running'] => (controller.role === 'active' ? activation?.running : undefined);
  const adminSource: AdminSource = {
    ha: () => controller.status(),
    holder: () => (controller.role === 'active' ? Promise.resolve(lock.holder()) : lock.inspect()),
    destinations: () => running()?.core.destinations(),
    connections: () => running()?.registry.stats ?? { open: 0, accepted: 0, refused: 0 },
    store: () => running()?.store.stats(),
    counters: () => running()?.core.counters(),
    ...(config.replication === undefined
      ? {}
      : regionAdminSource({
          replication: config.replication,
          dataDir: config.dataDir,
          current: () => (activation instanceof RegionActivation ? activation : undefined),
          ha: () => controller.status(),
          holder: () => lock.inspect(),
        })),
  };

  async function boot(): Promise<void> {
    logger.info(
      { event: 'broker.starting', dataDir: config.dataDir, mode: config.mode, repair: config.repair, ha: config.ha.enabled },
      'starting the broker',
    );
    admin = await listenAdmin(config.admin, adminSource);
    controller.start();
  }

  function begin(): Promise<void> {
    booting ??= boot().catch(async (error: unknown) => {
      // Nothing but possibly the admin API opened; the stop below releases it.
      stopping ??= shutdown(`the broker could not start: ${(error as Error).message}`);
      await stopping;
      throw error;
    });
    return booting;
  }

  /**
   * Starts the broker and resolves with the first event `subscribe` reports; rejects if the start
   * fails or the broker stops first.
   */
  function first<T>(subscribe: (report: (value: T) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      subscribe(resolve);
      begin().then(
        () =>
          void stopped.then((outcome) =>
            // A no-op if an event came first: a promise settles once.
            reject(outcome.error ?? new BrokerError('TANDEM_ERR_NOT_ACTIVE', `the broker stopped before it was up: ${outcome.reason}`)),
          ),
        reject,
      );
    });
  }

  function stop(reason = 'stop requested'): Promise<void> {
    stopping ??= (async () => {
      if (booting !== undefined) await booting.catch(() => undefined);
      await shutdown(reason);
    })();
    return stopping;
  }

  async function shutdown(reason: string): Promise<void> {
    logger.info({ event: 'broker.stopping', reason }, 'stopping the broker');
    await controller.stop(reason);
    await stopped;
  }

  return {
    start: () =>
      first<ListeningAddresses>((settle) => {
        activeListeners.push(settle);
      }),
    ready: () =>
      first<BrokerReady>((settle) => {
        activeListeners.push((addresses) => settle({ role: 'active', addresses }));
        standbyListeners.push((adminAddress, holder) =>
          settle(holder === undefined ? { role: 'standby', admin: adminAddress } : { role: 'standby', admin: adminAddress, holder }),
        );
      }),
    stop,
    status: () => controller.status(),
    onActive: (listener) => void activeListeners.push(listener),
    onStandby: (listener) => void standbyListeners.push(listener),
    stopped,
  };

  async function openDefaultStore(
    c: BrokerConfig,
    log: Logger,
    writeGuard: WriteGuard,
    epoch: number,
    warm?: WarmJournal,
  ): Promise<{ store: MessageStore; recovered: RecoveredState }> {
    return openFileStore({
      ...(warm === undefined ? {} : { warm }),
      // Each acquisition of the lock seals the journal behind it (UnsharedLock's epoch 0 seals nothing).
      ...(c.ha.enabled ? { epoch } : {}),
      dir: c.dataDir,
      mode: c.mode,
      segmentSize: c.journal.segmentSize,
      syncIntervalMs: c.journal.syncIntervalMs,
      reclaimIntervalMs: c.journal.reclaimIntervalMs,
      repair: c.repair,
      logger: log,
      // Every change to the journal's files asks the lock first, and no batch is confirmed unless
      // the lease still held once it was written (and synced): a broker whose lease went stale
      // while a write was under way never sends that RECEIPT.
      fileIO: guardedFileIO(nodeFileIO, writeGuard),
      confirmWrites: writeGuard,
    });
  }
}

function defaultLock(config: BrokerConfig, logger: Logger): HaLock {
  if (!config.ha.enabled) return new UnsharedLock();
  const { leaseMs, renewIntervalMs, retryIntervalMs, pidCheck, safetyMarginMs } = config.ha;
  return new FileDirectoryLock({ dataDir: config.dataDir, logger, leaseMs, renewIntervalMs, retryIntervalMs, pidCheck, safetyMarginMs });
}
