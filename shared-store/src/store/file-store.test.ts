// The file store runs the shared conformance suite in both storage modes, over a temp directory,
// plus what only a journal-backed store has: coalesced marks, failure, size limits, stats.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { StoreError, StoreErrorCodes } from '../errors.js';
import { FaultyFileIO } from '../journal/file-io.js';
import { ManualTimers } from '../journal/timers.js';
import { eventually, readJournalRecords, tempDir } from '../testing/helpers.js';
import { runStoreConformance } from './conformance.js';
import { FileStore, openFileStore, type FileStoreSettings } from './file-store.js';
import type { MessageStore, StorageMode, StoredMessage } from './types.js';

function fileHarness(mode: StorageMode, preallocate = false) {
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tandem-store-'));
    const started = new Map<MessageStore, FaultyFileIO>();
    return {
      start(): MessageStore {
        const fileIO = new FaultyFileIO(undefined, { preallocate });
        const store = new FileStore({ dir, mode, fileIO, segmentSize: 256 * 1024, syncIntervalMs: 5 });
        started.set(store, fileIO);
        return store;
      },
      async crash(store: MessageStore) {
        started.get(store)!.crash();
        await store.close().catch(() => undefined);
      },
      async cleanup() {
        for (const store of started.keys()) await store.close().catch(() => undefined);
        await rm(dir, { recursive: true, force: true });
      },
    };
  };
}

runStoreConformance('FileStore (durability mode)', fileHarness('durability'));
runStoreConformance('FileStore (throughput mode)', fileHarness('throughput'));
runStoreConformance('FileStore (durability mode, preallocated segments)', fileHarness('durability', true));

describe('FileStore', function () {
  let dir: string;
  let remove: () => Promise<void>;
  const stores: FileStore[] = [];

  beforeEach(async function () {
    ({ dir, remove } = await tempDir('tandem-file-store-'));
  });
  afterEach(async function () {
    for (const s of stores.splice(0)) await s.close().catch(() => undefined);
    await remove();
  });

  function start(options: Partial<FileStoreSettings> = {}): FileStore {
    const store = new FileStore({ dir, mode: 'durability', ...options });
    stores.push(store);
    return store;
  }

  const Q = '/queue/q';
  const message = (seq: number, body = Buffer.from('x')): StoredMessage => ({
    seq, id: `m${seq}`, destination: Q, headers: {}, body, priority: 4, expires: 0, timestamp: 0, targets: [Q],
  });

  it('coalesces dispatch marks per batch, written ahead to the highest stored seq', async function () {
    const store = start();
    await store.open();
    for (let seq = 1; seq <= 10; seq++) await store.addMessage(message(seq));
    const gates = new Set<Promise<void> | undefined>();
    for (let seq = 1; seq <= 1000; seq++) {
      gates.add(store.markDispatched(Q, Math.min(seq, 7)));
      gates.add(store.markDispatched('durable:c:n', seq));
    }
    expect(gates.size, 'every caller in the batch waits on one promise').to.equal(1);
    await store.addMessage(message(11));
    expect(store.markDispatched(Q, 3), 'below what is settled: nothing to write').to.equal(undefined);
    expect(store.markDispatched(Q, 10)).to.equal(undefined);
    await store.close();
    const marks = (await readJournalRecords(dir)).filter((r) => r.type === 'dispatch-mark');
    expect(marks).to.deep.equal([
      { type: 'dispatch-mark', target: Q, seq: 10 },
      { type: 'dispatch-mark', target: 'durable:c:n', seq: 1000 },
    ]);
    const state = await start().open();
    expect(state.queues.get(Q)!.filter((m) => m.redelivered).map((m) => m.seq)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('a sender marking before each add in a burst costs at most two mark records per target per batch', async function () {
    const store = start();
    await store.open();
    const adds: Array<Promise<void>> = [];
    for (let seq = 1; seq <= 50; seq++) {
      store.markDispatched(Q, seq);
      adds.push(store.addMessage(message(seq)));
    }
    await Promise.all(adds);
    for (let seq = 1; seq <= 50; seq++) expect(store.markDispatched(Q, seq)).to.equal(undefined);
    await store.close();
    const marks = (await readJournalRecords(dir)).filter((r) => r.type === 'dispatch-mark');
    expect(marks).to.deep.equal([
      { type: 'dispatch-mark', target: Q, seq: 1 },
      { type: 'dispatch-mark', target: Q, seq: 50 },
    ]);
  });

  it('writes a mark made just before close', async function () {
    const store = start();
    await store.open();
    await store.addMessage(message(1));
    const mark = store.markDispatched(Q, 1);
    await store.close();
    await mark;
    const state = await start().open();
    expect(state.queues.get(Q)![0]!.redelivered).to.equal(true);
  });

  it('a message marked through the delivery path and then lost with the process comes back redelivered', async function () {
    const io = new FaultyFileIO();
    const first = start({ fileIO: io });
    await first.open();
    const Q2 = '/queue/other';
    first.markDispatched(Q, 1); // the sender's pre-mark: the queue has a consumer
    await first.addMessage(message(1));
    await first.addMessage({ ...message(2), destination: Q2, targets: [Q2] });
    expect(first.markDispatched(Q, 1), 'the delivery finds its mark settled').to.equal(undefined);
    const gate = first.markDispatched(Q2, 2); // a delivery from a backlog
    expect(gate).to.be.instanceOf(Promise);
    await gate;
    await first.addMessage(message(3)); // stored, never delivered
    // kill -9: the first store is never closed and writes nothing more; a second one opens the directory.
    io.crash();
    const state = await start().open();
    expect(state.cleanShutdown).to.equal(false);
    expect(state.queues.get(Q)!.map((m) => [m.seq, m.redelivered])).to.deep.equal([[1, true], [3, false]]);
    expect(state.queues.get(Q2)!.map((m) => [m.seq, m.redelivered])).to.deep.equal([[2, true]]);
  });

  it('rejects marks with TANDEM_ERR_JOURNAL_FAILED once the journal has failed, but keeps settled ones', async function () {
    const io = new FaultyFileIO();
    const store = start({ fileIO: io });
    await store.open();
    await store.addMessage(message(1));
    await store.markDispatched(Q, 1);
    await store.addMessage(message(2));
    io.failNextSync();
    const pending = store.markDispatched(Q, 2);
    const results = await Promise.allSettled([pending, store.addMessage(message(3))]);
    for (const r of results) expect(((r as PromiseRejectedResult).reason as StoreError).code).to.equal(StoreErrorCodes.JOURNAL_FAILED);
    expect(store.state).to.equal('failed');
    const later = store.markDispatched(Q, 2);
    expect(later).to.be.instanceOf(Promise);
    let error: unknown;
    await later!.catch((err: unknown) => (error = err));
    expect((error as StoreError).code).to.equal(StoreErrorCodes.JOURNAL_FAILED);
    expect(store.markDispatched(Q, 1), 'a mark settled before the failure still holds').to.equal(undefined);
  });

  it('durability mode: an ack with { sync: false } costs a write and no fdatasync; a durable call, sync() or the timer covers it', async function () {
    const io = new FaultyFileIO();
    const timers = new ManualTimers();
    const store = start({ fileIO: io, timers, lazySyncMs: 50 });
    await store.open();
    for (let seq = 1; seq <= 4; seq++) await store.addMessage(message(seq));
    io.resetCounters();
    await store.ack(Q, 1, { sync: false });
    expect([io.writes, io.syncs]).to.deep.equal([1, 0]);
    await store.addMessage(message(5)); // its fdatasync makes the ack durable too
    expect([io.writes, io.syncs]).to.deep.equal([2, 1]);
    await store.ack(Q, 2, { sync: false });
    await store.sync();
    expect([io.writes, io.syncs]).to.deep.equal([3, 2]);
    await store.sync();
    expect(io.syncs, 'nothing left to sync').to.equal(2);
    await store.ack(Q, 3, { sync: false });
    timers.advance(50);
    await eventually(() => io.syncs === 3);
    await store.ack(Q, 4); // an ack someone waits on is fdatasynced before it settles
    expect([io.writes, io.syncs]).to.deep.equal([5, 4]);
  });

  it('a dispatch mark needs no fdatasync of its own: it settles once written', async function () {
    const io = new FaultyFileIO();
    const store = start({ fileIO: io, timers: new ManualTimers() });
    await store.open();
    await store.addMessage(message(1));
    io.resetCounters();
    const gate = store.markDispatched(Q, 1);
    expect(gate).to.be.instanceOf(Promise);
    await gate;
    expect([io.writes, io.syncs]).to.deep.equal([1, 0]);
    expect(store.markDispatched(Q, 1)).to.equal(undefined);
  });

  it('moves to failed when an fdatasync fails, rejecting calls with TANDEM_ERR_JOURNAL_FAILED', async function () {
    const io = new FaultyFileIO();
    const store = start({ fileIO: io });
    await store.open();
    await store.addMessage(message(1));
    io.failNextSync();
    const results = await Promise.allSettled([store.addMessage(message(2)), store.ack(Q, 1), store.commit([{ op: 'add', message: message(3) }])]);
    for (const r of results) {
      expect(r.status).to.equal('rejected');
      expect((r as PromiseRejectedResult).reason).to.be.instanceOf(StoreError);
      expect(((r as PromiseRejectedResult).reason as StoreError).code).to.equal(StoreErrorCodes.JOURNAL_FAILED);
    }
    expect(store.state).to.equal('failed');
    expect(store.stats().state).to.equal('failed');
    await Promise.allSettled([store.addDurableSubscription({ clientId: 'c', name: 'n', destination: '/topic/t' })]).then(([r]) => {
      expect(((r as PromiseRejectedResult).reason as StoreError).code).to.equal(StoreErrorCodes.JOURNAL_FAILED);
    });
    await store.close();
    expect(store.state).to.equal('closed');
    // The same instance opens again. The failed batch was written before its fdatasync failed,
    // so its records are in the file and recovery applies them: a rejected call may still have
    // happened (the broker's producer sequences catch the resend).
    const state = await store.open();
    expect(store.state).to.equal('open');
    expect(state.cleanShutdown).to.equal(false);
    expect(state.queues.get(Q)!.map((m) => m.seq)).to.deep.equal([2, 3]);
  });

  it('refuses a message bigger than a segment with TANDEM_ERR_RECORD_TOO_LARGE and carries on', async function () {
    const store = start({ segmentSize: 64 * 1024 });
    await store.open();
    let error: unknown;
    await store.addMessage(message(1, Buffer.alloc(65 * 1024))).catch((err: unknown) => (error = err));
    expect((error as StoreError).code).to.equal(StoreErrorCodes.RECORD_TOO_LARGE);
    expect((error as StoreError).httpStatus).to.equal(413);
    expect(store.stats().liveMessages).to.equal(0);
    await store.addMessage(message(2));
    expect(store.stats()).to.include({ state: 'open', mode: 'durability', liveMessages: 1 });
  });

  it('reports segments, bytes and syncs in stats, and recovery stats on open', async function () {
    const store = start();
    await store.open();
    await Promise.all([store.addMessage(message(1)), store.addMessage(message(2))]);
    const stats = store.stats();
    expect(stats.segments).to.equal(1);
    expect(stats.bytes).to.be.greaterThan(32);
    expect(stats.syncs).to.be.at.least(1);
    expect(stats.appendedRecords).to.equal(2);
    await store.close();
    const state = await start().open();
    expect(state.stats).to.include({ segments: 1, records: 3 });
    expect(state.stats.bytes).to.equal(stats.bytes + 9 + 8);
  });

  it('openFileStore opens and recovers in one call', async function () {
    const first = await openFileStore({ dir, mode: 'throughput' });
    stores.push(first.store);
    await first.store.addMessage(message(1));
    await first.store.close();
    const second = await openFileStore({ dir, mode: 'throughput' });
    stores.push(second.store);
    expect(second.recovered.queues.get(Q)!.map((m) => m.seq)).to.deep.equal([1]);
    expect(second.store.state).to.equal('open');
  });
});
