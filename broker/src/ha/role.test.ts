// The role machine: every move in the table and every move outside it, the order effects run in,
// and the log line each move writes.
import { expect } from 'chai';
import { BrokerError } from '../errors.js';
import { ROLES, RoleMachine, type RoleEffects } from './role.js';
import { captureLog } from '@tandem-mq/shared-store/testing';

/** The moves the issue describes, written out here rather than read from the table under test. */
const ALLOWED = new Set([
  'standby->activating',
  'standby->stopped',
  'activating->active',
  'activating->fenced',
  'activating->stopped',
  'active->fenced',
  'active->stopped',
  'fenced->standby',
  'fenced->stopped',
]);

const clock = { now: () => 1_700_000_000_000 };

describe('HA role machine', function () {
  it('starts in standby', function () {
    const machine = new RoleMachine({ logger: captureLog().logger, clock });
    expect(machine.role).to.equal('standby');
    expect(machine.last).to.equal(undefined);
    expect(machine.since).to.equal(clock.now());
  });

  for (const from of ROLES) {
    for (const to of ROLES) {
      const move = `${from}->${to}`;
      if (ALLOWED.has(move)) {
        it(`allows ${move}, logging ha.transition with the reason`, async function () {
          const log = captureLog();
          const machine = new RoleMachine({ logger: log.logger, clock, initial: from });
          expect(machine.can(to)).to.equal(true);
          await machine.transition(to, `because ${move}`);
          expect(machine.role).to.equal(to);
          expect(machine.last).to.deep.equal({ from, to, reason: `because ${move}`, at: clock.now() });
          expect(log.events('ha.transition')).to.have.length(1);
          expect(log.events('ha.transition')[0]).to.include({ from, to, reason: `because ${move}`, level: 30 });
        });
      } else {
        it(`refuses ${move} with TANDEM_ERR_ROLE_TRANSITION, changing nothing and running no effect`, function () {
          const log = captureLog();
          const ran: string[] = [];
          const record = (name: string) => () => void ran.push(name);
          const effects: RoleEffects = {
            leave: { [from]: record('leave') },
            arrive: { [to]: record('arrive') },
            settle: { [to]: async () => void ran.push('settle') },
          };
          const machine = new RoleMachine({ logger: log.logger, clock, initial: from, effects });
          expect(machine.can(to)).to.equal(false);
          let thrown: unknown;
          try {
            void machine.transition(to, 'not allowed');
          } catch (err) {
            thrown = err;
          }
          expect(thrown).to.be.instanceOf(BrokerError);
          expect(thrown).to.have.property('code', 'TANDEM_ERR_ROLE_TRANSITION');
          expect((thrown as Error).message).to.contain(`from ${from} to ${to}`);
          expect(machine.role).to.equal(from);
          expect(ran).to.deep.equal([]);
          expect(log.events('ha.transition')).to.deep.equal([]);
        });
      }
    }
  }

  it('makes stopped final: no move leaves it', function () {
    const machine = new RoleMachine({ logger: captureLog().logger, clock, initial: 'stopped' });
    expect(ROLES.filter((r) => machine.can(r))).to.deep.equal([]);
  });

  it('runs leave, then logs and tells listeners, then arrive before returning, then settle', async function () {
    const log = captureLog();
    const order: string[] = [];
    const machine = new RoleMachine({
      logger: log.logger,
      clock,
      effects: {
        leave: { standby: (t) => void order.push(`leave ${t.from} (role ${machine.role}, logged ${log.lines.length})`) },
        arrive: { activating: (t) => void order.push(`arrive ${t.to} (role ${machine.role})`) },
        settle: { activating: async (t) => void order.push(`settle ${t.to}`) },
      },
    });
    machine.onTransition((t) => order.push(`listener ${t.from}->${t.to} (logged ${log.events('ha.transition').length})`));
    const done = machine.transition('activating', 'lock acquired');
    expect(order).to.deep.equal([
      'leave standby (role standby, logged 0)',
      'listener standby->activating (logged 1)',
      'arrive activating (role activating)',
    ]);
    await done;
    expect(order.at(-1)).to.equal('settle activating');
  });

  it('runs settle effects one transition at a time, in order, while arrive effects run at once', async function () {
    const order: string[] = [];
    let finishActivation!: () => void;
    const machine = new RoleMachine({
      logger: captureLog().logger,
      clock,
      effects: {
        arrive: { fenced: () => void order.push('arrive fenced') },
        settle: {
          activating: () =>
            new Promise<void>((resolve) => {
              order.push('settle activating: started');
              finishActivation = () => {
                order.push('settle activating: done');
                resolve();
              };
            }),
          fenced: async () => void order.push('settle fenced'),
        },
      },
    });
    const activating = machine.transition('activating', 'lock acquired');
    await Promise.resolve();
    const fenced = machine.transition('fenced', 'lock lost');
    expect(machine.role).to.equal('fenced');
    expect(order).to.deep.equal(['settle activating: started', 'arrive fenced']);
    finishActivation();
    await Promise.all([activating, fenced]);
    expect(order).to.deep.equal(['settle activating: started', 'arrive fenced', 'settle activating: done', 'settle fenced']);
  });

  it('logs a failing synchronous effect and completes the move anyway', async function () {
    const log = captureLog();
    const machine = new RoleMachine({
      logger: log.logger,
      clock,
      initial: 'active',
      effects: {
        arrive: {
          fenced: () => {
            throw new Error('socket already gone');
          },
        },
      },
    });
    await machine.transition('fenced', 'lock lost');
    expect(machine.role).to.equal('fenced');
    expect(log.events('ha.effect-failed')[0]).to.include({ phase: 'arrive', from: 'active', to: 'fenced' });
  });

  it('rejects the move whose settle fails, logs it, and still runs later settles', async function () {
    const log = captureLog();
    const ran: string[] = [];
    const machine = new RoleMachine({
      logger: log.logger,
      clock,
      effects: {
        settle: {
          activating: async () => {
            throw new Error('journal corrupt');
          },
          stopped: async () => void ran.push('settle stopped'),
        },
      },
    });
    const activating = machine.transition('activating', 'lock acquired');
    const stopped = machine.transition('stopped', 'activation failed');
    let caught: unknown;
    await activating.catch((err: unknown) => (caught = err));
    expect((caught as Error).message).to.equal('journal corrupt');
    await stopped;
    expect(ran).to.deep.equal(['settle stopped']);
    expect(log.events('ha.effect-failed')[0]).to.include({ phase: 'settle', to: 'activating' });
  });
});
