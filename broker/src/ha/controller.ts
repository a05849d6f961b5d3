// Drives the HA role: contends for the data-directory lock as standby, activates (journal, then
// listeners) once it holds it, fences at once when it loses it, and stops in reverse order.
import type { Logger } from '@tandem-mq/shared-store';
import { BrokerError } from '../errors.js';
import type { HaEffects, HaLock, HaLockHolder, HaLockLoss } from './ha-lock.js';
import { RoleMachine, type Role, type RoleTransition } from './role.js';

export interface HaControllerOptions {
  lock: HaLock;
  effects: HaEffects;
  logger: Logger;
  clock?: { now(): number };
  /**
   * What a fenced broker does once it has dropped everything: `standby` contends for the lock
   * again (ActiveMQ's restartAllowed), `stop` ends the process's role for good.
   */
  afterFence?: 'standby' | 'stop';
}

export interface HaStatus {
  role: Role;
  /** Clock time the current role began. */
  since: number;
  /** Why the role is what it is. */
  reason: string;
  /** The epoch this broker holds or last held. */
  epoch?: number;
  lastLoss?: HaLockLoss;
}

export interface HaOutcome {
  reason: string;
  /** Set when the broker stopped because something failed (the lock, an activation step). */
  error?: unknown;
}

type OpenPart = 'lock' | 'journal' | 'listeners';

export class HaController {
  private readonly machine: RoleMachine;
  private readonly lock: HaLock;
  private readonly effects: HaEffects;
  private readonly logger: Logger;
  private readonly afterFence: 'standby' | 'stop';
  private started = false;
  private contention: AbortController | undefined;
  /** What is open right now, so fencing and stopping close exactly that. */
  private readonly open: Record<OpenPart, boolean> = { lock: false, journal: false, listeners: false };
  private epoch: number | undefined;
  private lastLoss: HaLockLoss | undefined;
  private failure: unknown;
  private resolveStopped!: (outcome: HaOutcome) => void;
  /** Settles once the broker has stopped and everything is closed and released. */
  readonly stopped: Promise<HaOutcome>;

  constructor(options: HaControllerOptions) {
    this.lock = options.lock;
    this.effects = options.effects;
    this.logger = options.logger;
    this.afterFence = options.afterFence ?? 'standby';
    this.stopped = new Promise((resolve) => (this.resolveStopped = resolve));
    this.machine = new RoleMachine({
      logger: options.logger,
      clock: options.clock ?? { now: () => Date.now() },
      effects: {
        leave: { standby: () => this.stopContending() },
        arrive: { fenced: () => this.fenceNow() },
        settle: {
          standby: async () => this.contend(),
          activating: async () => this.activate(),
          fenced: async () => this.closeAfterFence(),
          stopped: async (t) => this.closeAll(t),
        },
      },
    });
    this.lock.onLost((loss) => this.lost(loss));
  }

  get role(): Role {
    return this.machine.role;
  }

  /** Begins as standby, contending for the lock. Idempotent. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.logger.info({ event: 'ha.started', role: this.machine.role }, 'contending for the data-directory lock');
    this.contend();
  }

  /**
   * The graceful stop (SIGTERM): listeners, then the journal, then the lock, so in-flight commits
   * finish and the standby takes over as soon as the lock is released. Idempotent.
   */
  async stop(reason = 'stop requested'): Promise<HaOutcome> {
    await this.move('stopped', reason);
    return this.stopped;
  }

  status(): HaStatus {
    const status: HaStatus = {
      role: this.machine.role,
      since: this.machine.since,
      reason: this.machine.last?.reason ?? (this.started ? 'contending for the lock' : 'not started'),
    };
    if (this.epoch !== undefined) status.epoch = this.epoch;
    if (this.lastLoss !== undefined) status.lastLoss = this.lastLoss;
    return status;
  }

  /** The holder recorded beside the lock: for a standby, the active it waits behind. */
  currentHolder(): Promise<HaLockHolder | undefined> {
    return this.lock.inspect();
  }

  onTransition(listener: (t: RoleTransition) => void): void {
    this.machine.onTransition(listener);
  }

  /** Call before each write: throws TANDEM_ERR_FENCED unless this broker still holds the lock. */
  assertWritable(): void {
    if (!this.lock.isHeld()) throw this.fencedError('refusing to write');
  }

  /**
   * Call after a write is durable and before confirming it (the RECEIPT): throws TANDEM_ERR_FENCED
   * unless the lock is verifiably still ours, which means any later active recovers that write.
   */
  async confirmWrite(): Promise<void> {
    if (!(await this.lock.verify())) throw this.fencedError('cannot confirm the write');
  }

  private fencedError(what: string): BrokerError {
    return new BrokerError(
      'TANDEM_ERR_FENCED',
      `${what}: this broker no longer holds the data-directory lock (role ${this.machine.role}); reconnect to the active broker`,
    );
  }

  private contend(): void {
    const contention = new AbortController();
    this.contention = contention;
    this.lock.acquire(contention.signal).then(
      (acquired) => {
        if (this.contention === contention) this.contention = undefined;
        this.open.lock = true;
        if (this.machine.role !== 'standby' || contention.signal.aborted) {
          // Stopped while the lock was being taken: hand it straight back.
          this.open.lock = false;
          void this.lock.release();
          return;
        }
        this.epoch = acquired.epoch;
        void this.activation(`acquired the lock at epoch ${acquired.epoch} (${acquired.via})`);
      },
      (err: unknown) => {
        if (contention.signal.aborted) return;
        this.fail('the data-directory lock cannot be taken', err);
      },
    );
  }

  private stopContending(): void {
    this.contention?.abort(new Error('no longer standby'));
    this.contention = undefined;
  }

  private async activation(reason: string): Promise<void> {
    try {
      await this.machine.transition('activating', reason);
    } catch (err) {
      if (this.machine.role === 'activating') this.fail('activation failed', err);
      return;
    }
    await this.move('active', 'the journal is recovered and the listeners are open', 'activating');
  }

  /** Lock, then journal, then listeners; a loss or a stop on the way cuts it short. */
  private async activate(): Promise<void> {
    this.open.journal = true;
    await this.effects.openJournal(this.epoch!);
    if (this.machine.role !== 'activating') return;
    this.open.listeners = true;
    await this.effects.openListeners();
  }

  private lost(loss: HaLockLoss): void {
    if (loss.epoch !== this.epoch) return;
    this.open.lock = false;
    this.lastLoss = loss;
    const role = this.machine.role;
    if (role !== 'activating' && role !== 'active') {
      this.logger.warn({ event: 'ha.lock-lost', role, ...loss }, `lost the lock while ${role}; nothing to fence`);
      return;
    }
    void this.fence(loss);
  }

  private async fence(loss: HaLockLoss): Promise<void> {
    await this.move('fenced', `lost the lock (${loss.reason}): ${loss.detail}`);
    if (this.afterFence === 'stop') await this.move('stopped', 'fenced; contending again is turned off', 'fenced');
    else await this.move('standby', 'fenced; contending for the lock again', 'fenced');
  }

  /**
   * A move that may have been overtaken (a stop during activation, a loss during a stop): made
   * only if the role is still `from` (when given) and the table allows it. Settle failures are
   * already logged by the machine.
   */
  private async move(to: Role, reason: string, from?: Role): Promise<void> {
    if ((from !== undefined && this.machine.role !== from) || !this.machine.can(to)) return;
    await this.machine.transition(to, reason).catch(() => undefined);
  }

  /** Runs inside transition(): nothing may be written or confirmed from here on. */
  private fenceNow(): void {
    this.effects.fenceWrites();
    this.effects.dropConnections();
  }

  private async closeAfterFence(): Promise<void> {
    await this.closeEach([
      ['listeners', () => this.effects.closeListeners()],
      ['journal', () => this.effects.abandonJournal()],
    ]);
  }

  private async closeAll(t: RoleTransition): Promise<void> {
    await this.closeEach([
      ['listeners', () => this.effects.closeListeners()],
      ['journal', () => this.effects.closeJournal()],
      ['lock', () => this.lock.release()],
    ]);
    const outcome: HaOutcome = { reason: t.reason };
    if (this.failure !== undefined) outcome.error = this.failure;
    this.logger.info({ event: 'ha.stopped', reason: t.reason }, 'the HA role has stopped');
    this.resolveStopped(outcome);
  }

  /** Closes what is open in the order given; one failure does not keep the rest open. */
  private async closeEach(steps: Array<[OpenPart, () => Promise<void>]>): Promise<void> {
    for (const [part, close] of steps) {
      if (!this.open[part]) continue;
      this.open[part] = false;
      try {
        await close();
      } catch (err) {
        this.logger.error({ event: 'ha.close-failed', part, err }, `closing the ${part} failed`);
      }
    }
  }

  private fail(what: string, err: unknown): void {
    this.failure = err;
    this.logger.error({ event: 'ha.failed', err }, what);
    void this.move('stopped', `${what}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
