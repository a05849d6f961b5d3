// Topics with real clients: fan-out, wildcards, durable subscriptions (offline accumulation and
// removal) and virtual topics.
import { expect } from 'chai';
import { useBroker } from './harness/suite.js';
import { StompitSession, type ReceivedMessage } from './harness/stompit-client.js';
import { uniqueName } from './harness/names.js';
import { destinationStats } from './harness/admin-client.js';

describe('topics', function () {
  const env = useBroker();
  const connect = (headers: Record<string, string> = {}): Promise<StompitSession> => StompitSession.connect(env.stompPort, headers);
  const texts = (messages: ReceivedMessage[]): string[] => messages.map((m) => m.text);

  it('delivers each message to every current subscriber, and not to later ones', async function () {
    const topic = `/topic/${uniqueName('news')}`;
    const a = await connect();
    const b = await connect();
    const subA = await a.subscribe(topic);
    const subB = await b.subscribe(topic);
    const producer = await connect();
    await producer.send(topic, 'one');
    await producer.send(topic, 'two');
    expect(texts(await subA.inbox.take(2))).to.deep.equal(['one', 'two']);
    expect(texts(await subB.inbox.take(2))).to.deep.equal(['one', 'two']);
    const late = await (await connect()).subscribe(topic);
    await late.inbox.expectNothing(300, 'no retained message for a late non-durable subscriber');
    await Promise.all([a.disconnect(), b.disconnect(), producer.disconnect()]);
  });

  it('matches wildcards: * is one element, > is the rest', async function () {
    const root = uniqueName('prices');
    const session = await connect();
    const one = await session.subscribe(`/topic/${root}.*`);
    const rest = await session.subscribe(`/topic/${root}.>`);
    const mid = await session.subscribe(`/topic/${root}.*.fr`);
    const producer = await connect();
    await producer.send(`/topic/${root}.eu`, 'eu');
    await producer.send(`/topic/${root}.eu.fr`, 'eu.fr');
    await producer.send(`/topic/${root}.us.ny`, 'us.ny');
    await producer.send(`/topic/${root}`, 'root');
    expect(texts(await one.inbox.take(1))).to.deep.equal(['eu']);
    expect(texts(await rest.inbox.take(3))).to.deep.equal(['eu', 'eu.fr', 'us.ny']);
    expect(texts(await mid.inbox.take(1))).to.deep.equal(['eu.fr']);
    await one.inbox.expectNothing(200);
    await rest.inbox.expectNothing(0);
    await mid.inbox.expectNothing(0);
    await Promise.all([session.disconnect(), producer.disconnect()]);
  });

  it('keeps messages for an offline durable subscriber and delivers them on its return', async function () {
    const topic = `/topic/${uniqueName('durable')}`;
    const clientId = uniqueName('client');
    const first = await connect({ 'client-id': clientId });
    const live = await first.subscribe(topic, { 'activemq.subscriptionName': 'audit', ack: 'client-individual' });
    const producer = await connect();
    await producer.send(topic, 'while online', { persistent: 'true' });
    await first.ack(await live.inbox.next());
    await first.disconnect();
    for (const body of ['offline 1', 'offline 2', 'offline 3']) await producer.send(topic, body, { persistent: 'true' });
    const again = await connect({ 'client-id': clientId });
    const back = await again.subscribe(topic, { 'activemq.subscriptionName': 'audit', ack: 'client-individual' });
    const got = await back.inbox.take(3);
    expect(texts(got)).to.deep.equal(['offline 1', 'offline 2', 'offline 3']);
    for (const message of got) await again.ack(message);
    await back.inbox.expectNothing(200, 'nothing twice');
    await Promise.all([again.disconnect(), producer.disconnect()]);
  });

  it('removes a durable subscription on UNSUBSCRIBE with activemq.subscriptionName', async function () {
    const topic = `/topic/${uniqueName('durable-removed')}`;
    const clientId = uniqueName('client');
    const first = await connect({ 'client-id': clientId });
    const subscription = await first.subscribe(topic, { 'activemq.subscriptionName': 'gone' });
    await subscription.unsubscribe({ 'activemq.subscriptionName': 'gone' });
    await first.disconnect();
    const producer = await connect();
    await producer.send(topic, 'nobody keeps this', { persistent: 'true' });
    const again = await connect({ 'client-id': clientId });
    const fresh = await again.subscribe(topic, { 'activemq.subscriptionName': 'gone' });
    await fresh.inbox.expectNothing(400, 'no message kept for a removed durable subscription');
    await producer.send(topic, 'after re-subscribing', { persistent: 'true' });
    expect((await fresh.inbox.next()).text).to.equal('after re-subscribing');
    await Promise.all([again.disconnect(), producer.disconnect()]);
  });

  it('counts messages kept for an offline durable subscriber as the topic\'s depth in the admin API', async function () {
    const topic = `/topic/${uniqueName('durable-depth')}`;
    const clientId = uniqueName('client');
    const first = await connect({ 'client-id': clientId });
    await first.subscribe(topic, { 'activemq.subscriptionName': 'counted' });
    await first.disconnect();
    const producer = await connect();
    await producer.send(topic, 'a', { persistent: 'true' });
    await producer.send(topic, 'b', { persistent: 'true' });
    await producer.disconnect();
    const row = await destinationStats(env.adminPort, topic);
    expect(row?.kind).to.equal('topic');
    expect(row?.depth).to.equal(2);
    const again = await connect({ 'client-id': clientId });
    const back = await again.subscribe(topic, { 'activemq.subscriptionName': 'counted' });
    expect(texts(await back.inbox.take(2))).to.deep.equal(['a', 'b']);
    await again.disconnect();
  });

  it('copies a virtual topic message to every Consumer.<name> queue, shared within each', async function () {
    const name = `VirtualTopic.${uniqueName('orders')}`;
    const a1 = await connect();
    const a2 = await connect();
    const b = await connect();
    const subA1 = await a1.subscribe(`/queue/Consumer.A.${name}`);
    const subA2 = await a2.subscribe(`/queue/Consumer.A.${name}`);
    const subB = await b.subscribe(`/queue/Consumer.B.${name}`);
    const producer = await connect();
    for (let i = 0; i < 6; i++) await producer.send(`/topic/${name}`, `o${i}`, { persistent: 'true' });
    expect(texts(await subB.inbox.take(6))).to.deep.equal(['o0', 'o1', 'o2', 'o3', 'o4', 'o5']);
    const gotA = [...texts(await subA1.inbox.take(3)), ...texts(await subA2.inbox.take(3))];
    expect(gotA.sort()).to.deep.equal(['o0', 'o1', 'o2', 'o3', 'o4', 'o5']);
    await subA1.inbox.expectNothing(200, 'each message once within consumer group A');
    await subA2.inbox.expectNothing(0);
    await Promise.all([a1.disconnect(), a2.disconnect(), b.disconnect(), producer.disconnect()]);
  });

  it('keeps virtual topic messages on a Consumer queue while its consumers are away', async function () {
    const name = `VirtualTopic.${uniqueName('events')}`;
    const early = await connect();
    const queueSub = await early.subscribe(`/queue/Consumer.Late.${name}`);
    await queueSub.unsubscribe();
    const producer = await connect();
    await producer.send(`/topic/${name}`, 'kept', { persistent: 'true' });
    const late = await connect();
    const back = await late.subscribe(`/queue/Consumer.Late.${name}`);
    expect((await back.inbox.next()).text).to.equal('kept');
    await Promise.all([early.disconnect(), producer.disconnect(), late.disconnect()]);
  });
});
