// The HA controller over a scripted lock: activation order, graceful stop in reverse, fencing at
// once on a loss, what happens when a stop or a loss overtakes an activation, and the write guard.
import { expect } from 'chai';
import { BrokerError } from '../errors.js';
import { HaController, type HaControllerOptions } from './controller.js';
import type { HaEffects } from './ha-lock.js';
import { captureLog, type CapturedLog } from '@tandem-mq/shared-store/testing';
import { ScriptedLock } from './testing/scripted-lock.js';

/** Lets queued promise work run to completion. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Effects that write each call into `calls`; openJournal can be held open by a test. */
function recordingEffects(calls: string[]): HaEffects & { holdJournal(): () => void; failJournal(err: Error): void } {
  let gate: Promise<void> | undefined;
  let failure: Error | undefined;
  return {
    async openJournal(epoch) {
      calls.push(`journal.open:${epoch}`);
      if (gate !== undefined) await gate;
      if (failure !== undefined) throw failure;
    },
    openListeners: async () => void calls.push('listeners.open'),
    closeListeners: async () => void calls.push('listeners.close'),
    closeJournal: async () => void calls.push('journal.close'),
    fenceWrites: () => void calls.push('writes.fence'),
    dropConnections: () => void calls.push('connections.drop'),
    abandonJournal: async () => void calls.push('journal.abandon'),
    holdJournal() {
      let open!: () => void;
      gate = new Promise((resolve) => (open = resolve));
      return () => {
        gate = undefined;
        open();
      };
    },
    failJournal(err) {
      failure = err;
    },
  };
}

describe('HA controller', function () {
  let calls: string[];
  let lock: ScriptedLock;
  let effects: ReturnType<typeof recordingEffects>;
  let log: CapturedLog;
  let time: number;
  let controllers: HaController[];

  beforeEach(function () {
    calls = [];
    lock = new ScriptedLock(calls);
    effects = recordingEffects(calls);
    log = captureLog();
    time = 1_700_000_000_000;
    controllers = [];
  });
  afterEach(async function () {
    for (const c of controllers) await c.stop('test over');
  });

  function controller(options: Partial<HaControllerOptions> = {}): HaController {
    const c = new HaController({ lock, effects, logger: log.logger, clock: { now: () => time }, ...options });
    controllers.push(c);
    return c;
  }

  async function activeController(options: Partial<HaControllerOptions> = {}): Promise<HaController> {
    const c = controller(options);
    c.start();
    lock.grant();
    await settle();
    expect(c.role).to.equal('active');
    return c;
  }

  const moves = (): string[] => log.events('ha.transition').map((l) => `${String(l['from'])}->${String(l['to'])}`);

  it('waits as standby with nothing open while another broker holds the lock', async function () {
    const c = controller();
    c.start();
    await settle();
    expect(c.role).to.equal('standby');
    expect(lock.contending).to.equal(true);
    expect(calls).to.deep.equal(['lock.acquire']);
    expect(c.status()).to.deep.equal({ role: 'standby', since: time, reason: 'contending for the lock' });
    expect(await c.currentHolder()).to.include({ host: 'other-host', pid: 77 });
  });

  it('activates in order: lock, then the journal at the new epoch, then the listeners', async function () {
    const c = await activeController();
    expect(calls).to.deep.equal(['lock.acquire', 'journal.open:1', 'listeners.open']);
    expect(moves()).to.deep.equal(['standby->activating', 'activating->active']);
    expect(log.events('ha.transition')[0]!['reason']).to.equal('acquired the lock at epoch 1 (free)');
    expect(c.status()).to.include({ role: 'active', epoch: 1 });
  });

  it('stops gracefully in reverse: listeners, then the journal, then the lock', async function () {
    const c = await activeController();
    calls.length = 0;
    const outcome = await c.stop('SIGTERM');
    expect(calls).to.deep.equal(['listeners.close', 'journal.close', 'lock.release']);
    expect(c.role).to.equal('stopped');
    expect(outcome).to.deep.equal({ reason: 'SIGTERM' });
    expect(log.events('ha.transition').at(-1)).to.include({ from: 'active', to: 'stopped', reason: 'SIGTERM' });
    expect(await c.stop('again')).to.deep.equal({ reason: 'SIGTERM' });
  });

  it('stops a standby by abandoning the contention, opening and releasing nothing', async function () {
    const c = controller();
    c.start();
    await settle();
    await c.stop('SIGTERM');
    expect(calls).to.deep.equal(['lock.acquire', 'lock.acquire-aborted']);
    expect(c.role).to.equal('stopped');
  });

  it('fences at once on a loss: writes refused and connections dropped before anything else, no lock release', async function () {
    const c = await activeController();
    calls.length = 0;
    let atFence: string[] | undefined;
    c.onTransition((t) => {
      if (t.to === 'fenced') queueMicrotask(() => (atFence = [...calls]));
    });
    lock.lose('lease-expired', 'the lease was last renewed 1800 ms ago');
    await settle();
    expect(atFence).to.deep.equal(['writes.fence', 'connections.drop']);
    expect(calls.slice(0, 4)).to.deep.equal(['writes.fence', 'connections.drop', 'listeners.close', 'journal.abandon']);
    expect(calls).to.not.include('journal.close');
    expect(calls).to.not.include('lock.release');
    expect(log.events('ha.transition').find((l) => l['to'] === 'fenced')).to.include({
      from: 'active',
      reason: 'lost the lock (lease-expired): the lease was last renewed 1800 ms ago',
    });
    expect(c.status().lastLoss).to.deep.equal({ reason: 'lease-expired', detail: 'the lease was last renewed 1800 ms ago', epoch: 1 });
  });

  it('goes back to standby after fencing by default, and activates again at the next epoch', async function () {
    const c = await activeController();
    lock.lose();
    await settle();
    expect(c.role).to.equal('standby');
    expect(lock.contending).to.equal(true);
    calls.length = 0;
    lock.grant('stale');
    await settle();
    expect(c.role).to.equal('active');
    expect(calls).to.deep.equal(['journal.open:2', 'listeners.open']);
    expect(moves()).to.deep.equal([
      'standby->activating',
      'activating->active',
      'active->fenced',
      'fenced->standby',
      'standby->activating',
      'activating->active',
    ]);
  });

  it('stops after fencing when afterFence is stop', async function () {
    const c = await activeController({ afterFence: 'stop' });
    lock.lose();
    const outcome = await c.stopped;
    expect(c.role).to.equal('stopped');
    expect(outcome.reason).to.equal('fenced; contending again is turned off');
    expect(lock.contending).to.equal(false);
    expect(calls).to.not.include('lock.release');
  });

  it('a loss during activation fences at once and never opens the listeners', async function () {
    const c = controller();
    const openJournal = effects.holdJournal();
    c.start();
    lock.grant();
    await settle();
    expect(c.role).to.equal('activating');
    lock.lose();
    await settle();
    expect(c.role).to.equal('fenced');
    expect(calls).to.deep.equal(['lock.acquire', 'journal.open:1', 'writes.fence', 'connections.drop']);
    openJournal();
    await settle();
    expect(calls.slice(4)).to.deep.equal(['journal.abandon', 'lock.acquire']);
    expect(moves()).to.not.include('activating->active');
  });

  it('a stop during activation waits for the journal, then closes it and releases the lock, never going active', async function () {
    const c = controller();
    const openJournal = effects.holdJournal();
    c.start();
    lock.grant();
    await settle();
    const stopping = c.stop('SIGTERM');
    expect(c.role).to.equal('stopped');
    openJournal();
    await stopping;
    expect(calls).to.deep.equal(['lock.acquire', 'journal.open:1', 'journal.close', 'lock.release']);
    expect(moves()).to.deep.equal(['standby->activating', 'activating->stopped']);
  });

  it('a failed activation stops the broker, closing the journal and releasing the lock, and reports the error', async function () {
    const c = controller();
    effects.failJournal(new Error('corrupt record in segment 3'));
    c.start();
    lock.grant();
    const outcome = await c.stopped;
    expect(c.role).to.equal('stopped');
    expect((outcome.error as Error).message).to.equal('corrupt record in segment 3');
    expect(outcome.reason).to.equal('activation failed: corrupt record in segment 3');
    expect(calls).to.deep.equal(['lock.acquire', 'journal.open:1', 'journal.close', 'lock.release']);
    expect(log.events('ha.effect-failed')).to.have.length(1);
  });

  it('a lock that cannot be taken at all stops the broker with the error', async function () {
    const c = controller();
    c.start();
    lock.refuse(new Error('EACCES: the data directory is read-only'));
    const outcome = await c.stopped;
    expect(outcome.reason).to.equal('the data-directory lock cannot be taken: EACCES: the data directory is read-only');
    expect(calls).to.deep.equal(['lock.acquire']);
  });

  it('ignores, with a log line, a loss reported while not serving', async function () {
    const c = await activeController();
    await c.stop('SIGTERM');
    lock.held = true; // a late loss report for the epoch we just gave up
    lock.lose();
    await settle();
    expect(c.role).to.equal('stopped');
    expect(log.events('ha.lock-lost')[0]).to.include({ role: 'stopped', epoch: 1 });
    expect(calls).to.not.include('writes.fence');
  });

  it('guards writes: allowed while the lock holds, TANDEM_ERR_FENCED once it does not', async function () {
    const c = await activeController();
    expect(() => c.assertWritable()).to.not.throw();
    await c.confirmWrite();
    lock.verifies = false;
    const refused = await c.confirmWrite().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refused).to.be.instanceOf(BrokerError);
    expect(refused).to.have.property('code', 'TANDEM_ERR_FENCED');
    expect(refused).to.have.property('httpStatus', 503);
    lock.lose();
    expect(() => c.assertWritable()).to.throw(BrokerError, /no longer holds the data-directory lock/);
  });

  it('reports since and reason from the latest move', async function () {
    const c = controller();
    c.start();
    time += 5000;
    lock.grant();
    await settle();
    expect(c.status()).to.deep.equal({
      role: 'active',
      since: time,
      reason: 'the journal is recovered and the listeners are open',
      epoch: 1,
    });
  });
});
