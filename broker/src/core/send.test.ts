// The send path and recovery: store-before-visible, duplicate producer sequences, a failed store,
// rebuilding from a RecoveredState, and the figures for metrics.
import { expect } from 'chai';
import {
  MemoryStore,
  StoreError,
  StoreErrorCodes,
  durableKey,
  silentLogger,
  type MessageStore,
  type RecoveredMessage,
  type RecoveredState,
  type StoredMessage,
} from '@tandem-mq/shared-store';
import { createBrokerCore } from './index.js';
import { DEFAULT_DEAD_LETTER_POLICY, DEFAULT_REDELIVERY_POLICY } from './policies.js';
import { FakeClock } from './testing/fake-clock.js';
import { RecordingSink, msg, overrideStore, sendAll, settle, startHarness, type Harness } from './testing/harness.js';

describe('core: send path', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  it('a persistent message is stored before send() resolves and offered to consumers only once stored', async () => {
    let release: (() => void) | undefined;
    h = await startHarness({
      wrapStore: (store: MessageStore) =>
        overrideStore(store, {
          addMessage(message: StoredMessage) {
            const added = store.addMessage(message);
            return new Promise<void>((resolve) => (release = () => added.then(resolve)));
          },
        }),
    });
    const consumer = h.connect();
    await consumer.connection.subscribe({ id: 's', destination: '/queue/q', ack: 'auto' });
    let resolved = false;
    const sending = h.connect().connection.send(msg('/queue/q', 'p')).then(() => (resolved = true));
    await settle();
    expect(resolved).to.equal(false);
    expect(consumer.sink.deliveries).to.have.length(0);
    release!();
    await sending;
    await settle();
    expect(consumer.sink.bodies()).to.deep.equal(['p']);
  });

  it('non-persistent messages are never stored', async () => {
    h = await startHarness();
    await sendAll(h.connect(), '/queue/q', ['np'], { persistent: false });
    expect(h.store.stats().liveMessages).to.equal(0);
    expect(h.core.destinations().find((s) => s.destination === '/queue/q')!.depth).to.equal(1);
  });

  it('duplicate producer sequence dropped: a copy with seq <= the last seen resolves but is not enqueued', async () => {
    h = await startHarness();
    const producer = h.connect();
    await producer.connection.send(msg('/queue/q', 'one', { producerId: 'P', producerSeq: 1 }));
    await producer.connection.send(msg('/queue/q', 'two', { producerId: 'P', producerSeq: 2 }));
    await producer.connection.send(msg('/queue/q', 'two again', { producerId: 'P', producerSeq: 2 }));
    await producer.connection.send(msg('/queue/q', 'one again', { producerId: 'P', producerSeq: 1 }));
    await producer.connection.send(msg('/queue/q', 'other', { producerId: 'Q', producerSeq: 1 }));
    await settle();
    expect(h.core.destinations().find((s) => s.destination === '/queue/q')!.depth).to.equal(3);
    expect(h.core.counters().duplicatesDropped).to.equal(2);
    // The producer map survives a restart (recovered.producerSeqs).
    h = await h.restart();
    await h.connect().connection.send(msg('/queue/q', 'two after failover', { producerId: 'P', producerSeq: 2 }));
    const consumer = h.connect();
    await consumer.connection.subscribe({ id: 's', destination: '/queue/q', ack: 'auto' });
    await settle();
    expect(consumer.sink.bodies()).to.deep.equal(['one', 'two', 'other']);
  });

  it('a failing store rejects persistent sends with TANDEM_ERR_JOURNAL_FAILED and confirms nothing', async () => {
    const failed = new StoreError(StoreErrorCodes.JOURNAL_FAILED, 'fdatasync failed: EIO');
    h = await startHarness({
      wrapStore: (store: MessageStore) =>
        overrideStore(store, {
          state: 'failed',
          addMessage: () => Promise.reject(failed),
          commit: () => Promise.reject(failed),
        }),
    });
    const consumer = h.connect();
    await consumer.connection.subscribe({ id: 's', destination: '/queue/q', ack: 'auto' });
    const producer = h.connect();
    const error = await producer.connection.send(msg('/queue/q', 'p')).then(() => undefined, (e: unknown) => e);
    expect(error).to.equal(failed);
    expect((error as StoreError).code).to.equal('TANDEM_ERR_JOURNAL_FAILED');
    producer.connection.begin('t');
    await producer.connection.send(msg('/queue/q', 'in tx'), 't');
    expect(await producer.connection.commit('t').then(() => undefined, (e: unknown) => e)).to.equal(failed);
    await settle();
    expect(consumer.sink.deliveries).to.have.length(0);
    expect(h.core.counters().enqueued).to.equal(0);
  });

  it('counters for metrics: enqueued, dequeued, connections', async () => {
    h = await startHarness();
    const consumer = h.connect();
    await consumer.connection.subscribe({ id: 's', destination: '/queue/q', ack: 'auto' });
    await sendAll(h.connect(), '/queue/q', ['1', '2']);
    expect(h.core.counters()).to.include({ enqueued: 2, dequeued: 2, connections: 2, connectionsOpened: 2 });
    consumer.connection.close();
    expect(h.core.counters().connections).to.equal(1);
  });
});

function recoveredMessage(seq: number, destination: string, targets: string[], redelivered: boolean): RecoveredMessage {
  return { seq, id: `ID:old-${seq}`, destination, headers: { n: String(seq) }, body: Buffer.from(`m${seq}`), priority: 4, expires: 0, timestamp: 1, targets, redelivered };
}

describe('core: recovery from a RecoveredState', () => {
  it('rebuilds queues and durable subscriptions in seq order, with redelivered flags and nextSeq', async () => {
    const store = new MemoryStore();
    await store.open();
    const clock = new FakeClock();
    const durable = durableKey('c1', 'sub');
    const recovered: RecoveredState = {
      queues: new Map([
        ['/queue/q', [recoveredMessage(3, '/queue/q', ['/queue/q'], true), recoveredMessage(7, '/queue/q', ['/queue/q'], false)]],
        ['/queue/Consumer.A.VirtualTopic.T', [recoveredMessage(8, '/topic/VirtualTopic.T', ['/queue/Consumer.A.VirtualTopic.T', durable], false)]],
      ]),
      durableSubscriptions: [
        { info: { clientId: 'c1', name: 'sub', destination: '/topic/VirtualTopic.T' }, pending: [recoveredMessage(8, '/topic/VirtualTopic.T', ['/queue/Consumer.A.VirtualTopic.T', durable], false)] },
      ],
      producerSeqs: new Map([['P', 5]]),
      nextSeq: 100,
      cleanShutdown: false,
      problems: [],
      stats: { segments: 0, records: 0, bytes: 0, millis: 0 },
    };
    const core = createBrokerCore({ store, recovered, logger: silentLogger(), redelivery: DEFAULT_REDELIVERY_POLICY, deadLetter: DEFAULT_DEAD_LETTER_POLICY, now: clock.now, timers: clock, brokerId: 'b' });
    try {
      const sink = new RecordingSink();
      const connection = core.openConnection({ remoteAddress: '127.0.0.1', protocol: 'test', clientId: 'c1' }, sink);
      await connection.send(msg('/queue/q', 'dup', { producerId: 'P', producerSeq: 5 }));
      await connection.send(msg('/queue/q', 'new'));
      await connection.subscribe({ id: 'q', destination: '/queue/q', ack: 'auto' });
      await settle();
      const fromQueue = sink.take();
      expect(fromQueue.map((d) => d.body.toString())).to.deep.equal(['m3', 'm7', 'new']);
      expect(fromQueue.map((d) => d.redelivered)).to.deep.equal([true, false, false]);
      expect(fromQueue[0]!.messageId).to.equal('ID:old-3');
      expect(fromQueue[2]!.messageId).to.equal('ID:b-100');
      await connection.subscribe({ id: 'd', destination: '/topic/VirtualTopic.T', ack: 'auto', durableName: 'sub' });
      await connection.subscribe({ id: 'v', destination: '/queue/Consumer.A.VirtualTopic.T', ack: 'auto' });
      await settle();
      expect(sink.take().map((d) => `${d.subscriptionId}:${d.body.toString()}`).sort()).to.deep.equal(['d:m8', 'v:m8']);
      // The recovered consumer queue is wired to its virtual topic again.
      await connection.send(msg('/topic/VirtualTopic.T', 'fresh'));
      await settle();
      expect(sink.take().map((d) => `${d.subscriptionId}:${d.body.toString()}`).sort()).to.deep.equal(['d:fresh', 'v:fresh']);
    } finally {
      await core.close();
      await store.close();
    }
  });

  it('a restart over the same store data redelivers what was dispatched and keeps durable pending messages', async () => {
    let h = await startHarness();
    try {
      const consumer = h.connect({ clientId: 'c1' });
      await consumer.connection.subscribe({ id: 'q', destination: '/queue/q', ack: 'client', prefetch: 1 });
      await consumer.connection.subscribe({ id: 'd', destination: '/topic/t', ack: 'client', durableName: 'sub' });
      await consumer.connection.unsubscribe('d');
      const producer = h.connect();
      await sendAll(producer, '/queue/q', ['q1', 'q2']);
      await sendAll(producer, '/topic/t', ['t1']);
      expect(consumer.sink.bodies()).to.deep.equal(['q1']);
      h = await h.restart();
      const again = h.connect({ clientId: 'c1' });
      await again.connection.subscribe({ id: 'q', destination: '/queue/q', ack: 'auto' });
      await again.connection.subscribe({ id: 'd', destination: '/topic/t', ack: 'auto', durableName: 'sub' });
      await settle();
      const deliveries = again.sink.take();
      // q2 was never delivered, but it was sent while the queue had a consumer, so the send path
      // marked it ahead ("may have been delivered", which JMS allows). t1 waited for an inactive
      // durable subscriber and was never marked.
      expect(deliveries.map((d) => [d.body.toString(), d.redelivered])).to.deep.equal([['q1', true], ['q2', true], ['t1', false]]);
    } finally {
      await h.stop();
    }
  });
});
