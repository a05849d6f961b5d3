// The broker's HA role as an explicit state machine: one transition(to, reason) checks the table,
// runs the effects in a fixed order and logs every move, so the role can only change one way.
import type { Logger } from '@tandem-mq/shared-store';
import { BrokerError } from '../errors.js';

export type Role = 'standby' | 'activating' | 'active' | 'fenced' | 'stopped';

export const ROLES: readonly Role[] = ['standby', 'activating', 'active', 'fenced', 'stopped'];

/**
 * Every allowed move. standby waits for the lock; activating holds it and opens the journal then
 * the listeners; active serves; fenced lost the lock and has stopped writing; stopped is final.
 */
export const ROLE_TRANSITIONS: Readonly<Record<Role, readonly Role[]>> = {
  standby: ['activating', 'stopped'],
  activating: ['active', 'fenced', 'stopped'],
  active: ['fenced', 'stopped'],
  fenced: ['standby', 'stopped'],
  stopped: [],
};

export interface RoleTransition {
  from: Role;
  to: Role;
  reason: string;
  /** Clock time of the move. */
  at: number;
}

/**
 * What a move does, by role. Per transition the order is fixed:
 *   leave[from]  synchronous, before the role changes
 *   (the role changes; the `ha.transition` line is logged; listeners hear of it)
 *   arrive[to]   synchronous, before transition() returns: for what must not wait, like fencing
 *   settle[to]   asynchronous, queued: runs after every earlier transition's settle has finished
 * A synchronous effect that throws is logged and the move completes anyway (fencing must finish);
 * a settle that throws rejects that transition's promise and later settles still run.
 */
export interface RoleEffects {
  leave?: Partial<Record<Role, (t: RoleTransition) => void>>;
  arrive?: Partial<Record<Role, (t: RoleTransition) => void>>;
  settle?: Partial<Record<Role, (t: RoleTransition) => Promise<void>>>;
}

export interface RoleMachineOptions {
  logger: Logger;
  clock: { now(): number };
  effects?: RoleEffects;
  /** Where the machine starts; standby unless a test says otherwise. */
  initial?: Role;
}

export type TransitionListener = (t: RoleTransition) => void;

export class RoleMachine {
  private current: Role;
  private lastMove: RoleTransition | undefined;
  private readonly since0: number;
  private readonly listeners: TransitionListener[] = [];
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly options: RoleMachineOptions) {
    this.current = options.initial ?? 'standby';
    this.since0 = options.clock.now();
  }

  get role(): Role {
    return this.current;
  }

  /** The latest move, or undefined while still in the initial role. */
  get last(): RoleTransition | undefined {
    return this.lastMove;
  }

  /** When the current role began. */
  get since(): number {
    return this.lastMove?.at ?? this.since0;
  }

  can(to: Role): boolean {
    return ROLE_TRANSITIONS[this.current].includes(to);
  }

  onTransition(listener: TransitionListener): void {
    this.listeners.push(listener);
  }

  /**
   * Moves to `to`, or throws TANDEM_ERR_ROLE_TRANSITION (synchronously, changing nothing) when the
   * table has no such move. The role has changed by the time this returns; the promise settles
   * when this move's settle effect has run.
   */
  transition(to: Role, reason: string): Promise<void> {
    const from = this.current;
    if (!this.can(to)) {
      throw new BrokerError('TANDEM_ERR_ROLE_TRANSITION', `the HA role cannot move from ${from} to ${to} (${reason})`);
    }
    const t: RoleTransition = { from, to, reason, at: this.options.clock.now() };
    const { leave, arrive, settle } = this.options.effects ?? {};
    this.runNow(leave?.[from], t, 'leave');
    this.current = to;
    this.lastMove = t;
    this.options.logger.info({ event: 'ha.transition', from, to, reason }, `HA role ${from} -> ${to}: ${reason}`);
    for (const listener of this.listeners) this.runNow(listener, t, 'listener');
    this.runNow(arrive?.[to], t, 'arrive');

    const effect = settle?.[to];
    const run = this.queue.then(async () => {
      if (effect === undefined) return;
      try {
        await effect(t);
      } catch (err) {
        this.options.logger.error({ event: 'ha.effect-failed', phase: 'settle', from, to, err }, `settling the ${to} role failed`);
        throw err;
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Resolves once every queued settle effect has run. */
  settled(): Promise<void> {
    return this.queue;
  }

  private runNow(effect: ((t: RoleTransition) => void) | undefined, t: RoleTransition, phase: string): void {
    if (effect === undefined) return;
    try {
      effect(t);
    } catch (err) {
      this.options.logger.error({ event: 'ha.effect-failed', phase, from: t.from, to: t.to, err }, `an HA ${phase} effect failed`);
    }
  }
}
