// Queues with real clients: FIFO order, round-robin over consumers, prefetch, priority, selectors,
// message groups, bare names, and temporary queues for request/reply.
import { expect } from 'chai';
import { useBroker } from './harness/suite.js';
import { StompitSession, type ReceivedMessage } from './harness/stompit-client.js';
import { uniqueName } from './harness/names.js';
import { sleep } from './harness/wait.js';

describe('queues', function () {
  const env = useBroker();
  const connect = (headers: Record<string, string> = {}): Promise<StompitSession> => StompitSession.connect(env.stompPort, headers);
  const bodies = (messages: ReceivedMessage[]): string[] => messages.map((m) => m.text);

  it('delivers in send order (FIFO)', async function () {
    const session = await connect();
    const queue = `/queue/${uniqueName('fifo')}`;
    for (let i = 0; i < 50; i++) await session.send(queue, `m${i}`);
    const subscription = await session.subscribe(queue);
    const received = await subscription.inbox.take(50);
    expect(bodies(received)).to.deep.equal(Array.from({ length: 50 }, (_, i) => `m${i}`));
    await session.disconnect();
  });

  it('treats a bare destination name as a queue', async function () {
    const session = await connect();
    const name = uniqueName('bare');
    const subscription = await session.subscribe(`/queue/${name}`);
    await session.send(name, 'bare');
    const message = await subscription.inbox.next();
    expect(message.text).to.equal('bare');
    await session.disconnect();
  });

  it('spreads messages round-robin over two consumers, each message once', async function () {
    const a = await connect();
    const b = await connect();
    const queue = `/queue/${uniqueName('round-robin')}`;
    const subA = await a.subscribe(queue);
    const subB = await b.subscribe(queue);
    const producer = await connect();
    for (let i = 0; i < 20; i++) await producer.send(queue, `m${i}`);
    const gotA = bodies(await subA.inbox.take(10));
    const gotB = bodies(await subB.inbox.take(10));
    await subA.inbox.expectNothing(200, 'no 11th message for consumer A');
    await subB.inbox.expectNothing(0, 'no 11th message for consumer B');
    expect([...gotA, ...gotB].sort()).to.deep.equal(Array.from({ length: 20 }, (_, i) => `m${i}`).sort());
    // Alternation: each consumer gets every other message.
    const indices = gotA.map((body) => Number(body.slice(1)));
    const parity = indices[0]! % 2;
    expect(indices.every((n) => n % 2 === parity)).to.equal(true);
    await Promise.all([a.disconnect(), b.disconnect(), producer.disconnect()]);
  });

  it('holds back deliveries beyond activemq.prefetchSize until acknowledged', async function () {
    const slow = await connect();
    const queue = `/queue/${uniqueName('prefetch')}`;
    const subSlow = await slow.subscribe(queue, { ack: 'client-individual', 'activemq.prefetchSize': '2' });
    const producer = await connect();
    for (let i = 0; i < 6; i++) await producer.send(queue, `m${i}`);
    const first = await subSlow.inbox.take(2);
    await subSlow.inbox.expectNothing(300, 'nothing beyond the prefetch of 2');
    // Another consumer takes what the slow one may not.
    const fast = await connect();
    const subFast = await fast.subscribe(queue, { ack: 'auto' });
    expect(bodies(await subFast.inbox.take(4))).to.deep.equal(['m2', 'm3', 'm4', 'm5']);
    await producer.send(queue, 'm6');
    await producer.send(queue, 'm7');
    await slow.ack(first[0]!);
    // One slot opened for the slow consumer; both m6 and m7 may go to either, but the slow one has room for one only.
    const rest: string[] = [];
    const deadline = Date.now() + 3000;
    while (rest.length < 2 && Date.now() < deadline) {
      if (subSlow.inbox.size) rest.push(...bodies(subSlow.inbox.items.splice(0)));
      if (subFast.inbox.size) rest.push(...bodies(subFast.inbox.items.splice(0)));
      await sleep(20);
    }
    expect(rest.sort()).to.deep.equal(['m6', 'm7']);
    await Promise.all([slow.disconnect(), fast.disconnect(), producer.disconnect()]);
  });

  it('delivers higher priority first, FIFO within a priority', async function () {
    const session = await connect();
    const queue = `/queue/${uniqueName('priority')}`;
    const sends: Array<[string, number]> = [['low-1', 1], ['high-1', 9], ['mid-1', 4], ['high-2', 9], ['low-2', 1], ['mid-2', 4]];
    for (const [body, priority] of sends) await session.send(queue, body, { priority: String(priority), persistent: 'true' });
    const subscription = await session.subscribe(queue);
    const received = await subscription.inbox.take(6);
    expect(bodies(received)).to.deep.equal(['high-1', 'high-2', 'mid-1', 'mid-2', 'low-1', 'low-2']);
    expect(received.map((m) => m.headers['priority'])).to.deep.equal(['9', '9', '4', '4', '1', '1']);
    await session.disconnect();
  });

  it('delivers only what a selector matches, leaving the rest for others', async function () {
    const session = await connect();
    const queue = `/queue/${uniqueName('selector')}`;
    const red = await session.subscribe(queue, { selector: "color = 'red' AND weight > 2" });
    const producer = await connect();
    await producer.send(queue, 'red-heavy', { color: 'red', weight: '5' });
    await producer.send(queue, 'red-light', { color: 'red', weight: '1' });
    await producer.send(queue, 'blue-heavy', { color: 'blue', weight: '9' });
    await producer.send(queue, 'red-heavy-2', { color: 'red', weight: '3' });
    expect(bodies(await red.inbox.take(2))).to.deep.equal(['red-heavy', 'red-heavy-2']);
    await red.inbox.expectNothing(200, 'no non-matching message');
    const rest = await (await connect()).subscribe(queue);
    expect(bodies(await rest.inbox.take(2))).to.deep.equal(['red-light', 'blue-heavy']);
    await Promise.all([session.disconnect(), producer.disconnect()]);
  });

  it('selects on standard headers too (JMSPriority, JMSType, IN, LIKE)', async function () {
    const session = await connect();
    const queue = `/queue/${uniqueName('selector-std')}`;
    const picked = await session.subscribe(queue, { selector: "JMSPriority > 5 AND region IN ('eu', 'us') AND sku LIKE 'A-%'" });
    const producer = await connect();
    await producer.send(queue, 'yes', { priority: '7', region: 'eu', sku: 'A-100' });
    await producer.send(queue, 'low', { priority: '2', region: 'eu', sku: 'A-100' });
    await producer.send(queue, 'asia', { priority: '7', region: 'ap', sku: 'A-100' });
    await producer.send(queue, 'sku', { priority: '7', region: 'us', sku: 'B-100' });
    expect((await picked.inbox.next()).text).to.equal('yes');
    await picked.inbox.expectNothing(200);
    await Promise.all([session.disconnect(), producer.disconnect()]);
  });

  it('keeps a message group (JMSXGroupID) on one consumer', async function () {
    const a = await connect();
    const b = await connect();
    const queue = `/queue/${uniqueName('groups')}`;
    const subA = await a.subscribe(queue);
    const subB = await b.subscribe(queue);
    const producer = await connect();
    for (let i = 0; i < 12; i++) await producer.send(queue, `${['g1', 'g2', 'g3'][i % 3]}-${i}`, { JMSXGroupID: ['g1', 'g2', 'g3'][i % 3]! });
    const received: Array<{ consumer: string; body: string; group: string | undefined }> = [];
    const deadline = Date.now() + 5000;
    while (received.length < 12 && Date.now() < deadline) {
      for (const [name, sub] of [['a', subA], ['b', subB]] as const) {
        for (const m of sub.inbox.items.splice(0)) received.push({ consumer: name, body: m.text, group: m.headers['JMSXGroupID'] });
      }
      await sleep(20);
    }
    expect(received).to.have.length(12);
    for (const group of ['g1', 'g2', 'g3']) {
      const owners = new Set(received.filter((r) => r.group === group).map((r) => r.consumer));
      expect(owners.size, `${group} went to ${[...owners].join(' and ')}`).to.equal(1);
    }
    await Promise.all([a.disconnect(), b.disconnect(), producer.disconnect()]);
  });

  it('answers a request on a temporary queue named in reply-to', async function () {
    const requester = await connect();
    const responder = await connect();
    const service = `/queue/${uniqueName('service')}`;
    const requests = await responder.subscribe(service, { ack: 'client-individual' });
    const replies = await requester.subscribe(`/temp-queue/${uniqueName('replies')}`);
    await requester.send(service, 'what time is it?', { 'reply-to': replies.destination, 'correlation-id': 'req-1' });
    const request = await requests.inbox.next();
    expect(request.headers['correlation-id']).to.equal('req-1');
    const target = request.headers['reply-to'];
    expect(target).to.be.a('string').and.not.equal('');
    await responder.send(target!, 'noon', { 'correlation-id': request.headers['correlation-id']! });
    await responder.ack(request);
    const reply = await replies.inbox.next();
    expect(reply.text).to.equal('noon');
    expect(reply.headers['correlation-id']).to.equal('req-1');
    await Promise.all([requester.disconnect(), responder.disconnect()]);
  });
});

