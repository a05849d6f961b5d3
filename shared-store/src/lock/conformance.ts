// The conformance suite every DirectoryLock runs: mocha tests declared against a harness that can
// make contenders, crash, pause and stall them, tamper with the lock and let time pass. It uses
// node:assert so that importing the package never pulls in a test library.
import assert from 'node:assert/strict';
import type { Acquisition, DirectoryLock, LockLoss, LockSettings } from './directory-lock.js';

export interface LockHarness {
  /** A lock on the harness's one directory, as a new broker process would make it. */
  create(settings: Partial<LockSettings>): DirectoryLock;
  /** The process behind `lock` dies (kill -9): nothing released, no more renewals, its pid gone. */
  crash(lock: DirectoryLock): void;
  /** The process behind `lock` stops (SIGSTOP) ... */
  pause(lock: DirectoryLock): void;
  /** ... and continues (SIGCONT). */
  resume(lock: DirectoryLock): void;
  /** The process runs but its lease renewals hang (a stuck disk). */
  stallRenewals(lock: DirectoryLock): void;
  /** An operator deletes the lock, leaving the holder record. */
  removeLock(): Promise<void>;
  /** A record naming another holder replaces the current one; the lock itself is untouched. */
  overwriteRecord(): Promise<void>;
  /** Lets `ms` of the locks' time pass: a real wait, or a moved clock. */
  elapse(ms: number): Promise<void>;
  /** Releases and stops everything the harness made. */
  cleanup(): Promise<void>;
}

export type LockHarnessFactory = () => LockHarness | Promise<LockHarness>;

/** proper-lockfile's shortest lease, polled often so the suite runs quickly. */
export const CONFORMANCE_SETTINGS: Partial<LockSettings> = {
  leaseMs: 2000,
  renewIntervalMs: 1000,
  retryIntervalMs: 50,
  safetyMarginMs: 250,
};

interface Attempt {
  done: boolean;
  result?: Acquisition;
  error?: unknown;
  controller: AbortController;
  settled: Promise<void>;
}

export function runLockConformance(name: string, factory: LockHarnessFactory): void {
  describe(`DirectoryLock conformance: ${name}`, function () {
    this.timeout(20_000);
    let h: LockHarness;
    let attempts: Attempt[];

    beforeEach(async function () {
      h = await factory();
      attempts = [];
    });
    afterEach(async function () {
      for (const a of attempts) a.controller.abort(new Error('test over'));
      await Promise.all(attempts.map((a) => a.settled));
      await h.cleanup();
    });

    const lock = (settings: Partial<LockSettings> = {}): DirectoryLock => h.create({ ...CONFORMANCE_SETTINGS, ...settings });

    /** Starts acquire() in the background; the test watches `done`. */
    function contend(l: DirectoryLock): Attempt {
      const controller = new AbortController();
      const attempt = { done: false, controller } as Attempt;
      attempt.settled = l.acquire(controller.signal).then(
        (result) => {
          attempt.result = result;
          attempt.done = true;
        },
        (error: unknown) => {
          attempt.error = error;
          attempt.done = true;
        },
      );
      attempts.push(attempt);
      return attempt;
    }

    async function until(condition: () => boolean, what: string, limitMs = 10_000): Promise<void> {
      for (let waited = 0; !condition(); waited += 25) {
        if (waited > limitMs) assert.fail(`${what}: not reached within ${limitMs} ms`);
        await h.elapse(25);
      }
    }

    function losses(l: DirectoryLock): LockLoss[] {
      const seen: LockLoss[] = [];
      l.onLost((loss) => seen.push(loss));
      return seen;
    }

    it('acquires a free directory at epoch 1 and reports the holder to others', async function () {
      const a = lock();
      const got = await a.acquire();
      assert.equal(got.via, 'free');
      assert.equal(got.epoch, 1);
      assert.equal(got.previous, undefined);
      assert.equal(a.isHeld(), true);
      assert.equal(await a.verify(), true);
      assert.deepEqual(a.holder(), { host: got.host, pid: got.pid, epoch: 1, acquiredAt: got.acquiredAt });
      const b = lock();
      assert.deepEqual(await b.inspect(), a.holder());
      assert.equal(b.holder(), undefined);
      assert.equal(b.isHeld(), false);
      assert.equal(await b.verify(), false);
    });

    it('counts the epoch up by one on every acquisition, across instances', async function () {
      const a = lock();
      const first = await a.acquire();
      assert.equal(first.epoch, 1);
      await a.release();
      assert.equal((await a.acquire()).epoch, 2);
      await a.release();
      const b = lock();
      const got = await b.acquire();
      assert.equal(got.epoch, 3);
      assert.equal(got.previous?.epoch, 2);
      assert.equal(got.previous?.pid, first.pid);
      assert.notEqual(got.pid, first.pid);
    });

    it('lets exactly one of two simultaneous contenders hold, the other after release', async function () {
      const [a, b] = [lock(), lock()];
      const [ta, tb] = [contend(a), contend(b)];
      await until(() => ta.done || tb.done, 'one contender holds');
      await h.elapse(200);
      assert.equal(Number(ta.done) + Number(tb.done), 1, 'exactly one holds');
      const [winner, loser, waiting] = ta.done ? [a, b, tb] : [b, a, ta];
      assert.equal(loser.isHeld(), false);
      await winner.release();
      await until(() => waiting.done, 'the other contender holds after release');
      assert.equal(waiting.result?.epoch, 2);
      assert.equal(waiting.result?.via, 'free');
      assert.equal(await loser.verify(), true);
    });

    it('keeps a contender out for as long as the holder renews its lease', async function () {
      const a = lock();
      await a.acquire();
      const lost = losses(a);
      const tb = contend(lock());
      await h.elapse(3000); // one and a half leases: an unrenewed lease would have gone stale
      assert.equal(tb.done, false);
      assert.equal(a.isHeld(), true);
      assert.equal(await a.verify(), true);
      assert.deepEqual(lost, []);
    });

    it('stops trying when the signal aborts, rejecting with its reason', async function () {
      const a = lock();
      await a.acquire();
      const b = lock();
      const tb = contend(b);
      await h.elapse(200);
      const reason = new Error('shutting down');
      tb.controller.abort(reason);
      await tb.settled;
      assert.equal(tb.error, reason);
      assert.equal(b.holder(), undefined);
      const already = new AbortController();
      already.abort(new Error('before the start'));
      await assert.rejects(b.acquire(already.signal), /before the start/);
      assert.equal(await a.verify(), true);
    });

    it('release frees the lock at once, is idempotent, and never fires onLost', async function () {
      const a = lock();
      await a.acquire();
      const lost = losses(a);
      const tb = contend(lock());
      await h.elapse(100);
      await a.release();
      await a.release();
      assert.equal(a.isHeld(), false);
      assert.equal(await a.verify(), false);
      assert.equal(a.holder(), undefined);
      await until(() => tb.done, 'the contender holds');
      assert.equal(tb.result?.via, 'free');
      assert.equal(tb.result?.epoch, 2);
      await h.elapse(1500);
      assert.deepEqual(lost, []);
    });

    it('pid check on: breaks the lock of a crashed holder on this host without waiting out the lease', async function () {
      const a = lock();
      const first = await a.acquire();
      const tb = contend(lock({ pidCheck: true }));
      await h.elapse(100);
      assert.equal(tb.done, false, 'a live holder is not broken');
      h.crash(a);
      await until(() => tb.done, 'the contender takes over');
      assert.equal(tb.result?.via, 'process-gone');
      assert.equal(tb.result?.epoch, 2);
      assert.equal(tb.result?.previous?.pid, first.pid);
    });

    it('pid check off: waits for the crashed holder\'s lease to go stale, then takes over', async function () {
      const a = lock();
      await a.acquire();
      const tb = contend(lock({ pidCheck: false }));
      h.crash(a);
      // The last renewal was at most one interval before the crash, so half an interval is safe.
      await h.elapse(500);
      assert.equal(tb.done, false, 'the lease still protects the crashed holder');
      await until(() => tb.done, 'the contender takes over');
      assert.equal(tb.result?.via, 'stale');
      assert.equal(tb.result?.epoch, 2);
    });

    it('a paused holder loses the lock to a contender and learns it when it runs again', async function () {
      const a = lock();
      await a.acquire();
      const lost = losses(a);
      const b = lock({ pidCheck: true });
      const tb = contend(b);
      h.pause(a);
      await until(() => tb.done, 'the contender takes over from the paused holder');
      assert.equal(tb.result?.via, 'stale');
      h.resume(a);
      await until(() => lost.length > 0, 'the resumed holder is told');
      assert.ok(['lease-expired', 'replaced'].includes(lost[0]!.reason), `reason ${lost[0]!.reason}`);
      assert.equal(lost[0]!.epoch, 1);
      assert.equal(a.isHeld(), false);
      assert.equal(await a.verify(), false);
      await a.release(); // must not remove the new holder's lock
      await h.elapse(1500);
      assert.equal(await b.verify(), true);
      assert.equal(lost.length, 1, 'onLost fires once');
    });

    it('a holder whose renewals hang stops trusting its lease before a contender may break it', async function () {
      const a = lock();
      await a.acquire();
      const lost = losses(a);
      let heldWhenTakenOver: boolean | undefined;
      const b = lock({ pidCheck: true });
      const tb = contend(b);
      void tb.settled.then(() => {
        heldWhenTakenOver = a.isHeld();
      });
      h.stallRenewals(a);
      await until(() => tb.done, 'the contender takes over');
      assert.equal(heldWhenTakenOver, false, 'the old holder still trusted its lease when the new one took over');
      assert.equal(lost[0]?.reason, 'lease-expired');
      assert.equal(await b.verify(), true);
    });

    it('fires onLost(removed) when the lock is deleted, and can acquire again at a new epoch', async function () {
      const a = lock();
      await a.acquire();
      const lost = losses(a);
      await h.removeLock();
      await until(() => lost.length > 0, 'the holder notices the removal');
      assert.equal(lost[0]!.reason, 'removed');
      assert.equal(a.isHeld(), false);
      assert.equal(await a.verify(), false);
      const again = await a.acquire();
      assert.equal(again.epoch, 2);
      assert.equal(await a.verify(), true);
    });

    it('verify() fails and onLost(replaced) fires when another holder\'s record replaces ours', async function () {
      const a = lock();
      await a.acquire();
      const lost = losses(a);
      assert.equal(await a.verify(), true);
      await h.overwriteRecord();
      assert.equal(await a.verify(), false);
      await until(() => lost.length > 0, 'onLost fires');
      assert.equal(lost[0]!.reason, 'replaced');
      await h.elapse(1500);
      assert.equal(lost.length, 1, 'onLost fires once');
      assert.equal(a.isHeld(), false);
    });
  });
}
