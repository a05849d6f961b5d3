// Topics: fan-out, wildcards, noLocal, durable subscriptions, virtual topics and temporary
// destinations.
import { expect } from 'chai';
import { durableKey } from '@tandem-mq/shared-store';
import { BrokerError } from '../errors.js';
import { msg, sendAll, settle, startHarness, type Harness } from './testing/harness.js';

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).to.be.instanceOf(BrokerError);
  return (error as BrokerError).code;
}

describe('core: topics', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.stop();
  });

  it('a topic message reaches every current subscriber; non-durable copies are never stored', async () => {
    const a = h.connect();
    const b = h.connect();
    await a.connection.subscribe({ id: 'a', destination: '/topic/news', ack: 'auto' });
    await b.connection.subscribe({ id: 'b', destination: '/topic/news', ack: 'client' });
    await sendAll(h.connect(), '/topic/news', ['one']);
    expect(a.sink.bodies()).to.deep.equal(['one']);
    const toB = b.sink.take();
    expect(toB.map((d) => d.destination)).to.deep.equal(['/topic/news']);
    expect(h.store.stats().liveMessages).to.equal(0);
    await b.connection.ack({ ackId: toB[0]!.ackId });
    // A subscriber that arrives later does not see earlier messages.
    const late = h.connect();
    await late.connection.subscribe({ id: 'l', destination: '/topic/news', ack: 'auto' });
    await settle();
    expect(late.sink.deliveries).to.have.length(0);
    expect(h.core.destinations().find((s) => s.destination === '/topic/news')).to.include({ consumers: 3, enqueued: 1, dequeued: 2 });
  });

  it('wildcards: `*` matches one element, `>` one or more; the delivery names the sent topic', async () => {
    const star = h.connect();
    const tail = h.connect();
    await star.connection.subscribe({ id: 's', destination: '/topic/prices.*.eur', ack: 'auto' });
    await tail.connection.subscribe({ id: 't', destination: '/topic/prices.>', ack: 'auto' });
    const producer = h.connect();
    for (const topic of ['prices.gold.eur', 'prices.gold.usd', 'prices.silver.eur.spot', 'prices']) {
      await producer.connection.send(msg(`/topic/${topic}`, topic));
    }
    await settle();
    expect(star.sink.take().map((d) => d.destination)).to.deep.equal(['/topic/prices.gold.eur']);
    expect(tail.sink.bodies()).to.deep.equal(['prices.gold.eur', 'prices.gold.usd', 'prices.silver.eur.spot']);
  });

  it('selectors on topic subscriptions and noLocal (skip messages sent on the same connection)', async () => {
    const self = h.connect();
    await self.connection.subscribe({ id: 'n', destination: '/topic/chat', ack: 'auto', noLocal: true });
    await self.connection.subscribe({ id: 'u', destination: '/topic/chat', ack: 'auto', selector: "urgent = 'yes'" });
    await self.connection.send(msg('/topic/chat', 'mine', { headers: { urgent: 'yes' } }));
    await h.connect().connection.send(msg('/topic/chat', 'theirs'));
    await settle();
    const got = self.sink.take().map((d) => `${d.subscriptionId}:${d.body.toString()}`);
    expect(got.sort()).to.deep.equal(['n:theirs', 'u:mine']);
  });

  it('durable subscriptions need the connection client-id (TANDEM_ERR_CLIENT_ID_REQUIRED)', async () => {
    const anonymous = h.connect();
    expect(await codeOf(anonymous.connection.subscribe({ id: 'd', destination: '/topic/t', ack: 'auto', durableName: 'sub' }))).to.equal('TANDEM_ERR_CLIENT_ID_REQUIRED');
  });

  it('durable: while inactive, matching persistent messages accumulate (non-persistent ones do not)', async () => {
    const subscriber = h.connect({ clientId: 'c1' });
    await subscriber.connection.subscribe({ id: 'd', destination: '/topic/t', ack: 'client-individual', durableName: 'sub' });
    expect(h.data.model.durables.has(durableKey('c1', 'sub'))).to.equal(true);
    await subscriber.connection.unsubscribe('d');
    subscriber.connection.close();
    const producer = h.connect();
    await producer.connection.send(msg('/topic/t', 'kept'));
    await producer.connection.send(msg('/topic/t', 'lost', { persistent: false }));
    await producer.connection.send(msg('/topic/t', 'kept2'));
    expect(h.store.stats().liveMessages).to.equal(2);
    expect(h.core.destinations().find((s) => s.destination === '/topic/t')).to.include({ depth: 2, consumers: 0 });
    const back = h.connect({ clientId: 'c1' });
    await back.connection.subscribe({ id: 'd2', destination: '/topic/t', ack: 'client-individual', durableName: 'sub' });
    await settle();
    const deliveries = back.sink.take();
    expect(deliveries.map((d) => d.body.toString())).to.deep.equal(['kept', 'kept2']);
    for (const delivery of deliveries) await back.connection.ack({ ackId: delivery.ackId });
    expect(h.store.stats().liveMessages).to.equal(0);
  });

  it('durable: one active consumer at a time (TANDEM_ERR_DURABLE_IN_USE)', async () => {
    const first = h.connect({ clientId: 'c1' });
    await first.connection.subscribe({ id: 'd', destination: '/topic/t', ack: 'auto', durableName: 'sub' });
    const second = h.connect({ clientId: 'c1' });
    expect(await codeOf(second.connection.subscribe({ id: 'd', destination: '/topic/t', ack: 'auto', durableName: 'sub' }))).to.equal('TANDEM_ERR_DURABLE_IN_USE');
    expect(await codeOf(second.connection.unsubscribe('d', true, 'sub'))).to.equal('TANDEM_ERR_DURABLE_IN_USE');
    first.connection.close();
    await second.connection.subscribe({ id: 'd', destination: '/topic/t', ack: 'auto', durableName: 'sub' });
  });

  it('durable: unsubscribe with removeDurable removes it and its pending messages', async () => {
    const subscriber = h.connect({ clientId: 'c1' });
    await subscriber.connection.subscribe({ id: 'd', destination: '/topic/t', ack: 'client', durableName: 'sub' });
    await subscriber.connection.unsubscribe('d');
    await sendAll(h.connect(), '/topic/t', ['p1', 'p2']);
    expect(h.store.stats().liveMessages).to.equal(2);
    // By name, with no consumer of it on this connection (ActiveMQ's UNSUBSCRIBE with subscriptionName).
    await subscriber.connection.unsubscribe('whatever', true, 'sub');
    expect(h.store.stats().liveMessages).to.equal(0);
    expect(h.data.model.durables.size).to.equal(0);
    expect(await codeOf(subscriber.connection.unsubscribe('whatever', true, 'sub'))).to.equal('TANDEM_ERR_UNKNOWN_SUBSCRIPTION');
    // And by id while active.
    await subscriber.connection.subscribe({ id: 'd', destination: '/topic/t', ack: 'client', durableName: 'sub2' });
    await sendAll(h.connect(), '/topic/t', ['p3']);
    await subscriber.connection.unsubscribe('d', true);
    expect(h.data.model.durables.size).to.equal(0);
    expect(h.store.stats().liveMessages).to.equal(0);
  });

  it('durable: a changed selector or topic recreates the subscription, dropping what was pending', async () => {
    const subscriber = h.connect({ clientId: 'c1' });
    await subscriber.connection.subscribe({ id: 'd', destination: '/topic/t', ack: 'auto', durableName: 'sub' });
    await subscriber.connection.unsubscribe('d');
    await sendAll(h.connect(), '/topic/t', ['old']);
    await subscriber.connection.subscribe({ id: 'd', destination: '/topic/t', ack: 'auto', durableName: 'sub', selector: "kind = 'new'" });
    await settle();
    expect(subscriber.sink.deliveries).to.have.length(0);
    expect(h.data.model.durables.get(durableKey('c1', 'sub'))!.selector).to.equal("kind = 'new'");
    expect(h.store.stats().liveMessages).to.equal(0);
  });

  it('virtual topics: a send reaches topic subscribers and every existing Consumer.*.VirtualTopic.X queue', async () => {
    const topicSubscriber = h.connect();
    await topicSubscriber.connection.subscribe({ id: 't', destination: '/topic/VirtualTopic.Orders', ack: 'auto' });
    const groupA = h.connect();
    await groupA.connection.subscribe({ id: 'a', destination: '/queue/Consumer.A.VirtualTopic.Orders', ack: 'auto' });
    groupA.connection.close();
    const groupB1 = h.connect();
    const groupB2 = h.connect();
    await groupB1.connection.subscribe({ id: 'b', destination: '/queue/Consumer.B.VirtualTopic.Orders', ack: 'auto' });
    await groupB2.connection.subscribe({ id: 'b', destination: '/queue/Consumer.B.VirtualTopic.Orders', ack: 'auto' });
    await sendAll(h.connect(), '/topic/VirtualTopic.Orders', ['o1', 'o2']);
    expect(topicSubscriber.sink.bodies()).to.deep.equal(['o1', 'o2']);
    // Queue semantics inside group B: each message to one of its consumers.
    expect([...groupB1.sink.bodies(), ...groupB2.sink.bodies()].sort()).to.deep.equal(['o1', 'o2']);
    // Group A's queue exists (it was subscribed once) and keeps its copies, stored under its name.
    expect(h.core.destinations().find((s) => s.destination === '/queue/Consumer.A.VirtualTopic.Orders')!.depth).to.equal(2);
    expect(h.store.stats().liveMessages).to.equal(2);
    const seq = [...h.data.model.messages.keys()][0]!;
    expect([...h.data.model.messages.get(seq)!.remaining]).to.deep.equal(['/queue/Consumer.A.VirtualTopic.Orders']);
  });

  it('temporary destinations are scoped to their connection, resolvable by others, and removed on close', async () => {
    const requester = h.connect();
    await requester.connection.subscribe({ id: 'r', destination: '/temp-queue/replies', ack: 'auto' });
    const replyTo = requester.connection.resolveDestination!('/temp-queue/replies');
    expect(replyTo).to.match(/^\/temp-queue\/[0-9a-f]{8}-\d+-replies$/);
    expect(replyTo).to.contain(requester.connection.id);
    const responder = h.connect();
    // Another connection's own /temp-queue/replies is a different queue.
    expect(responder.connection.resolveDestination!('/temp-queue/replies')).to.not.equal(replyTo);
    await responder.connection.send(msg(replyTo, 'answer'));
    await settle();
    expect(requester.sink.take().map((d) => [d.body.toString(), d.destination])).to.deep.equal([['answer', replyTo]]);
    // Never persisted, even when sent persistent.
    expect(h.store.stats().liveMessages).to.equal(0);
    requester.connection.close();
    expect(h.core.destinations().map((s) => s.destination)).to.not.include(replyTo);
    // A send to a temporary destination whose connection has gone is dropped, not re-created.
    await responder.connection.send(msg(replyTo, 'late'));
    expect(h.core.destinations().map((s) => s.destination)).to.not.include(replyTo);
  });

  it('temporary topics: subscribers on the broker-wide name receive; it goes with its owner', async () => {
    const owner = h.connect();
    await owner.connection.subscribe({ id: 't', destination: '/temp-topic/events', ack: 'auto' });
    const name = owner.connection.resolveDestination!('/temp-topic/events');
    await sendAll(h.connect(), name, ['e1']);
    expect(owner.sink.bodies()).to.deep.equal(['e1']);
    owner.connection.close();
    expect(h.core.destinations().map((s) => s.destination)).to.not.include(name);
  });
});
