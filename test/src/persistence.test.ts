// Persistence across a graceful restart: SIGTERM exits 0, and the next process on the same data dir
// recovers queued messages, unacknowledged deliveries and durable subscriptions.
import { expect } from 'chai';
import { BrokerProcess } from './harness/broker-process.js';
import { useBrokerCleanup } from './harness/suite.js';
import { StompitSession } from './harness/stompit-client.js';
import { destinationStats } from './harness/admin-client.js';
import { uniqueName } from './harness/names.js';

describe('persistence across a graceful restart', function () {
  const started = useBrokerCleanup();

  it('keeps queued, unacknowledged and durable-subscription messages through SIGTERM and restart', async function () {
    this.timeout(60000);
    const broker = await BrokerProcess.start({ config: { mode: 'durability' } });
    started.add(broker);
    const queued = `/queue/${uniqueName('kept')}`;
    const inFlight = `/queue/${uniqueName('in-flight')}`;
    const topic = `/topic/${uniqueName('durable')}`;
    const clientId = uniqueName('client');

    const durable = await StompitSession.connect(broker.ports.stomp, { 'client-id': clientId });
    await durable.subscribe(topic, { 'activemq.subscriptionName': 'keeper' });
    await durable.disconnect();

    const producer = await StompitSession.connect(broker.ports.stomp);
    for (let i = 0; i < 20; i++) await producer.send(queued, `q${i}`, { persistent: 'true', 'x-index': String(i) });
    for (let i = 0; i < 3; i++) await producer.send(inFlight, `f${i}`, { persistent: 'true' });
    await producer.send(topic, 'for the durable subscriber', { persistent: 'true' });

    // A consumer holds three deliveries unacknowledged while the broker stops.
    const holder = await StompitSession.connect(broker.ports.stomp);
    const held = await holder.subscribe(inFlight, { ack: 'client-individual' });
    await held.inbox.take(3);

    const status = await broker.stop();
    expect(status, broker.tail()).to.deep.equal({ code: 0, signal: null });

    const restarted = await broker.restart();
    started.add(restarted);
    await restarted.waitForLog('"event":"journal.recovered"', (entry) => entry['event'] === 'journal.recovered');
    expect((await destinationStats(restarted.ports.admin, queued))?.depth).to.equal(20);

    const consumer = await StompitSession.connect(restarted.ports.stomp);
    const queue = await consumer.subscribe(queued);
    const messages = await queue.inbox.take(20);
    expect(messages.map((m) => m.text)).to.deep.equal(Array.from({ length: 20 }, (_, i) => `q${i}`));
    expect(messages[7]!.headers['x-index']).to.equal('7');
    expect(messages[0]!.headers['persistent']).to.equal('true');

    const back = await (await consumer.subscribe(inFlight)).inbox.take(3);
    expect(back.map((m) => m.text)).to.deep.equal(['f0', 'f1', 'f2']);
    expect(back.every((m) => m.headers['redelivered'] === 'true')).to.equal(true);

    const returning = await StompitSession.connect(restarted.ports.stomp, { 'client-id': clientId });
    const kept = await returning.subscribe(topic, { 'activemq.subscriptionName': 'keeper' });
    expect((await kept.inbox.next()).text).to.equal('for the durable subscriber');
    await Promise.all([consumer.disconnect(), returning.disconnect()]);
  });

  it('keeps message ids, priority, expiry and user headers through a restart', async function () {
    this.timeout(60000);
    const broker = await BrokerProcess.start();
    started.add(broker);
    const queue = `/queue/${uniqueName('headers')}`;
    const producer = await StompitSession.connect(broker.ports.stomp);
    const expires = String(Date.now() + 3_600_000);
    await producer.send(queue, Buffer.from([0, 1, 2, 0, 255]), {
      persistent: 'true',
      priority: '7',
      expires,
      'content-type': 'application/octet-stream',
      'content-length': '5',
      'correlation-id': 'c-1',
      'x-user': 'value:with\\escapes',
    });
    const peek = await StompitSession.connect(broker.ports.stomp);
    const before = await (await peek.subscribe(queue, { ack: 'client-individual' })).inbox.next();
    await peek.disconnect();
    expect((await broker.stop()).code).to.equal(0);

    const restarted = await broker.restart();
    started.add(restarted);
    const consumer = await StompitSession.connect(restarted.ports.stomp);
    const after = await (await consumer.subscribe(queue)).inbox.next();
    expect(after.headers['message-id']).to.equal(before.headers['message-id']);
    expect(after.headers['priority']).to.equal('7');
    expect(after.headers['expires']).to.equal(expires);
    expect(after.headers['content-type']).to.equal('application/octet-stream');
    expect(after.headers['correlation-id']).to.equal('c-1');
    expect(after.headers['x-user']).to.equal('value:with\\escapes');
    expect(after.headers['timestamp']).to.equal(before.headers['timestamp']);
    expect(Buffer.compare(after.body, Buffer.from([0, 1, 2, 0, 255]))).to.equal(0);
    await consumer.disconnect();
  });
});
