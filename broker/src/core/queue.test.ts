// Queues: order, round-robin over prefetch windows, the three ack modes, flow control, selectors
// and message groups.
import { expect } from 'chai';
import { BrokerError } from '../errors.js';
import { msg, sendAll, settle, startHarness, type Harness } from './testing/harness.js';

async function rejection(promise: Promise<unknown>): Promise<BrokerError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(BrokerError);
    return error as BrokerError;
  }
  throw new Error('expected a rejection');
}

describe('core: queues', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.stop();
  });

  it('FIFO: messages of one priority arrive in send order', async () => {
    const producer = h.connect();
    await sendAll(producer, '/queue/q', ['1', '2', '3', '4', '5']);
    const consumer = h.connect();
    await consumer.connection.subscribe({ id: 's', destination: '/queue/q', ack: 'auto' });
    await settle();
    expect(consumer.sink.bodies()).to.deep.equal(['1', '2', '3', '4', '5']);
  });

  it('priority: higher priority (0-9, default 4) first, FIFO within a priority', async () => {
    const producer = h.connect();
    for (const [body, priority] of [['low', 1], ['norm1', undefined], ['high1', 9], ['norm2', 4], ['high2', 9]] as const) {
      await producer.connection.send(msg('/queue/q', body, priority === undefined ? {} : { priority }));
    }
    const consumer = h.connect();
    await consumer.connection.subscribe({ id: 's', destination: '/queue/q', ack: 'auto' });
    await settle();
    const deliveries = consumer.sink.take();
    expect(deliveries.map((d) => d.body.toString())).to.deep.equal(['high1', 'high2', 'norm1', 'norm2', 'low']);
    expect(deliveries.map((d) => d.priority)).to.deep.equal([9, 9, 4, 4, 1]);
  });

  it('send assigns ID:<broker>-<seq> message ids, strictly increasing, and a timestamp from the clock', async () => {
    const client = h.connect();
    await client.connection.subscribe({ id: 's', destination: 'q', ack: 'auto' });
    await sendAll(client, 'q', ['a', 'b']);
    const [a, b] = client.sink.take();
    expect(a!.messageId).to.match(/^ID:test-broker-\d+$/);
    const seqOf = (id: string): number => Number(id.slice(id.lastIndexOf('-') + 1));
    expect(seqOf(b!.messageId)).to.be.greaterThan(seqOf(a!.messageId));
    expect(a!.timestamp).to.equal(h.clock.now());
    expect(a!.destination).to.equal('/queue/q');
  });

  it('round-robin over consumers with room in their prefetch window', async () => {
    const a = h.connect();
    const b = h.connect();
    await a.connection.subscribe({ id: 'a', destination: '/queue/q', ack: 'client-individual', prefetch: 2 });
    await b.connection.subscribe({ id: 'b', destination: '/queue/q', ack: 'client-individual', prefetch: 1 });
    await sendAll(h.connect(), '/queue/q', ['1', '2', '3', '4', '5']);
    // a has room for 2, b for 1: 1->a, 2->b, 3->a, then both windows are full.
    expect(a.sink.deliveries.map((d) => d.body.toString())).to.deep.equal(['1', '3']);
    expect(b.sink.deliveries.map((d) => d.body.toString())).to.deep.equal(['2']);
    await b.connection.ack({ ackId: b.sink.take()[0]!.ackId });
    await settle();
    expect(b.sink.bodies()).to.deep.equal(['4']);
    expect(h.core.destinations().find((s) => s.destination === '/queue/q')).to.include({ depth: 1, inFlight: 3, consumers: 2 });
  });

  it('auto ack: the message counts as acknowledged (store.ack) when handed to the sink', async () => {
    const producer = h.connect();
    await sendAll(producer, '/queue/q', ['1', '2']);
    expect(h.store.stats().liveMessages).to.equal(2);
    const consumer = h.connect();
    await consumer.connection.subscribe({ id: 's', destination: '/queue/q', ack: 'auto' });
    await settle();
    expect(consumer.sink.bodies()).to.deep.equal(['1', '2']);
    expect(h.store.stats().liveMessages).to.equal(0);
    expect(h.core.destinations().find((s) => s.destination === '/queue/q')).to.include({ depth: 0, inFlight: 0, dequeued: 2 });
  });

  it('auto ack: dispatch pauses while the sink is not writable and resumes on drained()', async () => {
    const consumer = h.connect();
    consumer.sink.fillAfter = 2;
    await consumer.connection.subscribe({ id: 's', destination: '/queue/q', ack: 'auto' });
    await sendAll(h.connect(), '/queue/q', ['1', '2', '3', '4']);
    expect(consumer.sink.bodies()).to.deep.equal(['1', '2']);
    expect(h.store.stats().liveMessages).to.equal(2);
    consumer.sink.writable = true;
    consumer.connection.drained();
    await settle();
    expect(consumer.sink.bodies()).to.deep.equal(['3', '4']);
  });

  it('client ack: an ACK is cumulative, covering every earlier delivery of the subscription', async () => {
    const consumer = h.connect();
    await consumer.connection.subscribe({ id: 's', destination: '/queue/q', ack: 'client' });
    await sendAll(h.connect(), '/queue/q', ['1', '2', '3', '4']);
    const deliveries = consumer.sink.take();
    await consumer.connection.ack({ ackId: deliveries[2]!.ackId });
    expect(h.store.stats().liveMessages).to.equal(1);
    const error = await rejection(consumer.connection.ack({ ackId: deliveries[0]!.ackId }));
    expect(error.code).to.equal('TANDEM_ERR_UNKNOWN_MESSAGE');
    // Closing returns only the one still unacknowledged.
    consumer.connection.close();
    const other = h.connect();
    await other.connection.subscribe({ id: 's', destination: '/queue/q', ack: 'auto' });
    await settle();
    const again = other.sink.take();
    expect(again.map((d) => d.body.toString())).to.deep.equal(['4']);
    expect(again[0]).to.include({ redelivered: true, redeliveryCount: 1 });
  });

  it('client-individual ack: an ACK covers only that message', async () => {
    const consumer = h.connect();
    await consumer.connection.subscribe({ id: 's', destination: '/queue/q', ack: 'client-individual' });
    await sendAll(h.connect(), '/queue/q', ['1', '2', '3']);
    const deliveries = consumer.sink.take();
    await consumer.connection.ack({ ackId: deliveries[1]!.ackId });
    expect(h.store.stats().liveMessages).to.equal(2);
    await consumer.connection.ack({ ackId: deliveries[0]!.ackId });
    await consumer.connection.ack({ ackId: deliveries[2]!.ackId });
    expect(h.store.stats().liveMessages).to.equal(0);
  });

  it('ACK by message-id (STOMP 1.0/1.1), with and without the subscription', async () => {
    const consumer = h.connect();
    await consumer.connection.subscribe({ id: 's', destination: '/queue/q', ack: 'client-individual' });
    await sendAll(h.connect(), '/queue/q', ['1', '2']);
    const [first, second] = consumer.sink.take();
    await consumer.connection.ack({ messageId: first!.messageId, subscriptionId: 's' });
    await consumer.connection.ack({ messageId: second!.messageId });
    expect(h.store.stats().liveMessages).to.equal(0);
  });

  it('ACK or NACK of an unknown message rejects with TANDEM_ERR_UNKNOWN_MESSAGE', async () => {
    const consumer = h.connect();
    await consumer.connection.subscribe({ id: 's', destination: '/queue/q', ack: 'client' });
    expect((await rejection(consumer.connection.ack({ ackId: 'nope' }))).code).to.equal('TANDEM_ERR_UNKNOWN_MESSAGE');
    expect((await rejection(consumer.connection.nack({ messageId: 'ID:x-1', subscriptionId: 's' }))).code).to.equal('TANDEM_ERR_UNKNOWN_MESSAGE');
  });

  it('a duplicate subscription id and an unknown one are refused', async () => {
    const consumer = h.connect();
    await consumer.connection.subscribe({ id: 's', destination: '/queue/q', ack: 'auto' });
    expect((await rejection(consumer.connection.subscribe({ id: 's', destination: '/queue/r', ack: 'auto' }))).code).to.equal('TANDEM_ERR_DUPLICATE_SUBSCRIPTION');
    expect((await rejection(consumer.connection.unsubscribe('zz'))).code).to.equal('TANDEM_ERR_UNKNOWN_SUBSCRIPTION');
    expect((await rejection(consumer.connection.send(msg('/queue/', 'x')))).code).to.equal('TANDEM_ERR_INVALID_DESTINATION');
    expect((await rejection(consumer.connection.send(msg('/topic/a.*', 'x')))).code).to.equal('TANDEM_ERR_INVALID_DESTINATION');
  });

  it('selectors filter per consumer; a message no selector matches waits', async () => {
    const red = h.connect();
    const blue = h.connect();
    await red.connection.subscribe({ id: 'r', destination: '/queue/q', ack: 'auto', selector: "color = 'red'" });
    await blue.connection.subscribe({ id: 'b', destination: '/queue/q', ack: 'auto', selector: "color = 'blue' AND JMSPriority > 3" });
    const producer = h.connect();
    await producer.connection.send(msg('/queue/q', 'r1', { headers: { color: 'red' } }));
    await producer.connection.send(msg('/queue/q', 'g1', { headers: { color: 'green' } }));
    await producer.connection.send(msg('/queue/q', 'b1', { headers: { color: 'blue' } }));
    await producer.connection.send(msg('/queue/q', 'b-low', { headers: { color: 'blue' }, priority: 1 }));
    await settle();
    expect(red.sink.bodies()).to.deep.equal(['r1']);
    expect(blue.sink.bodies()).to.deep.equal(['b1']);
    expect(h.core.destinations().find((s) => s.destination === '/queue/q')!.depth).to.equal(2);
    const any = h.connect();
    await any.connection.subscribe({ id: 'a', destination: '/queue/q', ack: 'auto' });
    await settle();
    expect(any.sink.bodies()).to.deep.equal(['g1', 'b-low']);
  });

  it('selectors see JMS header fields: JMSType, JMSCorrelationID, JMSDeliveryMode, JMSPriority, JMSRedelivered', async () => {
    const producer = h.connect();
    await producer.connection.send(msg('/queue/q', 'order-np', { headers: { type: 'order', 'correlation-id': 'c-1' }, persistent: false }));
    await producer.connection.send(msg('/queue/q', 'order-p', { headers: { type: 'order', 'correlation-id': 'c-2' }, priority: 7 }));
    await producer.connection.send(msg('/queue/q', 'other', { headers: { type: 'note' } }));
    const picky = h.connect();
    await picky.connection.subscribe({
      id: 'p', destination: '/queue/q', ack: 'client-individual',
      selector: "JMSType = 'order' AND JMSDeliveryMode = 'PERSISTENT' AND JMSPriority = 7 AND JMSCorrelationID LIKE 'c-%'",
    });
    const again = h.connect();
    await again.connection.subscribe({ id: 'r', destination: '/queue/q', ack: 'auto', selector: 'JMSRedelivered = TRUE AND JMSXDeliveryCount = 2' });
    await settle();
    const first = picky.sink.take();
    expect(first.map((d) => d.body.toString())).to.deep.equal(['order-p']);
    expect(again.sink.deliveries).to.have.length(0);
    // Handed back, it is now redelivered (delivery count 2) and matches the other selector.
    await picky.connection.unsubscribe('p');
    await settle();
    expect(again.sink.bodies()).to.deep.equal(['order-p']);
  });

  it('an invalid selector rejects SUBSCRIBE with TANDEM_ERR_INVALID_SELECTOR', async () => {
    const consumer = h.connect();
    expect((await rejection(consumer.connection.subscribe({ id: 's', destination: '/queue/q', ack: 'auto', selector: 'color = ' }))).code).to.equal('TANDEM_ERR_INVALID_SELECTOR');
  });

  it('message groups: a JMSXGroupID sticks to one consumer until it goes away, then is reassigned', async () => {
    const a = h.connect();
    const b = h.connect();
    await a.connection.subscribe({ id: 'a', destination: '/queue/q', ack: 'client-individual' });
    await b.connection.subscribe({ id: 'b', destination: '/queue/q', ack: 'client-individual' });
    const producer = h.connect();
    const group = (g: string, body: string): Promise<void> => producer.connection.send(msg('/queue/q', body, { headers: { JMSXGroupID: g } }));
    await group('G1', 'g1-1');
    await group('G2', 'g2-1');
    await group('G1', 'g1-2');
    await group('G1', 'g1-3');
    await group('G2', 'g2-2');
    await settle();
    const toA = a.sink.bodies();
    const toB = b.sink.bodies();
    const g1Owner = toA.includes('g1-1') ? toA : toB;
    expect(g1Owner.filter((x) => x.startsWith('g1'))).to.deep.equal(['g1-1', 'g1-2', 'g1-3']);
    expect([...toA, ...toB].filter((x) => x.startsWith('g2'))).to.have.length(2);
    expect(toA.filter((x) => x.startsWith('g2')).length === 0 || toB.filter((x) => x.startsWith('g2')).length === 0).to.equal(true);
    // The owner of G1 leaves; its unacked group messages and the next ones go to the other consumer.
    const [owner, other] = g1Owner === toA ? [a, b] : [b, a];
    owner.connection.close();
    await group('G1', 'g1-4');
    await settle();
    expect(other.sink.bodies().filter((x) => x.startsWith('g1'))).to.deep.equal(['g1-1', 'g1-2', 'g1-3', 'g1-4']);
  });

  it('message groups: JMSXGroupSeq -1 closes the group, so the next message may go elsewhere', async () => {
    const a = h.connect();
    const b = h.connect();
    await a.connection.subscribe({ id: 'a', destination: '/queue/q', ack: 'auto' });
    await b.connection.subscribe({ id: 'b', destination: '/queue/q', ack: 'auto' });
    const producer = h.connect();
    await producer.connection.send(msg('/queue/q', 'x1', { headers: { JMSXGroupID: 'X' } }));
    await producer.connection.send(msg('/queue/q', 'x2', { headers: { JMSXGroupID: 'X' } }));
    await producer.connection.send(msg('/queue/q', 'x3', { headers: { JMSXGroupID: 'X', JMSXGroupSeq: '-1' } }));
    await settle();
    const first = a.sink.deliveries.length > 0 ? a : b;
    const second = first === a ? b : a;
    expect(first.sink.bodies()).to.deep.equal(['x1', 'x2', 'x3']);
    // Round-robin moved on to the other consumer, which now takes the reopened group.
    await producer.connection.send(msg('/queue/q', 'x4', { headers: { JMSXGroupID: 'X' } }));
    await settle();
    expect(second.sink.bodies()).to.deep.equal(['x4']);
  });
});
