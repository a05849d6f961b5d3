// The standby notice: said once when an acquisition has to wait behind another holder, never when
// the lock comes at once; and the lock of a broker without HA, always granted at epoch 0.
import { expect } from 'chai';
import { ScriptedLock } from './testing/scripted-lock.js';
import { UnsharedLock, WaitingNoticeLock } from './waiting-notice.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('waiting notice', function () {
  it('tells of a wait behind the recorded holder once, then passes the acquisition through', async function () {
    const inner = new ScriptedLock();
    const notices: unknown[] = [];
    const lock = new WaitingNoticeLock(inner, { onWaiting: (holder) => notices.push(holder), heldGraceMs: 5 });
    const acquiring = lock.acquire();
    await sleep(40);
    expect(notices).to.deep.equal([{ host: 'other-host', pid: 77, epoch: 0, acquiredAt: 1_700_000_000_000 }]);
    inner.grant();
    expect(await acquiring).to.include({ epoch: 1, via: 'free' });
    expect(lock.isHeld()).to.equal(true);
    await sleep(20);
    expect(notices).to.have.length(1);
  });

  it('says nothing when the lock comes within the grace', async function () {
    const inner = new ScriptedLock();
    const notices: unknown[] = [];
    const lock = new WaitingNoticeLock(inner, { onWaiting: (holder) => notices.push(holder), heldGraceMs: 30 });
    const acquiring = lock.acquire();
    await sleep(5);
    inner.grant('process-gone');
    await acquiring;
    await sleep(50);
    expect(notices).to.deep.equal([]);
  });

  it('without HA the lock is granted at once at epoch 0 and never lost', async function () {
    const lock = new UnsharedLock();
    expect(lock.isHeld()).to.equal(false);
    expect(await lock.acquire()).to.include({ epoch: 0, pid: process.pid, via: 'ha disabled' });
    expect(lock.isHeld()).to.equal(true);
    expect(await lock.verify()).to.equal(true);
    await lock.release();
    expect(lock.isHeld()).to.equal(false);
  });
});
