// Dispatch marks on the delivery path: a persistent delivery reaches the sink only once its mark
// is settled, later deliveries on the connection keep their order behind it, the send path's
// pre-mark makes steady-state deliveries wait for nothing, and after a crash the flag holds.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import {
  FaultyFileIO,
  StoreError,
  StoreErrorCodes,
  openFileStore,
  silentLogger,
  type MessageStore,
  type RecoveredState,
  type StoredMessage,
} from '@tandem-mq/shared-store';
import { captureLog } from '@tandem-mq/shared-store/testing';
import { createBrokerCore, type RunningCore } from './index.js';
import { DEFAULT_DEAD_LETTER_POLICY, DEFAULT_REDELIVERY_POLICY } from './policies.js';
import { RecordingSink, msg, overrideStore, sendAll, settle, startHarness, type Harness } from './testing/harness.js';

function queueStats(h: Harness, name: string) {
  return h.core.destinations().find((s) => s.destination === name);
}

/** A store view that logs each mark (and whether the caller had to wait) and each add, in call order. */
function recording(store: MessageStore, log: string[]): MessageStore {
  return overrideStore(store, {
    markDispatched(target: string, seq: number) {
      const gate = store.markDispatched(target, seq);
      log.push(`${gate === undefined ? 'settled' : 'wait'} ${target} ${seq}`);
      return gate;
    },
    addMessage(message: StoredMessage) {
      log.push(`add ${message.seq}`);
      return store.addMessage(message);
    },
  });
}

/** Waits for something that needs real I/O (an fdatasync) to happen; fails after a few seconds. */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

describe('core: dispatch marks gate deliveries', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  it('holds a persistent delivery until its mark settles, in flight meanwhile; one mark covers the backlog', async () => {
    h = await startHarness({ holdMarks: true });
    await sendAll(h.connect(), '/queue/q', ['a', 'b', 'c']); // no consumer yet: nothing is pre-marked
    const consumer = h.connect();
    await consumer.connection.subscribe({ id: 's', destination: '/queue/q', ack: 'client-individual' });
    await settle();
    expect(consumer.sink.deliveries).to.have.length(0);
    expect(queueStats(h, '/queue/q')).to.include({ depth: 0, inFlight: 3 });
    h.store.releaseMarks();
    await settle();
    const got = consumer.sink.take();
    expect(got.map((d) => d.body.toString())).to.deep.equal(['a', 'b', 'c']);
    expect(got.map((d) => d.redelivered)).to.deep.equal([false, false, false]);
    expect(h.store.markDispatched('/queue/q', 3), 'the mark was written ahead over the backlog').to.equal(undefined);
    await consumer.connection.ack({ ackId: got[1]!.ackId });
    expect(queueStats(h, '/queue/q')).to.include({ inFlight: 2 });
  });

  it('auto ack: a held delivery is acknowledged when it reaches the sink, not before', async () => {
    h = await startHarness({ holdMarks: true });
    await sendAll(h.connect(), '/queue/q', ['a', 'b']);
    const consumer = h.connect();
    await consumer.connection.subscribe({ id: 's', destination: '/queue/q', ack: 'auto' });
    await settle();
    expect(consumer.sink.deliveries).to.have.length(0);
    expect(h.core.counters().dequeued).to.equal(0);
    expect(h.store.stats().liveMessages).to.equal(2);
    h.store.releaseMarks();
    await settle();
    expect(consumer.sink.bodies()).to.deep.equal(['a', 'b']);
    expect(h.core.counters().dequeued).to.equal(2);
    expect(h.store.stats().liveMessages).to.equal(0);
    expect(queueStats(h, '/queue/q')).to.include({ depth: 0, inFlight: 0 });
  });

  it('keeps the order on a connection: a delivery needing no mark waits behind one that does', async () => {
    h = await startHarness({ holdMarks: true });
    const producer = h.connect();
    await sendAll(producer, '/queue/stored', ['p1']);
    const consumer = h.connect();
    await consumer.connection.subscribe({ id: 'a', destination: '/queue/stored', ack: 'client-individual' });
    await consumer.connection.subscribe({ id: 'b', destination: '/queue/fast', ack: 'auto' });
    await settle();
    await sendAll(producer, '/queue/fast', ['np1', 'np2'], { persistent: false });
    expect(consumer.sink.deliveries, 'the non-persistent messages do not overtake').to.have.length(0);
    h.store.releaseMarks();
    await settle();
    expect(consumer.sink.bodies()).to.deep.equal(['p1', 'np1', 'np2']);
    // Once the queue is empty again, non-persistent deliveries go straight through.
    await sendAll(producer, '/queue/fast', ['np3'], { persistent: false });
    expect(consumer.sink.bodies()).to.deep.equal(['np3']);
  });

  it('the send path marks ahead in the batch of the add, so steady-state deliveries never wait', async () => {
    const log: string[] = [];
    h = await startHarness({ wrapStore: (store) => recording(store, log) });
    const consumer = h.connect({ clientId: 'c' });
    await consumer.connection.subscribe({ id: 'q', destination: '/queue/q', ack: 'client-individual' });
    await consumer.connection.subscribe({ id: 'd', destination: '/topic/t', ack: 'auto', durableName: 'sub' });
    await settle();
    const producer = h.connect();
    await sendAll(producer, '/queue/q', ['q1', 'q2']);
    await sendAll(producer, '/topic/t', ['t3']);
    await sendAll(producer, '/queue/idle', ['i4']); // no consumer: no mark
    expect(consumer.sink.bodies()).to.deep.equal(['q1', 'q2', 't3']);
    // A sender hears its send is stored before the delivery is dispatched, so it may send the next
    // one (q2) first; every delivery still finds its mark settled.
    expect(log).to.deep.equal([
      'wait /queue/q 1', 'add 1',
      'wait /queue/q 2', 'add 2', 'settled /queue/q 1', 'settled /queue/q 2',
      'wait durable:c:sub 3', 'add 3', 'settled durable:c:sub 3',
      'add 4',
    ]);
  });

  it('transactions: sends committed to a consumed queue are pre-marked as well', async () => {
    const log: string[] = [];
    h = await startHarness({ wrapStore: (store) => recording(store, log) });
    const consumer = h.connect();
    await consumer.connection.subscribe({ id: 'q', destination: '/queue/q', ack: 'auto' });
    const producer = h.connect();
    producer.connection.begin('tx');
    await producer.connection.send(msg('/queue/q', 'x1'), 'tx');
    await producer.connection.send(msg('/queue/q', 'x2'), 'tx');
    await producer.connection.commit('tx');
    await settle();
    expect(consumer.sink.bodies()).to.deep.equal(['x1', 'x2']);
    expect(log).to.deep.equal(['wait /queue/q 1', 'wait /queue/q 2', 'settled /queue/q 1', 'settled /queue/q 2']);
  });

  it('a mark that cannot be stored withholds the delivery, logs it, and the message returns when the consumer leaves', async () => {
    const captured = captureLog();
    h = await startHarness({ holdMarks: true, logger: captured.logger });
    const producer = h.connect();
    await sendAll(producer, '/queue/q', ['a']);
    const consumer = h.connect();
    await consumer.connection.subscribe({ id: 's', destination: '/queue/q', ack: 'client-individual' });
    await consumer.connection.subscribe({ id: 'f', destination: '/queue/fast', ack: 'auto' });
    await settle();
    h.store.failMarks(new StoreError(StoreErrorCodes.JOURNAL_FAILED, 'fdatasync failed: EIO'));
    await settle();
    expect(consumer.sink.deliveries).to.have.length(0);
    expect(queueStats(h, '/queue/q')).to.include({ depth: 0, inFlight: 1 });
    const withheld = captured.events('core.delivery-withheld');
    expect(withheld).to.have.length(1);
    expect((withheld[0]!['err'] as { code: string }).code).to.equal(StoreErrorCodes.JOURNAL_FAILED);
    // The connection is not stuck: what needs no mark still flows.
    await sendAll(producer, '/queue/fast', ['np'], { persistent: false });
    expect(consumer.sink.bodies()).to.deep.equal(['np']);
    consumer.connection.close();
    await settle();
    expect(queueStats(h, '/queue/q')).to.include({ depth: 1, inFlight: 0 });
    const next = h.connect();
    await next.connection.subscribe({ id: 's', destination: '/queue/q', ack: 'auto' });
    await settle();
    h.store.releaseMarks();
    await settle();
    expect(next.sink.take().map((d) => [d.body.toString(), d.redelivered])).to.deep.equal([['a', true]]);
  });

  it('a held delivery whose consumer leaves goes back to the queue and never reaches the old sink', async () => {
    h = await startHarness({ holdMarks: true });
    await sendAll(h.connect(), '/queue/q', ['a']);
    const first = h.connect();
    await first.connection.subscribe({ id: 's', destination: '/queue/q', ack: 'auto' });
    await settle();
    await first.connection.unsubscribe('s');
    h.store.releaseMarks();
    await settle();
    expect(first.sink.deliveries).to.have.length(0);
    expect(h.core.counters().dequeued).to.equal(0);
    const second = h.connect();
    await second.connection.subscribe({ id: 's', destination: '/queue/q', ack: 'auto' });
    await settle();
    expect(second.sink.bodies()).to.deep.equal(['a']);
    expect(h.store.stats().liveMessages).to.equal(0);
  });
});

describe('core: dispatch marks over the file store', () => {
  let dir: string;
  const cores: RunningCore[] = [];
  const stores: MessageStore[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tandem-core-marks-'));
  });
  afterEach(async () => {
    for (const core of cores.splice(0)) await core.close();
    for (const store of stores.splice(0)) await store.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  async function start(fileIO?: FaultyFileIO, log?: string[]): Promise<{ core: RunningCore; recovered: RecoveredState }> {
    const { store, recovered } = await openFileStore({ dir, mode: 'durability', ...(fileIO === undefined ? {} : { fileIO }) });
    stores.push(store);
    const core = createBrokerCore({
      store: log === undefined ? store : recording(store, log),
      recovered,
      logger: silentLogger(),
      redelivery: DEFAULT_REDELIVERY_POLICY,
      deadLetter: DEFAULT_DEAD_LETTER_POLICY,
      brokerId: 'b',
    });
    cores.push(core);
    return { core, recovered };
  }

  function connect(core: RunningCore): { connection: ReturnType<RunningCore['openConnection']>; sink: RecordingSink } {
    const sink = new RecordingSink();
    return { connection: core.openConnection({ remoteAddress: '127.0.0.1', protocol: 'test' }, sink), sink };
  }

  it('with group commit, the pre-mark is settled by the time the stored message is delivered', async () => {
    const log: string[] = [];
    const { core } = await start(undefined, log);
    const consumer = connect(core);
    await consumer.connection.subscribe({ id: 's', destination: '/queue/q', ack: 'auto' });
    const producer = connect(core);
    await Promise.all([1, 2, 3].map((n) => producer.connection.send(msg('/queue/q', `m${n}`))));
    await settle();
    expect(consumer.sink.bodies()).to.deep.equal(['m1', 'm2', 'm3']);
    expect(log.filter((line) => line.startsWith('settled')), 'every delivery found its mark settled').to.have.length(3);
    expect(log.filter((line) => line.startsWith('wait')), 'only the send path asked for marks').to.have.length(3);
  });

  it('after kill -9, a message that was delivered but not acknowledged comes back redelivered', async () => {
    const io = new FaultyFileIO();
    const { core } = await start(io);
    const producer = connect(core);
    await producer.connection.send(msg('/queue/q', 'backlog')); // stored with no consumer: not marked
    await producer.connection.send(msg('/queue/other', 'never delivered'));
    const consumer = connect(core);
    await consumer.connection.subscribe({ id: 's', destination: '/queue/q', ack: 'client-individual' });
    await until(() => consumer.sink.deliveries.length === 1); // delivered once its mark is on disk
    await producer.connection.send(msg('/queue/q', 'live')); // pre-marked in its own batch
    await until(() => consumer.sink.deliveries.length === 2);
    expect(consumer.sink.bodies()).to.deep.equal(['backlog', 'live']);
    // kill -9: from here nothing the first process does reaches the disk, and nothing is closed cleanly.
    io.crash();
    const { core: after, recovered } = await start();
    expect(recovered.cleanShutdown).to.equal(false);
    const again = connect(after);
    await again.connection.subscribe({ id: 'q', destination: '/queue/q', ack: 'auto' });
    await again.connection.subscribe({ id: 'o', destination: '/queue/other', ack: 'auto' });
    await until(() => again.sink.deliveries.length === 3); // recovered backlogs wait for a mark of their own
    const got = again.sink.take().map((d) => [d.body.toString(), d.redelivered]);
    expect(got).to.deep.equal([['backlog', true], ['live', true], ['never delivered', false]]);
  });

  it('a crash before the mark is written: the client never saw the message, so no flag is owed', async () => {
    const io = new FaultyFileIO();
    const { core } = await start(io);
    const producer = connect(core);
    await producer.connection.send(msg('/queue/q', 'backlog'));
    const consumer = connect(core);
    await consumer.connection.subscribe({ id: 's', destination: '/queue/q', ack: 'client-individual' });
    // Dispatch has run and asked for the mark; the group commit that would write it has not.
    io.crash();
    await settle();
    const seen = consumer.sink.take().map((d) => d.body.toString());
    expect(seen, 'nothing reached the client ahead of its mark').to.deep.equal([]);
    const { core: after } = await start();
    const again = connect(after);
    await again.connection.subscribe({ id: 's', destination: '/queue/q', ack: 'auto' });
    await until(() => again.sink.deliveries.length === 1);
    expect(again.sink.take().map((d) => [d.body.toString(), d.redelivered])).to.deep.equal([['backlog', false]]);
  });
});
