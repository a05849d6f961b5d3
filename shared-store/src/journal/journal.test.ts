// The journal: group commit (one write and one fdatasync per batch, failures reject every
// waiter), storage modes, segment rolling, clean shutdown and recovery of a damaged tail.
import { expect } from 'chai';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreError, StoreErrorCodes } from '../errors.js';
import { captureLog, eventually, tempDir } from '../testing/helpers.js';
import { SEGMENT_HEADER_SIZE } from './constants.js';
import { FaultyFileIO, InjectedIOError } from './file-io.js';
import { Journal, type JournalOptions } from './journal.js';
import type { JournalRecord } from './records/index.js';
import { segmentFileName } from './segment.js';
import { ManualTimers } from './timers.js';

interface Seen {
  record: JournalRecord;
  segment: number;
  offset: number;
}

function ack(seq: number, target = '/queue/a'): JournalRecord {
  return { type: 'ack', txId: 0, seq, target };
}

function bigAck(seq: number, size: number): JournalRecord {
  return { type: 'ack', txId: 0, seq, target: 't'.repeat(size) };
}

describe('Journal', function () {
  let dir: string;
  let remove: () => Promise<void>;
  const opened: Journal[] = [];

  beforeEach(async function () {
    ({ dir, remove } = await tempDir());
  });
  afterEach(async function () {
    for (const j of opened.splice(0)) await j.close().catch(() => undefined);
    await remove();
  });

  async function open(options: Partial<JournalOptions> = {}): Promise<{ journal: Journal; seen: Seen[]; report: Awaited<ReturnType<Journal['open']>> }> {
    const journal = new Journal({ dir, mode: 'durability', ...options });
    opened.push(journal);
    const seen: Seen[] = [];
    const report = await journal.open((record, segment, offset) => seen.push({ record, segment, offset }));
    return { journal, seen, report };
  }

  describe('group commit', function () {
    it('writes every append of one turn in one write and one fdatasync, and settles them all', async function () {
      const io = new FaultyFileIO();
      const { journal } = await open({ fileIO: io });
      io.resetCounters();
      const waiters = [];
      for (let i = 1; i <= 500; i++) waiters.push(journal.append(ack(i)));
      await Promise.all(waiters);
      expect(io.writes).to.equal(1);
      expect(io.syncs).to.equal(1);
      expect(journal.stats()).to.include({ appendedRecords: 500, writes: 1, syncs: 1 });
    });

    it('asks confirm() after the sync and before settling; a refusal fails the batch and the journal with its code', async function () {
      let allowed = true;
      const order: string[] = [];
      const io = new FaultyFileIO();
      const { journal } = await open({
        fileIO: io,
        confirm: () => {
          order.push(`confirm after ${io.syncs} syncs`);
          if (!allowed) throw new StoreError(StoreErrorCodes.FENCED, 'fenced: the lock was lost');
        },
      });
      io.resetCounters();
      await journal.append(ack(1));
      expect(order).to.deep.equal(['confirm after 1 syncs']);
      allowed = false;
      const refused = journal.append(ack(2));
      await refused.then(
        () => expect.fail('a batch the fencing check refused was confirmed'),
        (error: StoreError) => expect(error.code).to.equal(StoreErrorCodes.FENCED),
      );
      expect(journal.state).to.equal('failed');
      await journal.append(ack(3)).then(
        () => expect.fail('a fenced journal took a write'),
        (error: StoreError) => expect(error.code).to.equal(StoreErrorCodes.FENCED),
      );
    });

    it('fence() refuses every waiting and later append with TANDEM_ERR_FENCED', async function () {
      const { journal } = await open();
      const waiting = journal.append(ack(1));
      journal.fence('the lock was replaced');
      for (const pending of [waiting, journal.append(ack(2))]) {
        await pending.then(
          () => expect.fail('an append was confirmed after the fence'),
          (error: StoreError) => expect(error.code).to.equal(StoreErrorCodes.FENCED),
        );
      }
    });

    it('gathers appends made while a batch is in flight into the next batch', async function () {
      const io = new FaultyFileIO();
      const { journal } = await open({ fileIO: io });
      io.resetCounters();
      const first = journal.append(ack(1));
      await new Promise((resolve) => setImmediate(resolve)); // the first batch is now being written
      const later = [];
      for (let i = 2; i <= 100; i++) later.push(journal.append(ack(i)));
      await Promise.all([first, ...later]);
      expect(io.writes).to.equal(2);
      expect(io.syncs).to.equal(2);
    });

    it('in durability mode settles an append only after its fdatasync', async function () {
      const io = new FaultyFileIO();
      const { journal } = await open({ fileIO: io });
      io.resetCounters();
      await journal.append(ack(1));
      expect(io.syncs).to.equal(1);
    });

    for (const fault of ['fdatasync', 'write'] as const) {
      it(`rejects every waiter of a batch whose ${fault} fails, and every later append, and fails the journal`, async function () {
        const io = new FaultyFileIO();
        const log = captureLog();
        const { journal } = await open({ fileIO: io, logger: log.logger });
        if (fault === 'fdatasync') io.failNextSync();
        else io.failNextWrite();
        const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => journal.append(ack(i + 1))));
        for (const result of results) {
          expect(result.status).to.equal('rejected');
          const error = (result as PromiseRejectedResult).reason as StoreError;
          expect(error).to.be.instanceOf(StoreError);
          expect(error.code).to.equal(StoreErrorCodes.JOURNAL_FAILED);
          expect(error.message).to.match(/journal I\/O failed.*injected/);
          expect(error.cause).to.be.instanceOf(InjectedIOError);
        }
        expect(journal.state).to.equal('failed');
        expect(log.events('journal.failed')).to.have.length(1);
        try {
          await journal.append(ack(99));
          expect.fail('an append to a failed journal must reject');
        } catch (err) {
          expect((err as StoreError).code).to.equal(StoreErrorCodes.JOURNAL_FAILED);
        }
        await journal.close();
        expect(journal.state).to.equal('closed');
      });
    }

    it('in throughput mode settles after the write and fdatasyncs on the timer, at most once per interval', async function () {
      const io = new FaultyFileIO();
      const timers = new ManualTimers();
      const { journal } = await open({ fileIO: io, mode: 'throughput', syncIntervalMs: 100, timers });
      io.resetCounters();
      await Promise.all([journal.append(ack(1)), journal.append(ack(2))]);
      expect(io.writes).to.equal(1);
      expect(io.syncs).to.equal(0);
      await journal.append(ack(3));
      expect(io.writes).to.equal(2);
      timers.advance(99);
      await new Promise((resolve) => setImmediate(resolve));
      expect(io.syncs).to.equal(0);
      timers.advance(1);
      await eventually(() => io.syncs === 1);
      await journal.append(ack(4));
      timers.advance(50);
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(io.syncs).to.equal(1);
      timers.advance(50);
      await eventually(() => io.syncs === 2);
      expect(timers.size).to.equal(0);
    });

    it('fdatasyncs a lone durable append on the calling thread, and a batch of several on the thread pool', async function () {
      const io = new FaultyFileIO();
      const { journal } = await open({ fileIO: io });
      io.resetCounters();
      await journal.append(ack(1));
      expect([io.syncs, io.syncsOnThread]).to.deep.equal([1, 1]);
      await Promise.all([journal.append(ack(2)), journal.append(ack(3))]);
      expect([io.syncs, io.syncsOnThread]).to.deep.equal([2, 1]);
      // Lazy appends beside the lone durable one do not make it a crowd.
      await Promise.all([journal.append(ack(4), { sync: false }), journal.append(ack(5))]);
      expect([io.syncs, io.syncsOnThread]).to.deep.equal([3, 2]);
      // A large lone append would stall the event loop for a long fdatasync: the thread pool takes it.
      await journal.append({ type: 'ack', txId: 0, seq: 6, target: 't'.repeat(100 * 1024) });
      expect([io.syncs, io.syncsOnThread]).to.deep.equal([4, 2]);
    });

    it('rejects a lone durable append whose fdatasync on the calling thread fails, and fails the journal', async function () {
      const io = new FaultyFileIO();
      const { journal } = await open({ fileIO: io });
      io.failNextSync();
      let error: unknown;
      await journal.append(ack(1)).catch((err: unknown) => (error = err));
      expect(io.syncsOnThread).to.equal(1);
      expect((error as StoreError).code).to.equal(StoreErrorCodes.JOURNAL_FAILED);
      expect((error as StoreError).cause).to.be.instanceOf(InjectedIOError);
      expect(journal.state).to.equal('failed');
    });

    it('in durability mode settles a sync: false append after its write alone, and leaves it for the next fdatasync', async function () {
      const io = new FaultyFileIO();
      const timers = new ManualTimers();
      const { journal } = await open({ fileIO: io, timers, lazySyncMs: 50 });
      io.resetCounters();
      await journal.append(ack(1), { sync: false });
      expect(io.writes).to.equal(1);
      expect(io.syncs).to.equal(0);
      expect(timers.size, 'a timer guards the unsynced write').to.equal(1);
      // A durable append's fdatasync covers the earlier write too, and the timer is no longer needed.
      await journal.append(ack(2));
      expect(io.writes).to.equal(2);
      expect(io.syncs).to.equal(1);
      expect(timers.size).to.equal(0);
    });

    it('writes a sync: false append by the end of the turn, or sooner in the write of an append somebody waits on', async function () {
      const io = new FaultyFileIO();
      const { journal } = await open({ fileIO: io, timers: new ManualTimers() });
      io.resetCounters();
      const lazy = journal.append(ack(1), { sync: false });
      for (let i = 0; i < 5; i++) await Promise.resolve();
      expect(io.writes, 'microtasks alone do not write it').to.equal(0);
      await new Promise((resolve) => setImmediate(resolve));
      expect(io.writes, 'written by the end of the turn').to.equal(1);
      await lazy;
      const sharing = journal.append(ack(2), { sync: false });
      await journal.append(ack(3));
      await sharing;
      expect([io.writes, io.syncs], 'one write and one fdatasync for both').to.deep.equal([2, 1]);
    });

    it('fdatasyncs a sync: false append within lazySyncMs when nothing else does', async function () {
      const io = new FaultyFileIO();
      const timers = new ManualTimers();
      const { journal } = await open({ fileIO: io, timers, lazySyncMs: 50 });
      io.resetCounters();
      await journal.append(ack(1), { sync: false });
      timers.advance(49);
      await new Promise((resolve) => setImmediate(resolve));
      expect(io.syncs).to.equal(0);
      timers.advance(1);
      await eventually(() => io.syncs === 1);
      expect(timers.size).to.equal(0);
      await journal.flushAndSync();
      expect(io.syncs, 'nothing was left to sync').to.equal(1);
    });

    it('settles a batch that mixes sync: false and durable appends only after its one fdatasync', async function () {
      const io = new FaultyFileIO();
      const { journal } = await open({ fileIO: io, timers: new ManualTimers() });
      io.resetCounters();
      const order: string[] = [];
      const lazy = journal.append(ack(1), { sync: false }).then(() => order.push(`lazy after ${io.syncs} syncs`));
      const durable = journal.append(ack(2)).then(() => order.push(`durable after ${io.syncs} syncs`));
      await Promise.all([lazy, durable]);
      expect(order).to.deep.equal(['lazy after 1 syncs', 'durable after 1 syncs']);
      expect(io.writes).to.equal(1);
    });

    it('rejects a sync: false append whose write fails, and fails the journal', async function () {
      const io = new FaultyFileIO();
      const { journal } = await open({ fileIO: io, timers: new ManualTimers() });
      io.failNextWrite();
      let error: unknown;
      await journal.append(ack(1), { sync: false }).catch((err: unknown) => (error = err));
      expect((error as StoreError).code).to.equal(StoreErrorCodes.JOURNAL_FAILED);
      expect(journal.state).to.equal('failed');
    });

    it('flushAndSync makes throughput-mode appends durable on demand', async function () {
      const io = new FaultyFileIO();
      const { journal } = await open({ fileIO: io, mode: 'throughput', timers: new ManualTimers() });
      io.resetCounters();
      void journal.append(ack(1));
      await journal.flushAndSync();
      expect(io.syncs).to.equal(1);
    });
  });

  describe('segments', function () {
    it('rolls to a new file named by its first offset when a record would not fit; records never span files', async function () {
      const io = new FaultyFileIO();
      const { journal } = await open({ fileIO: io, segmentSize: 64 * 1024 });
      const waiters = [];
      for (let i = 1; i <= 200; i++) waiters.push(journal.append(bigAck(i, 1000)));
      await Promise.all(waiters);
      await journal.close();
      const names = (await readdir(dir)).sort();
      expect(names.length).to.be.greaterThan(2);
      let expectedOffset = 0;
      for (const name of names) {
        expect(name).to.equal(segmentFileName(expectedOffset));
        expect(name).to.match(/^\d{20}\.seg$/);
        const size = (await stat(join(dir, name))).size;
        expect(size).to.be.at.most(64 * 1024);
        expectedOffset += size;
      }
      expect(io.dirSyncs).to.be.at.least(names.length);
      const { seen } = await open({ segmentSize: 64 * 1024 });
      expect(seen.map((s) => (s.record.type === 'ack' ? s.record.seq : s.record.type))).to.deep.equal([
        ...Array.from({ length: 200 }, (_, i) => i + 1),
        'clean-shutdown',
      ]);
      for (const s of seen) expect(s.offset).to.be.at.least(SEGMENT_HEADER_SIZE);
    });

    it('keeps the records of appendAll together in one segment', async function () {
      const { journal } = await open({ segmentSize: 64 * 1024 });
      for (let i = 1; i <= 60; i++) void journal.append(bigAck(i, 1000));
      const unit = Array.from({ length: 8 }, (_, i) => bigAck(1000 + i, 1000));
      await journal.appendAll(unit);
      await journal.close();
      const { seen } = await open({ segmentSize: 64 * 1024 });
      const unitSegments = new Set(seen.filter((s) => s.record.type === 'ack' && s.record.seq >= 1000).map((s) => s.segment));
      expect(unitSegments.size).to.equal(1);
      expect([...unitSegments][0]).to.be.greaterThan(0);
    });

    it('refuses a record larger than a segment with TANDEM_ERR_RECORD_TOO_LARGE and stays open', async function () {
      const { journal } = await open({ segmentSize: 64 * 1024 });
      try {
        await journal.append(bigAck(1, 70 * 1024));
        expect.fail('expected a refusal');
      } catch (err) {
        expect(err).to.be.instanceOf(StoreError);
        expect((err as StoreError).code).to.equal(StoreErrorCodes.RECORD_TOO_LARGE);
        expect((err as StoreError).message).to.match(/does not fit a segment of 65536 bytes/);
      }
      expect(journal.state).to.equal('open');
      await journal.append(ack(2));
    });
  });

  describe('open and close', function () {
    it('reports a clean shutdown only when the last run closed', async function () {
      const first = await open();
      expect(first.report.cleanShutdown).to.equal(true);
      await first.journal.append(ack(1));
      await first.journal.close();
      const second = await open();
      expect(second.report.cleanShutdown).to.equal(true);
      expect(second.seen.map((s) => s.record.type)).to.deep.equal(['ack', 'clean-shutdown']);
      await second.journal.append(ack(2));
      // No close: the next open sees a journal that did not end in clean-shutdown.
      const io = new FaultyFileIO();
      const third = await open({ fileIO: io });
      expect(third.report.cleanShutdown).to.equal(false);
    });

    it('truncates a torn write at the tail, logs it with segment and offset, and keeps what came before', async function () {
      const io = new FaultyFileIO();
      const { journal } = await open({ fileIO: io });
      await Promise.all([journal.append(ack(1)), journal.append(ack(2))]);
      const sizeBefore = (await stat(join(dir, segmentFileName(0)))).size;
      io.tearNextWriteAt(30);
      const torn = await Promise.allSettled([journal.append(ack(3)), journal.append(ack(4))]);
      expect(torn.map((r) => r.status)).to.deep.equal(['rejected', 'rejected']);
      await journal.close();
      expect((await stat(join(dir, segmentFileName(0)))).size).to.equal(sizeBefore + 30);

      const log = captureLog();
      const again = await open({ logger: log.logger });
      expect(again.seen.map((s) => (s.record as { seq: number }).seq)).to.deep.equal([1, 2]);
      expect(again.report.cleanShutdown).to.equal(false);
      expect(again.report.problems).to.deep.equal([
        { segment: segmentFileName(0), offset: sizeBefore, reason: 'torn record', action: 'truncated' },
      ]);
      expect(log.events('journal.tail-truncated')).to.have.length(1);
      expect(log.events('journal.tail-truncated')[0]).to.include({ segment: segmentFileName(0), offset: sizeBefore, bytes: 30 });
      expect((await stat(join(dir, segmentFileName(0)))).size).to.equal(sizeBefore);
      await again.journal.append(ack(5));
      await again.journal.close();
      const third = await open();
      expect(third.report.problems).to.deep.equal([]);
      expect(third.seen.map((s) => s.record.type === 'ack' && s.record.seq)).to.deep.equal([1, 2, 5, false]);
    });

    it('reads records written under a larger segmentSize after the setting is lowered', async function () {
      const { journal } = await open({ segmentSize: 256 * 1024 });
      await journal.append(bigAck(1, 100 * 1024));
      await journal.close();
      const again = await open({ segmentSize: 64 * 1024 });
      expect(again.report.problems).to.deep.equal([]);
      expect(again.seen.map((s) => s.record.type)).to.deep.equal(['ack', 'clean-shutdown']);
      await again.journal.append(ack(2)); // the old head is full for the new size: a new segment takes it
      expect(again.journal.stats().segments).to.equal(2);
    });

    it('removes a last segment whose header was torn while it was being created', async function () {
      const { journal } = await open();
      await journal.append(ack(1));
      await journal.close();
      const size = (await stat(join(dir, segmentFileName(0)))).size;
      await writeFile(join(dir, segmentFileName(size)), Buffer.from('TNDMJ'));
      const again = await open();
      expect(again.report.problems).to.deep.equal([
        { segment: segmentFileName(size), offset: 0, reason: 'torn segment header (5 bytes)', action: 'truncated' },
      ]);
      expect(await readdir(dir)).to.deep.equal([segmentFileName(0)]);
      expect(again.seen).to.have.length(2);
    });

    it('refuses corruption followed by good records with TANDEM_ERR_JOURNAL_CORRUPT naming segment and offset', async function () {
      const { journal } = await open();
      for (let i = 1; i <= 5; i++) await journal.append(ack(i));
      await journal.close();
      const path = join(dir, segmentFileName(0));
      const bytes = await readFile(path);
      const frameLength = 9 + 16 + 4 + '/queue/a'.length;
      const secondAt = SEGMENT_HEADER_SIZE + frameLength;
      bytes[secondAt + 12] ^= 0xff;
      await writeFile(path, bytes);
      try {
        await open();
        expect.fail('a corrupt journal must not open');
      } catch (err) {
        expect(err).to.be.instanceOf(StoreError);
        expect((err as StoreError).code).to.equal(StoreErrorCodes.JOURNAL_CORRUPT);
        expect((err as StoreError).message).to.include(`${segmentFileName(0)} is corrupt at offset ${secondAt}`);
        expect((err as StoreError).message).to.include('--repair');
      }
      const repaired = await open({ repair: true });
      expect(repaired.report.problems).to.deep.equal([
        { segment: segmentFileName(0), offset: secondAt, reason: 'CRC mismatch', action: 'skipped' },
      ]);
      expect(repaired.seen.map((s) => s.record.type === 'ack' && s.record.seq)).to.deep.equal([1, 3, 4, 5, false]);
    });

    it('treats a bad tail in a segment that is not the last as corruption, not as a torn write', async function () {
      const { journal } = await open({ segmentSize: 64 * 1024 });
      for (let i = 1; i <= 100; i++) void journal.append(bigAck(i, 1000));
      await journal.close();
      const first = join(dir, segmentFileName(0));
      const bytes = await readFile(first);
      await writeFile(first, bytes.subarray(0, bytes.length - 10));
      let error: unknown;
      try {
        await open({ segmentSize: 64 * 1024 });
      } catch (err) {
        error = err;
      }
      expect((error as StoreError).code).to.equal(StoreErrorCodes.JOURNAL_CORRUPT);
      expect((await readFile(first)).length).to.equal(bytes.length - 10);
    });
  });
});
