// NACK and redelivery (policy delays), the dead-letter queue after maximumRedeliveries, returns on
// consumer close, and expiry (at dispatch and by the sweep).
import { expect } from 'chai';
import { msg, sendAll, settle, startHarness, type Client, type Harness } from './testing/harness.js';

async function subscribe(h: Harness, destination: string, ack: 'auto' | 'client' | 'client-individual' = 'client-individual'): Promise<Client> {
  const client = h.connect();
  await client.connection.subscribe({ id: 's', destination, ack });
  await settle();
  return client;
}

function queueStats(h: Harness, name: string) {
  return h.core.destinations().find((s) => s.destination === name);
}

describe('core: NACK and redelivery', () => {
  let h: Harness;
  afterEach(async () => {
    await h.stop();
  });

  it('NACK: the message comes back redelivered with redeliveryCount+1, after initialRedeliveryDelay', async () => {
    h = await startHarness({ redelivery: { initialRedeliveryDelay: 1000, redeliveryDelay: 5000 } });
    const consumer = await subscribe(h, '/queue/q');
    await sendAll(h.connect(), '/queue/q', ['m']);
    const first = consumer.sink.take()[0]!;
    expect(first).to.include({ redelivered: false, redeliveryCount: 0 });
    await consumer.connection.nack({ ackId: first.ackId });
    await settle();
    expect(consumer.sink.deliveries).to.have.length(0);
    expect(queueStats(h, '/queue/q')!.depth).to.equal(1);
    h.clock.advance(999);
    await settle();
    expect(consumer.sink.deliveries).to.have.length(0);
    h.clock.advance(1);
    await settle();
    const second = consumer.sink.take()[0]!;
    expect(second).to.include({ redelivered: true, redeliveryCount: 1, messageId: first.messageId });
    // The second redelivery waits redeliveryDelay.
    await consumer.connection.nack({ ackId: second.ackId });
    h.clock.advance(4999);
    await settle();
    expect(consumer.sink.deliveries).to.have.length(0);
    h.clock.advance(1);
    await settle();
    expect(consumer.sink.take()[0]).to.include({ redeliveryCount: 2 });
  });

  it('NACK with exponential back-off: delays multiply by backOffMultiplier', async () => {
    h = await startHarness({ redelivery: { initialRedeliveryDelay: 100, useExponentialBackOff: true, backOffMultiplier: 3, maximumRedeliveries: -1 } });
    const consumer = await subscribe(h, '/queue/q');
    await sendAll(h.connect(), '/queue/q', ['m']);
    const waits: number[] = [];
    for (let round = 0; round < 3; round++) {
      const delivery = consumer.sink.take()[0]!;
      await consumer.connection.nack({ ackId: delivery.ackId });
      const started = h.clock.now();
      while (consumer.sink.deliveries.length === 0) {
        h.clock.advance(10);
        await settle();
      }
      waits.push(h.clock.now() - started);
    }
    expect(waits).to.deep.equal([100, 300, 900]);
  });

  it('after maximumRedeliveries the message goes to the DLQ with original-destination and dlqDeliveryFailureCause', async () => {
    h = await startHarness({ redelivery: { maximumRedeliveries: 2 } });
    const consumer = await subscribe(h, '/queue/orders');
    await sendAll(h.connect(), '/queue/orders', ['poison'], { headers: { app: 'x' } });
    for (let i = 0; i < 3; i++) {
      const delivery = consumer.sink.take()[0]!;
      expect(delivery.redeliveryCount).to.equal(i);
      await consumer.connection.nack({ ackId: delivery.ackId });
      await settle();
    }
    expect(consumer.sink.deliveries).to.have.length(0);
    expect(queueStats(h, '/queue/orders')).to.include({ depth: 0, inFlight: 0 });
    const dlq = await subscribe(h, '/queue/ActiveMQ.DLQ', 'auto');
    const dead = dlq.sink.take();
    expect(dead).to.have.length(1);
    expect(dead[0]!.body.toString()).to.equal('poison');
    expect(dead[0]!.destination).to.equal('/queue/ActiveMQ.DLQ');
    expect(dead[0]!.persistent).to.equal(true);
    expect(dead[0]!.headers).to.include({
      app: 'x',
      'original-destination': '/queue/orders',
      dlqDeliveryFailureCause: 'redelivery count 3 exceeded maximumRedeliveries 2',
    });
    expect(h.core.counters().deadLettered).to.equal(1);
    // The move was atomic in the store: the original is gone, the DLQ copy was consumed (auto).
    expect(h.store.stats().liveMessages).to.equal(0);
  });

  it('the DLQ is chosen by the first matching dead-letter rule, and the move survives a restart', async () => {
    h = await startHarness({ redelivery: { maximumRedeliveries: 0 }, deadLetter: { rules: [{ prefix: '/queue/orders.', queue: 'DLQ.orders' }] } });
    const consumer = await subscribe(h, '/queue/orders.eu');
    await sendAll(h.connect(), '/queue/orders.eu', ['bad']);
    await consumer.connection.nack({ ackId: consumer.sink.take()[0]!.ackId });
    await settle();
    h = await h.restart();
    expect(queueStats(h, '/queue/orders.eu')?.depth ?? 0).to.equal(0);
    expect(queueStats(h, '/queue/DLQ.orders')!.depth).to.equal(1);
    const dlq = await subscribe(h, '/queue/DLQ.orders', 'auto');
    expect(dlq.sink.take()[0]!.headers['original-destination']).to.equal('/queue/orders.eu');
  });

  it('a consumer closing with unacked deliveries returns them to the front, in order, redelivered', async () => {
    h = await startHarness({ redelivery: { initialRedeliveryDelay: 60_000 } });
    const consumer = h.connect();
    await consumer.connection.subscribe({ id: 's', destination: '/queue/q', ack: 'client', prefetch: 3 });
    await sendAll(h.connect(), '/queue/q', ['1', '2', '3', '4']);
    expect(consumer.sink.take()).to.have.length(3);
    consumer.connection.close();
    // No NACK, so no redelivery delay.
    const next = await subscribe(h, '/queue/q', 'auto');
    const deliveries = next.sink.take();
    expect(deliveries.map((d) => d.body.toString())).to.deep.equal(['1', '2', '3', '4']);
    expect(deliveries.map((d) => d.redelivered)).to.deep.equal([true, true, true, false]);
  });

  it('UNSUBSCRIBE also returns the unacked deliveries', async () => {
    h = await startHarness();
    const consumer = await subscribe(h, '/queue/q', 'client');
    await sendAll(h.connect(), '/queue/q', ['1']);
    await consumer.connection.unsubscribe('s');
    const next = await subscribe(h, '/queue/q', 'auto');
    expect(next.sink.take()[0]).to.include({ redelivered: true });
  });
});

describe('core: expiry', () => {
  let h: Harness;
  afterEach(async () => {
    await h.stop();
  });

  it('an expired message is not delivered; at dispatch it goes to the DLQ (processExpired) with cause "expired"', async () => {
    h = await startHarness();
    const producer = h.connect();
    await producer.connection.send(msg('/queue/q', 'stale', { expires: h.clock.now() + 1000 }));
    await producer.connection.send(msg('/queue/q', 'fresh', { expires: h.clock.now() + 60_000 }));
    await producer.connection.send(msg('/queue/q', 'forever'));
    h.clock.time += 1000;
    const consumer = await subscribe(h, '/queue/q', 'auto');
    expect(consumer.sink.bodies()).to.deep.equal(['fresh', 'forever']);
    expect(h.core.counters().expired).to.equal(1);
    await settle();
    const dlq = await subscribe(h, '/queue/ActiveMQ.DLQ', 'auto');
    const dead = dlq.sink.take();
    expect(dead.map((d) => d.body.toString())).to.deep.equal(['stale']);
    expect(dead[0]!.headers).to.include({ dlqDeliveryFailureCause: 'expired', 'original-destination': '/queue/q' });
    // The copy in the DLQ does not expire again.
    expect(dead[0]!.expires).to.equal(0);
  });

  it('the periodic sweep moves expired messages nobody consumes to the DLQ', async () => {
    h = await startHarness();
    await h.connect().connection.send(msg('/queue/idle', 'old', { expires: h.clock.now() + 500 }));
    await settle();
    expect(queueStats(h, '/queue/idle')!.depth).to.equal(1);
    h.clock.advance(1000);
    await settle();
    expect(queueStats(h, '/queue/idle')!.depth).to.equal(0);
    expect(queueStats(h, '/queue/ActiveMQ.DLQ')!.depth).to.equal(1);
    expect(h.store.stats().liveMessages).to.equal(1);
  });

  it('with processExpired false an expired message is dropped (and acknowledged in the store)', async () => {
    h = await startHarness({ deadLetter: { processExpired: false } });
    await h.connect().connection.send(msg('/queue/idle', 'old', { expires: h.clock.now() + 500 }));
    h.clock.advance(1000);
    await settle();
    expect(queueStats(h, '/queue/idle')!.depth).to.equal(0);
    expect(queueStats(h, '/queue/ActiveMQ.DLQ')).to.equal(undefined);
    expect(h.store.stats().liveMessages).to.equal(0);
    expect(h.core.counters().expired).to.equal(1);
  });
});
