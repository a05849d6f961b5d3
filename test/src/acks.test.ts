// Acknowledgement modes (auto, client, client-individual), NACK, redelivery with its delays, and
// dead-lettering: to ActiveMQ.DLQ, by a per-prefix rule, and on expiry.
import { expect } from 'chai';
import { useBroker } from './harness/suite.js';
import { StompitSession, type ReceivedMessage } from './harness/stompit-client.js';
import { uniqueName } from './harness/names.js';
import { sleep } from './harness/wait.js';

const REDELIVERY = { maximumRedeliveries: 2, initialRedeliveryDelay: 50, redeliveryDelay: 50 };

describe('acknowledgements and dead letters', function () {
  const env = useBroker({
    config: {
      redelivery: REDELIVERY,
      deadLetter: { queue: 'ActiveMQ.DLQ', processExpired: true, rules: [{ prefix: '/queue/orders.', queue: 'DLQ.orders' }] },
    },
  });
  const connect = (): Promise<StompitSession> => StompitSession.connect(env.stompPort);
  const texts = (messages: ReceivedMessage[]): string[] => messages.map((m) => m.text);

  async function fill(queue: string, count: number): Promise<void> {
    const producer = await connect();
    for (let i = 0; i < count; i++) await producer.send(queue, `m${i}`, { persistent: 'true' });
    await producer.disconnect();
  }

  /** What a fresh consumer finds on the queue (auto ack), waiting `quietMs` for stragglers. */
  async function remaining(queue: string, expected: number, quietMs = 300): Promise<ReceivedMessage[]> {
    const session = await connect();
    const subscription = await session.subscribe(queue);
    const got = expected > 0 ? await subscription.inbox.take(expected) : [];
    await subscription.inbox.expectNothing(quietMs, `only ${expected} messages left on ${queue}`);
    await session.disconnect();
    return got;
  }

  it('ack:auto consumes on delivery: nothing returns after the consumer leaves', async function () {
    const queue = `/queue/${uniqueName('auto')}`;
    await fill(queue, 3);
    const session = await connect();
    const subscription = await session.subscribe(queue, { ack: 'auto' });
    const got = await subscription.inbox.take(3);
    expect(got.every((m) => m.headers['redelivered'] === 'false')).to.equal(true);
    session.destroy();
    await remaining(queue, 0);
  });

  it('ack:client is cumulative: an ACK covers every earlier message of the subscription', async function () {
    const queue = `/queue/${uniqueName('client')}`;
    await fill(queue, 4);
    const session = await connect();
    const subscription = await session.subscribe(queue, { ack: 'client' });
    const got = await subscription.inbox.take(4);
    await session.ack(got[2]!);
    session.destroy();
    const back = await remaining(queue, 1);
    expect(texts(back)).to.deep.equal(['m3']);
    expect(back[0]!.headers['redelivered']).to.equal('true');
  });

  it('ack:client-individual acknowledges exactly one message', async function () {
    const queue = `/queue/${uniqueName('individual')}`;
    await fill(queue, 4);
    const session = await connect();
    const subscription = await session.subscribe(queue, { ack: 'client-individual' });
    const got = await subscription.inbox.take(4);
    await session.ack(got[0]!);
    await session.ack(got[2]!);
    session.destroy();
    const back = await remaining(queue, 2);
    expect(texts(back)).to.deep.equal(['m1', 'm3']);
    expect(back.map((m) => m.headers['redelivered'])).to.deep.equal(['true', 'true']);
  });

  it('returns unacknowledged messages, flagged redelivered, when a consumer disconnects gracefully', async function () {
    const queue = `/queue/${uniqueName('unacked')}`;
    await fill(queue, 2);
    const session = await connect();
    const subscription = await session.subscribe(queue, { ack: 'client-individual' });
    await subscription.inbox.take(2);
    await session.disconnect();
    const back = await remaining(queue, 2);
    expect(texts(back)).to.deep.equal(['m0', 'm1']);
    expect(back.every((m) => m.headers['redelivered'] === 'true')).to.equal(true);
  });

  it('redelivers a NACKed message with redelivered:true after the redelivery delay', async function () {
    const queue = `/queue/${uniqueName('nack')}`;
    await fill(queue, 1);
    const session = await connect();
    const subscription = await session.subscribe(queue, { ack: 'client-individual' });
    const first = await subscription.inbox.next();
    expect(first.headers['redelivered']).to.equal('false');
    await session.nack(first);
    const second = await subscription.inbox.next(3000);
    expect(second.text).to.equal('m0');
    expect(second.headers['redelivered']).to.equal('true');
    expect(second.headers['message-id']).to.equal(first.headers['message-id']);
    await session.ack(second);
    await session.disconnect();
    await remaining(queue, 0);
  });

  it(`moves a message to ActiveMQ.DLQ after ${REDELIVERY.maximumRedeliveries} redeliveries, with its origin and cause`, async function () {
    const queue = `/queue/${uniqueName('poison')}`;
    const dlqSession = await connect();
    const dlq = await dlqSession.subscribe('/queue/ActiveMQ.DLQ', { selector: `poisonTag = '${queue}'` });
    const producer = await connect();
    await producer.send(queue, 'poison', { persistent: 'true', poisonTag: queue });
    const session = await connect();
    const subscription = await session.subscribe(queue, { ack: 'client-individual' });
    for (let delivery = 0; delivery <= REDELIVERY.maximumRedeliveries; delivery++) {
      const message = await subscription.inbox.next(3000, `delivery ${delivery + 1}`);
      expect(message.headers['redelivered']).to.equal(delivery === 0 ? 'false' : 'true');
      await session.nack(message);
    }
    await subscription.inbox.expectNothing(300, 'no delivery after the last redelivery');
    const dead = await dlq.inbox.next(3000, 'the message on ActiveMQ.DLQ');
    expect(dead.text).to.equal('poison');
    expect(dead.headers['original-destination']).to.equal(queue);
    expect(dead.headers['dlqDeliveryFailureCause']).to.be.a('string').and.not.equal('');
    expect(dead.headers['persistent']).to.equal('true');
    await Promise.all([dlqSession.disconnect(), producer.disconnect(), session.disconnect()]);
  });

  it('uses the dead-letter queue of the first matching prefix rule', async function () {
    const queue = `/queue/orders.${uniqueName('eu')}`;
    const dlqSession = await connect();
    const dlq = await dlqSession.subscribe('/queue/DLQ.orders');
    const session = await connect();
    const subscription = await session.subscribe(queue, { ack: 'client-individual' });
    await session.send(queue, 'bad order', { persistent: 'true' });
    for (let delivery = 0; delivery <= REDELIVERY.maximumRedeliveries; delivery++) {
      await session.nack(await subscription.inbox.next(3000));
    }
    const dead = await dlq.inbox.next(3000);
    expect(dead.text).to.equal('bad order');
    expect(dead.headers['original-destination']).to.equal(queue);
    await Promise.all([dlqSession.disconnect(), session.disconnect()]);
  });

  it('carries the expires header, and dead-letters a message that expires before delivery', async function () {
    const queue = `/queue/${uniqueName('expiry')}`;
    const dlqSession = await connect();
    const dlq = await dlqSession.subscribe('/queue/ActiveMQ.DLQ', { selector: `expiryTag = '${queue}'` });
    const producer = await connect();
    const far = Date.now() + 3_600_000;
    await producer.send(queue, 'lasting', { persistent: 'true', expires: String(far), expiryTag: queue });
    await producer.send(queue, 'fleeting', { persistent: 'true', expires: String(Date.now() + 100), expiryTag: queue });
    await sleep(400);
    const consumer = await connect();
    const subscription = await consumer.subscribe(queue);
    const live = await subscription.inbox.next();
    expect(live.text).to.equal('lasting');
    expect(live.headers['expires']).to.equal(String(far));
    await subscription.inbox.expectNothing(300, 'no expired message delivered');
    const dead = await dlq.inbox.next(5000, 'the expired message on ActiveMQ.DLQ');
    expect(dead.text).to.equal('fleeting');
    expect(dead.headers['original-destination']).to.equal(queue);
    await Promise.all([dlqSession.disconnect(), producer.disconnect(), consumer.disconnect()]);
  });
});
