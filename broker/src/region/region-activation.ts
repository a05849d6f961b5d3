// One term as the active broker of a region's pair, in the region's role: as primary it recovers
// the store, serves clients and ships its journal; as replica it opens no store, receives the
// primary's journal into the data directory and refuses clients with an ERROR naming the primary.
// It changes role in place on a promotion (this side) or when the counterpart says it replaced
// this region (the other side); every change runs one at a time. The HA controller drives it
// exactly as it drives a plain Activation.
import { nodeFileIO, WarmJournal, type FileIO, type Logger } from '@tandem-mq/shared-store';
import {
  Cursor,
  formatPosition,
  quarantineTail,
  refuseLink,
  type LinkServer,
  type Promotion,
  type ReplicationReceiver,
  type ReplicationSender,
} from '@tandem-mq/replicator';
import type { ReplicationConfig } from '../config/replication.js';
import type { BrokerConfig } from '../config/schema.js';
import { Activation, type ClientAddresses, type OpenStore } from '../ha/activation.js';
import type { Listener, ListeningAddress } from '../transport/types.js';
import { makeReceiver, makeSender, openLinkServer, primaryRefusal, probe } from './region-parts.js';
import { openRefusingListeners, refusingAcceptor } from './refusing-listeners.js';
import { historyEntry, initialRegionState, RegionStateFile, type RegionState } from './region-state.js';

/** How long a graceful stop waits for the replica to hold the journal's last bytes. */
const FINAL_SHIP_MS = 3000;

export interface RegionAddresses extends ClientAddresses {
  replication?: ListeningAddress;
}

/** Where the region stands in this term; the admin API shows it as `state`. */
export type RegionPhase = 'starting' | 'primary' | 'replica' | 'draining' | 'drained' | 'promoting' | 'rejoining' | 'replaced' | 'ended';

export interface RegionActivationOptions {
  config: BrokerConfig;
  replication: ReplicationConfig;
  logger: Logger;
  epoch: number;
  openStore: OpenStore;
  /** The data-directory lock, asked before every replica ack. */
  isHeld: () => boolean;
  /** Writes in the data directory (lock-guarded by the broker). */
  io?: FileIO;
  /** Told after every role change, with the listeners' addresses. */
  onRoleChange?: (phase: RegionPhase, addresses: RegionAddresses | undefined) => void;
}

export class RegionActivation {
  readonly epoch: number;
  readonly refusals = { refused: 0 };
  state: RegionState | undefined;
  phase: RegionPhase = 'starting';
  lastProblem: { code: string; message: string } | undefined;
  primary: Activation | undefined;
  sender: ReplicationSender | undefined;
  receiver: ReplicationReceiver | undefined;
  private readonly io: FileIO;
  private readonly logger: Logger;
  private readonly file: RegionStateFile;
  /** As replica: the journal's state replayed as it arrives, so a promotion opens the store quickly. */
  private warm: WarmJournal | undefined;
  private linkServer: LinkServer | undefined;
  private refusing: Listener[] = [];
  private addresses: RegionAddresses | undefined;
  private ending = false;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(readonly options: RegionActivationOptions) {
    this.epoch = options.epoch;
    this.io = options.io ?? nodeFileIO;
    this.logger = options.logger;
    this.file = new RegionStateFile(options.config.dataDir, this.io);
  }

  get running(): Activation['running'] {
    return this.phase === 'primary' ? this.primary?.running : undefined;
  }

  get dataDir(): string {
    return this.options.config.dataDir;
  }

  get region(): ReplicationConfig {
    return this.options.replication;
  }

  // ------------------------------------------------------------------ the HA controller's effects

  /** Reads the region's role; a primary first asks the counterpart whether it was replaced. */
  async openJournal(): Promise<void> {
    let state = await this.file.read();
    if (state === undefined) {
      state = initialRegionState(this.region);
      await this.file.write(state);
      this.logger.info({ event: 'region.initialised', region: state.region, role: state.role }, `region ${state.region} starts as ${state.role}`);
    }
    this.state = state;
    if (state.rejoinAt !== undefined) await this.finishRejoin();
    if (this.state.role === 'primary') {
      const answer = await probe(this.region, this.state);
      this.logger.info({ event: 'region.probed', answer }, `the counterpart answered: ${answer.kind}`);
      if (answer.kind === 'replaced') {
        if (answer.promotion === undefined) return this.markReplaced(`region ${answer.region} is primary at generation ${answer.generation} and did not say how`);
        await this.rejoin(answer.promotion);
      }
    }
    if (this.state.role === 'primary') {
      this.primary = this.newPrimary();
      await this.primary.openJournal();
    } else {
      await this.openReceiver();
    }
  }

  /** The replication endpoint, then the client listeners (serving or refusing), then shipping. */
  async openListeners(): Promise<RegionAddresses> {
    this.linkServer = await openLinkServer(this.region, (ws, peer) => this.onLink(ws, peer));
    const replication = { host: this.linkServer.address!.address, port: this.linkServer.address!.port };
    const client = this.primary !== undefined ? await this.primary.openListeners() : await this.openRefusing();
    this.addresses = { ...client, replication };
    if (this.primary !== undefined) {
      await this.startSender();
      this.phase = 'primary';
    } else if (this.phase !== 'replaced') {
      this.phase = 'replica';
    }
    return this.addresses;
  }

  /**
   * Stops accepting clients and links; a primary's sessions finish their work. The sender goes on
   * until the journal is closed, so a graceful stop ships its last bytes.
   */
  async closeListeners(): Promise<void> {
    this.ending = true;
    await this.linkServer?.close();
    this.linkServer = undefined;
    await this.chain;
    await this.primary?.closeListeners();
    await this.closeRefusing();
  }

  async closeJournal(): Promise<void> {
    await this.chain;
    await this.primary?.closeJournal();
    this.primary = undefined;
    if (this.sender !== undefined) {
      const shipped = this.sender.linked && (await this.sender.flush(FINAL_SHIP_MS));
      this.logger.info({ event: 'replication.final-ship', shipped }, shipped ? 'the replica holds the whole journal' : 'stopping without shipping the last bytes: no link');
      await this.sender.stop();
      this.sender = undefined;
    }
    await this.receiver?.stop();
    this.receiver = undefined;
    this.phase = 'ended';
  }

  fenceWrites(reason: string): void {
    this.ending = true;
    this.primary?.fenceWrites(reason);
    void this.sender?.stop();
  }

  dropConnections(): void {
    this.primary?.dropConnections();
  }

  async abandonJournal(): Promise<void> {
    await this.linkServer?.close();
    this.linkServer = undefined;
    await this.chain;
    await this.primary?.abandonJournal();
    this.primary = undefined;
    await this.receiver?.stop();
    this.receiver = undefined;
    await this.closeRefusing();
    this.phase = 'ended';
  }

  // ------------------------------------------------------------------ role changes

  /** Runs role changes one at a time; a change that finds the term ending does nothing. */
  serial<T>(change: () => Promise<T>): Promise<T> {
    const run = this.chain.then(change);
    this.chain = run.catch(() => undefined);
    return run;
  }

  get isEnding(): boolean {
    return this.ending;
  }

  /**
   * This side becomes primary: region.json first (a crash after it comes back as primary), then
   * the sender (if any) hears `promoted`, the receiver stops, and the store and listeners open.
   */
  async becomePrimary(promotion: Promotion): Promise<void> {
    const state = this.state!;
    this.state = { ...state, role: 'primary', generation: promotion.generation, history: [...state.history, historyEntry(promotion)] };
    await this.file.write(this.state);
    this.receiver?.sendPromoted(promotion);
    await this.receiver?.stop();
    this.receiver = undefined;
    await this.closeRefusing();
    if (this.ending) return;
    const warm = this.warm;
    this.warm = undefined;
    this.primary = this.newPrimary(warm);
    await this.primary.openJournal();
    const client = await this.primary.openListeners();
    this.addresses = { ...client, ...(this.addresses?.replication === undefined ? {} : { replication: this.addresses.replication }) };
    await this.startSender();
    this.phase = 'primary';
    this.logger.warn(
      {
        event: 'region.promoted',
        region: this.region.region,
        generation: promotion.generation,
        mode: promotion.mode,
        endOfPrevious: formatPosition(promotion.endOfPrevious),
        ...this.addresses,
      },
      `region ${this.region.region} is primary at generation ${promotion.generation} (${promotion.mode})`,
    );
    this.options.onRoleChange?.('primary', this.addresses);
  }

  /** Stops serving as primary: clients first (in-flight commits finish), then a clean close. */
  async stopServing(clean: boolean, reason: string): Promise<void> {
    const primary = this.primary;
    this.primary = undefined;
    if (primary === undefined) return;
    if (clean) {
      await primary.closeListeners();
      await primary.closeJournal();
    } else {
      primary.fenceWrites(reason);
      primary.dropConnections();
      await primary.closeListeners();
      await primary.abandonJournal();
    }
  }

  /** Serves as primary again after an abandoned switchover. */
  async resumeServing(): Promise<void> {
    if (this.ending || this.primary !== undefined) return;
    this.primary = this.newPrimary();
    await this.primary.openJournal();
    const client = await this.primary.openListeners();
    this.addresses = { ...client, ...(this.addresses?.replication === undefined ? {} : { replication: this.addresses.replication }) };
    this.phase = 'primary';
    this.logger.warn({ event: 'region.resumed', region: this.region.region }, 'the switchover was abandoned: serving as primary again');
    this.options.onRoleChange?.('primary', this.addresses);
  }

  /**
   * This region was replaced: it moves its unreplicated tail to quarantine, becomes the new
   * primary's replica at its generation, and receives from it.
   */
  async becomeReplica(promotion: Promotion | undefined, reason: string): Promise<void> {
    this.phase = 'rejoining';
    await this.sender?.stop();
    this.sender = undefined;
    await this.stopServing(false, reason);
    if (promotion === undefined) {
      await this.markReplaced(reason);
      if (this.addresses !== undefined) await this.openRefusing();
      return;
    }
    await this.rejoin(promotion);
    if (this.ending) return;
    await this.openReceiver();
    if (this.addresses !== undefined) this.addresses = { ...this.addresses, ...(await this.openRefusing()) };
    this.phase = 'replica';
    this.logger.warn({ event: 'region.rejoined', region: this.region.region, generation: promotion.generation, ...this.addresses }, `region ${this.region.region} is a replica at generation ${promotion.generation}`);
    this.options.onRoleChange?.('replica', this.addresses);
  }

  // ------------------------------------------------------------------ parts

  private newPrimary(warm?: WarmJournal): Activation {
    const { config, logger, epoch, openStore } = this.options;
    return new Activation({ config, logger, epoch, openStore: (e) => openStore(e, warm) });
  }

  private async startSender(): Promise<void> {
    const sender = await makeSender(this.region, this.dataDir, this.state!.generation, this.logger, {
      onDrain: () => this.serial(async () => this.onDrain()),
      onDrainAbandoned: () => void this.serial(async () => this.resumeServing()).catch((e: unknown) => this.failed('resuming after an abandoned switchover', e)),
      onReplaced: (promotion) =>
        void this.serial(async () => this.becomeReplica(promotion, `region ${promotion?.promotedRegion ?? this.region.counterpart.region} replaced this one`)).catch((e: unknown) =>
          this.failed('rejoining as a replica', e),
        ),
    });
    this.sender = sender;
    if (this.ending) return;
    sender.start();
  }

  private async onDrain(): Promise<void> {
    this.phase = 'draining';
    this.logger.warn({ event: 'region.draining', region: this.region.region }, 'switchover: this primary stops taking client traffic and drains');
    await this.stopServing(true, 'switchover');
    this.phase = 'drained';
  }

  private async openReceiver(): Promise<void> {
    const receiver = makeReceiver(this.region, this.dataDir, this.state!, {
      io: this.io,
      logger: this.logger,
      mayConfirm: () => this.options.isHeld() && !this.ending,
      onDurable: (applied) => {
        for (const m of applied) {
          if (m.type === 'batch') this.warm?.feed(m.position, m.bytes);
          else this.warm?.deleted(m.below);
        }
      },
    });
    await receiver.open();
    this.receiver = receiver;
    // Before any link is taken: the files end at the receiver's durable position.
    this.warm = await WarmJournal.load({ dir: this.dataDir, position: receiver.durable, io: this.io, logger: this.logger });
    this.logger.info(
      { event: 'region.replica-state', records: this.warm.records, current: this.warm.current, ...(this.warm.stale === undefined ? {} : { reason: this.warm.stale }) },
      this.warm.current ? `replayed ${this.warm.records} journal records; kept current as the primary's journal arrives` : 'the journal state is not kept current; a promotion recovers it in full',
    );
  }

  private async openRefusing(): Promise<ClientAddresses> {
    await this.closeRefusing();
    const counterpart = this.region.counterpart;
    const message = (): string =>
      this.phase === 'replaced'
        ? `this broker's region ${this.region.region} was replaced by a promotion and is not serving; connect to ${counterpart.clients.join(', ')}`
        : `this broker is a replica of region ${counterpart.region}; connect to ${counterpart.clients.join(', ')}`;
    const { listeners, addresses } = await openRefusingListeners(this.options.config, refusingAcceptor({ message }, this.logger, this.refusals));
    this.refusing = listeners;
    return addresses;
  }

  private async closeRefusing(): Promise<void> {
    const listeners = this.refusing.splice(0);
    await Promise.all(listeners.map((l) => l.close()));
  }

  /** The replication endpoint: a replica's receiver takes links, anyone else refuses them. */
  private onLink(ws: Parameters<typeof refuseLink>[0], peer: string): void {
    if (this.receiver !== undefined && this.phase === 'replica') return this.receiver.accept(ws, peer);
    refuseLink(ws, peer, { token: this.region.token, logger: this.logger, refusal: (hello) => primaryRefusal(this.region, this.state!, hello) });
  }

  /** Records the new role first (with where to cut), then cuts: a crash in between finishes on restart. */
  private async rejoin(promotion: Promotion): Promise<void> {
    const state = this.state!;
    const known = state.history.some((e) => e.generation === promotion.generation);
    this.state = {
      ...state,
      role: 'replica',
      generation: Math.max(state.generation, promotion.generation),
      history: known ? state.history : [...state.history, historyEntry(promotion)],
      rejoinAt: promotion.endOfPrevious,
    };
    await this.file.write(this.state);
    await this.finishRejoin();
  }

  private async finishRejoin(): Promise<void> {
    const state = this.state!;
    const at = state.rejoinAt!;
    await quarantineTail(this.dataDir, at, { io: this.io, logger: this.logger, generation: state.generation });
    await new Cursor(this.dataDir, this.io).write(at);
    const { rejoinAt: _done, ...rest } = state;
    this.state = rest;
    await this.file.write(this.state);
  }

  private async markReplaced(reason: string): Promise<void> {
    this.phase = 'replaced';
    this.lastProblem = { code: 'TANDEM_ERR_REPLICATION_STALE_PRIMARY', message: reason };
    this.logger.error({ event: 'region.replaced', reason }, `${reason}; not serving until an operator acts`);
  }

  private failed(what: string, error: unknown): void {
    this.lastProblem = { code: (error as { code?: string }).code ?? 'TANDEM_ERR_INTERNAL', message: `${what}: ${(error as Error).message}` };
    this.logger.error({ event: 'region.change-failed', err: error }, `${what} failed: ${(error as Error).message}`);
  }
}
