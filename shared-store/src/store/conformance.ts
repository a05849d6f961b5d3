// The conformance suite every MessageStore runs: one function that declares mocha tests against
// a harness (a way to start stores over one storage, to "crash" one, and to clean up). It uses
// node:assert so that importing the package never pulls in a test library.
import assert from 'node:assert/strict';
import { StoreErrorCodes } from '../errors.js';
import type { MessageStore, RecoveredMessage, RecoveredState, StoredMessage } from './types.js';
import { durableKey } from './types.js';

export interface StoreHarness {
  /** A new, unopened store over this harness's storage: the same storage every call (a restart). */
  start(): MessageStore;
  /** Ends `store` the way a killed process would: no clean shutdown, nothing more written. */
  crash(store: MessageStore): Promise<void>;
  /** Releases everything the harness made (stores it started, files). */
  cleanup(): Promise<void>;
}

export type StoreHarnessFactory = () => StoreHarness | Promise<StoreHarness>;

const Q = '/queue/orders';

function message(seq: number, overrides: Partial<StoredMessage> = {}): StoredMessage {
  return {
    seq,
    id: `m-${seq}`,
    destination: Q,
    headers: { 'content-type': 'text/plain', 'x-seq': String(seq) },
    body: Buffer.from(`body ${seq}`),
    priority: 4,
    expires: 0,
    timestamp: 1_700_000_000_000 + seq,
    targets: [Q],
    ...overrides,
  };
}

function seqsOf(list: RecoveredMessage[] | undefined): number[] {
  return (list ?? []).map((m) => m.seq);
}

function pendingOf(state: RecoveredState, clientId: string, name: string): RecoveredMessage[] | undefined {
  return state.durableSubscriptions.find((d) => d.info.clientId === clientId && d.info.name === name)?.pending;
}

export function runStoreConformance(name: string, factory: StoreHarnessFactory): void {
  describe(`MessageStore conformance: ${name}`, function () {
    let harness: StoreHarness;
    let store: MessageStore;

    beforeEach(async function () {
      harness = await factory();
      store = harness.start();
    });
    afterEach(async function () {
      await harness.cleanup();
    });

    /** Closes the current store and opens the next one over the same storage. */
    async function restart(): Promise<RecoveredState> {
      await store.close();
      store = harness.start();
      return store.open();
    }

    it('opens empty: no messages, nextSeq 1, a clean start, state open', async function () {
      assert.equal(store.state, 'closed');
      const state = await store.open();
      assert.equal(store.state, 'open');
      assert.equal(state.queues.size, 0);
      assert.deepEqual(state.durableSubscriptions, []);
      assert.equal(state.producerSeqs.size, 0);
      assert.equal(state.nextSeq, 1);
      assert.equal(state.cleanShutdown, true);
      assert.deepEqual(state.problems, []);
      await store.close();
      assert.equal(store.state, 'closed');
    });

    it('keeps every field of an added message across a restart, and forgets acked ones', async function () {
      await store.open();
      const m1 = message(1, { priority: 9, expires: 1_800_000_000_000, producerId: 'p1', producerSeq: 3 });
      await Promise.all([store.addMessage(m1), store.addMessage(message(2)), store.addMessage(message(3))]);
      await store.ack(Q, 2);
      const state = await restart();
      assert.equal(state.cleanShutdown, true);
      assert.deepEqual(seqsOf(state.queues.get(Q)), [1, 3]);
      const got = state.queues.get(Q)![0]!;
      assert.deepEqual({ ...got, body: got.body.toString() }, { ...m1, body: 'body 1', redelivered: false });
      assert.equal(store.stats().liveMessages, 2);
    });

    it('returns pending messages ordered by seq, not by the order they were stored', async function () {
      await store.open();
      for (const seq of [5, 2, 9, 4]) await store.addMessage(message(seq));
      const state = await restart();
      assert.deepEqual(seqsOf(state.queues.get(Q)), [2, 4, 5, 9]);
      assert.equal(state.nextSeq, 10);
    });

    it('tracks acknowledgements per durable subscription target', async function () {
      await store.open();
      const a = durableKey('c1', 'a');
      const b = durableKey('c2', 'b');
      await store.addDurableSubscription({ clientId: 'c1', name: 'a', destination: '/topic/prices' });
      await store.addDurableSubscription({ clientId: 'c2', name: 'b', destination: '/topic/>', selector: "x = 'y'", noLocal: true });
      await store.addMessage(message(1, { destination: '/topic/prices', targets: [a, b] }));
      await store.addMessage(message(2, { destination: '/topic/prices', targets: [a, b] }));
      await store.ack(a, 1);
      let state = await restart();
      assert.deepEqual(seqsOf(pendingOf(state, 'c1', 'a')), [2]);
      assert.deepEqual(seqsOf(pendingOf(state, 'c2', 'b')), [1, 2]);
      assert.deepEqual(state.durableSubscriptions.find((d) => d.info.name === 'b')?.info, {
        clientId: 'c2', name: 'b', destination: '/topic/>', selector: "x = 'y'", noLocal: true,
      });
      assert.equal(state.queues.size, 0);
      await store.ack(b, 1);
      await store.ack(a, 2);
      state = await restart();
      assert.deepEqual(seqsOf(pendingOf(state, 'c1', 'a')), []);
      assert.deepEqual(seqsOf(pendingOf(state, 'c2', 'b')), [2]);
      assert.equal(store.stats().liveMessages, 1);
    });

    it('removing a durable subscription drops its claim; a re-subscribe starts empty', async function () {
      await store.open();
      const a = durableKey('c1', 'a');
      const b = durableKey('c1', 'b');
      await store.addDurableSubscription({ clientId: 'c1', name: 'a', destination: '/topic/t' });
      await store.addDurableSubscription({ clientId: 'c1', name: 'b', destination: '/topic/t' });
      await store.addMessage(message(1, { destination: '/topic/t', targets: [a, b] }));
      await store.addMessage(message(2, { destination: '/topic/t', targets: [b] }));
      await store.removeDurableSubscription('c1', 'b');
      let state = await restart();
      assert.deepEqual(state.durableSubscriptions.map((d) => d.info.name), ['a']);
      assert.deepEqual(seqsOf(pendingOf(state, 'c1', 'a')), [1]);
      assert.equal(store.stats().liveMessages, 1);
      await store.addDurableSubscription({ clientId: 'c1', name: 'b', destination: '/topic/t' });
      state = await restart();
      assert.deepEqual(seqsOf(pendingOf(state, 'c1', 'b')), []);
      assert.deepEqual(seqsOf(pendingOf(state, 'c1', 'a')), [1]);
    });

    it('does not keep a message for a durable subscription that does not exist', async function () {
      await store.open();
      const a = durableKey('c', 'a');
      await store.addDurableSubscription({ clientId: 'c', name: 'a', destination: '/topic/t' });
      await store.addMessage(message(1, { destination: '/topic/t', targets: [a, durableKey('c', 'gone')] }));
      await store.addMessage(message(2, { destination: '/topic/t', targets: [durableKey('c', 'gone')] }));
      assert.equal(store.stats().liveMessages, 1);
      const state = await restart();
      assert.deepEqual(pendingOf(state, 'c', 'a')!.map((m) => [m.seq, m.targets]), [[1, [a]]]);
      assert.equal(store.stats().liveMessages, 1);
      assert.equal(state.nextSeq, 3);
    });

    it('applies a transaction as a whole: its sends and acks', async function () {
      await store.open();
      await store.addMessage(message(1));
      await store.commit([
        { op: 'add', message: message(2) },
        { op: 'add', message: message(3, { destination: '/queue/other', targets: ['/queue/other'] }) },
        { op: 'ack', target: Q, seq: 1 },
      ]);
      const state = await restart();
      assert.deepEqual(seqsOf(state.queues.get(Q)), [2]);
      assert.deepEqual(seqsOf(state.queues.get('/queue/other')), [3]);
    });

    it('remembers the highest sequence per producer, even after its messages are acked', async function () {
      await store.open();
      await store.addMessage(message(1, { producerId: 'p1', producerSeq: 5 }));
      await store.addMessage(message(2, { producerId: 'p1', producerSeq: 7 }));
      await store.addMessage(message(3, { producerId: 'p2', producerSeq: 1 }));
      await store.commit([{ op: 'add', message: message(4, { producerId: 'p3', producerSeq: 11 }) }]);
      for (const seq of [1, 2, 3, 4]) await store.ack(Q, seq);
      await store.reclaim();
      const state = await restart();
      assert.deepEqual([...state.producerSeqs].sort(), [['p1', 7], ['p2', 1], ['p3', 11]]);
      assert.equal(state.queues.size, 0);
      assert.equal(state.nextSeq, 5);
    });

    it('flags messages at or below a dispatch mark as redelivered, per target', async function () {
      await store.open();
      const a = durableKey('c', 'a');
      await store.addDurableSubscription({ clientId: 'c', name: 'a', destination: '/topic/t' });
      await store.addMessage(message(1));
      await store.addMessage(message(2));
      await store.markDispatched(Q, 1);
      await store.addMessage(message(3));
      await store.addMessage(message(4, { destination: '/topic/t', targets: [a] }));
      await store.markDispatched(a, 4);
      await store.addMessage(message(5, { destination: '/topic/t', targets: [a] }));
      const state = await restart();
      assert.deepEqual(state.queues.get(Q)!.map((m) => [m.seq, m.redelivered]), [[1, true], [2, true], [3, false]]);
      assert.deepEqual(pendingOf(state, 'c', 'a')!.map((m) => [m.seq, m.redelivered]), [[4, true], [5, false]]);
    });

    it('markDispatched returns a promise until the mark settles, then undefined', async function () {
      await store.open();
      await store.addMessage(message(1));
      const first = store.markDispatched(Q, 1);
      assert.ok(first instanceof Promise, 'an unsettled mark is a promise');
      const again = store.markDispatched(Q, 1);
      assert.ok(again instanceof Promise, 'still unsettled within the same batch');
      await Promise.all([first, again]);
      assert.equal(store.markDispatched(Q, 1), undefined);
      assert.ok(store.markDispatched(Q, 2) instanceof Promise, 'a higher seq needs a new mark');
      assert.ok(store.markDispatched('/queue/other', 1) instanceof Promise, 'marks are per target');
    });

    it('writes the mark ahead: it covers every message stored before it, not later ones', async function () {
      await store.open();
      for (let seq = 1; seq <= 5; seq++) await store.addMessage(message(seq));
      await store.markDispatched(Q, 2);
      for (let seq = 1; seq <= 5; seq++) assert.equal(store.markDispatched(Q, seq), undefined, `seq ${seq} is covered`);
      await store.addMessage(message(6));
      const state = await restart();
      assert.deepEqual(state.queues.get(Q)!.map((m) => [m.seq, m.redelivered]), [[1, true], [2, true], [3, true], [4, true], [5, true], [6, false]]);
      assert.equal(store.markDispatched(Q, 5), undefined, 'a recovered mark is settled');
      assert.ok(store.markDispatched(Q, 6) instanceof Promise);
    });

    it('a mark asked for before addMessage or commit is settled when that call resolves', async function () {
      await store.open();
      store.markDispatched(Q, 1);
      await store.addMessage(message(1));
      assert.equal(store.markDispatched(Q, 1), undefined);
      store.markDispatched(Q, 2);
      await store.commit([{ op: 'add', message: message(2) }]);
      assert.equal(store.markDispatched(Q, 2), undefined);
      const state = await restart();
      assert.deepEqual(state.queues.get(Q)!.map((m) => [m.seq, m.redelivered]), [[1, true], [2, true]]);
    });

    it('keeps a settled mark through a crash: the message comes back redelivered', async function () {
      await store.open();
      await store.addMessage(message(1));
      await store.addMessage(message(2));
      const mark = store.markDispatched(Q, 1);
      assert.ok(mark instanceof Promise);
      await mark;
      await store.addMessage(message(3));
      await harness.crash(store);
      store = harness.start();
      const state = await store.open();
      assert.equal(state.cleanShutdown, false);
      assert.deepEqual(state.queues.get(Q)!.map((m) => [m.seq, m.redelivered]), [[1, true], [2, true], [3, false]]);
    });

    it('forgets the marks of a removed durable subscription, also one not yet settled', async function () {
      await store.open();
      const a = durableKey('c', 'a');
      await store.addDurableSubscription({ clientId: 'c', name: 'a', destination: '/topic/t' });
      await store.addMessage(message(1, { destination: '/topic/t', targets: [a] }));
      await store.markDispatched(a, 1);
      await store.addMessage(message(2, { destination: '/topic/t', targets: [a] }));
      const unsettled = store.markDispatched(a, 2);
      const removed = store.removeDurableSubscription('c', 'a');
      await Promise.all([unsettled, removed]);
      await store.addDurableSubscription({ clientId: 'c', name: 'a', destination: '/topic/t' });
      assert.ok(store.markDispatched(a, 1) instanceof Promise, 'the old mark is gone');
      await store.addMessage(message(3, { destination: '/topic/t', targets: [a] }));
      const state = await restart();
      assert.deepEqual(pendingOf(state, 'c', 'a')!.map((m) => [m.seq, m.redelivered]), [[3, false]]);
    });

    it('reports a restart after a crash as unclean and keeps what was acknowledged', async function () {
      await store.open();
      await store.addMessage(message(1));
      await store.addMessage(message(2));
      await store.ack(Q, 1);
      await harness.crash(store);
      store = harness.start();
      const state = await store.open();
      assert.equal(state.cleanShutdown, false);
      assert.deepEqual(seqsOf(state.queues.get(Q)), [2]);
      const after = await restart();
      assert.equal(after.cleanShutdown, true);
    });

    it('keeps an ack made with { sync: false } once it settles, through a crash of the process', async function () {
      await store.open();
      await store.addMessage(message(1));
      await store.addMessage(message(2));
      await store.ack(Q, 1, { sync: false });
      assert.equal(store.stats().liveMessages, 1);
      await harness.crash(store);
      store = harness.start();
      const state = await store.open();
      assert.equal(state.cleanShutdown, false);
      assert.deepEqual(seqsOf(state.queues.get(Q)), [2]);
    });

    it('sync() settles once earlier calls are durable, also with nothing to sync, and refuses when closed', async function () {
      await store.open();
      await store.addMessage(message(1));
      await store.addMessage(message(2));
      await store.ack(Q, 1, { sync: false });
      await store.sync();
      await store.sync();
      const state = await restart();
      assert.deepEqual(seqsOf(state.queues.get(Q)), [2]);
      await store.close();
      await assert.rejects(store.sync(), { code: StoreErrorCodes.JOURNAL_CLOSED });
    });

    it('refuses work when not open, with TANDEM_ERR_JOURNAL_CLOSED', async function () {
      await assert.rejects(store.addMessage(message(1)), { code: StoreErrorCodes.JOURNAL_CLOSED });
      await store.open();
      await store.close();
      await assert.rejects(store.ack(Q, 1), { code: StoreErrorCodes.JOURNAL_CLOSED });
      await assert.rejects(store.commit([{ op: 'add', message: message(1) }]), { code: StoreErrorCodes.JOURNAL_CLOSED });
      await assert.rejects(store.reclaim(), { code: StoreErrorCodes.JOURNAL_CLOSED });
      const mark = store.markDispatched(Q, 1);
      assert.ok(mark instanceof Promise);
      await assert.rejects(mark, { code: StoreErrorCodes.JOURNAL_CLOSED });
    });

    it('fence() refuses every later write with TANDEM_ERR_FENCED', async function () {
      await store.open();
      await store.addMessage(message(1));
      const inProgress = store.addMessage(message(2)).then(
        () => 'confirmed before the fence',
        (error: { code?: string }) => error.code ?? 'no code',
      );
      store.fence('the lock was lost');
      // A write already under way is either done or refused, never confirmed after the fence.
      assert.ok(['confirmed before the fence', StoreErrorCodes.FENCED as string].includes(await inProgress));
      await assert.rejects(store.addMessage(message(3)), { code: StoreErrorCodes.FENCED });
      await assert.rejects(store.ack(Q, 1), { code: StoreErrorCodes.FENCED });
      store.fence('again'); // idempotent
      await harness.crash(store);
      store = harness.start();
      const recovered = await store.open();
      // What was confirmed before the fence is there; message 3 never reached the journal.
      assert.deepEqual(
        (recovered.queues.get(Q) ?? []).map((m) => m.seq).filter((seq) => seq !== 2),
        [1],
      );
    });

    it('counts live messages in stats until every target has acked', async function () {
      await store.open();
      await store.addMessage(message(1, { targets: [Q, '/queue/b'] }));
      await store.addMessage(message(2));
      assert.equal(store.stats().liveMessages, 2);
      await store.ack(Q, 1);
      assert.equal(store.stats().liveMessages, 2);
      await store.ack('/queue/b', 1);
      assert.equal(store.stats().liveMessages, 1);
      assert.equal(store.stats().state, 'open');
      const state = await restart();
      assert.deepEqual(seqsOf(state.queues.get('/queue/b')), []);
      assert.deepEqual(seqsOf(state.queues.get(Q)), [2]);
    });
  });
}
