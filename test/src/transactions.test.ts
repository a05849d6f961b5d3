// STOMP transactions (BEGIN/COMMIT/ABORT) with sends and acknowledgements.
import { expect } from 'chai';
import { useBroker } from './harness/suite.js';
import { StompitSession, type ReceivedMessage } from './harness/stompit-client.js';
import { uniqueName } from './harness/names.js';

describe('transactions (STOMP 1.2 "BEGIN", "COMMIT", "ABORT")', function () {
  const env = useBroker({ config: { redelivery: { initialRedeliveryDelay: 50, redeliveryDelay: 50 } } });
  const connect = (): Promise<StompitSession> => StompitSession.connect(env.stompPort);
  const texts = (messages: ReceivedMessage[]): string[] => messages.map((m) => m.text);

  it('holds transactional sends until COMMIT, then delivers them in order', async function () {
    const queue = `/queue/${uniqueName('tx-commit')}`;
    const consumer = await connect();
    const subscription = await consumer.subscribe(queue);
    const producer = await connect();
    await producer.frame('BEGIN', { transaction: 'tx1' });
    await producer.send(queue, 'one', { transaction: 'tx1', persistent: 'true' });
    await producer.send(queue, 'two', { transaction: 'tx1', persistent: 'true' });
    await producer.send(queue, 'outside', {});
    expect(texts(await subscription.inbox.take(1))).to.deep.equal(['outside']);
    await subscription.inbox.expectNothing(300, 'nothing from the open transaction');
    await producer.frame('COMMIT', { transaction: 'tx1' });
    expect(texts(await subscription.inbox.take(2))).to.deep.equal(['one', 'two']);
    await Promise.all([consumer.disconnect(), producer.disconnect()]);
  });

  it('discards transactional sends on ABORT', async function () {
    const queue = `/queue/${uniqueName('tx-abort')}`;
    const consumer = await connect();
    const subscription = await consumer.subscribe(queue);
    const producer = await connect();
    await producer.frame('BEGIN', { transaction: 'tx2' });
    await producer.send(queue, 'never', { transaction: 'tx2' });
    await producer.frame('ABORT', { transaction: 'tx2' });
    await producer.send(queue, 'after abort');
    expect(texts(await subscription.inbox.take(1))).to.deep.equal(['after abort']);
    await subscription.inbox.expectNothing(300);
    await Promise.all([consumer.disconnect(), producer.disconnect()]);
  });

  it('aborts an open transaction when its connection goes away', async function () {
    const queue = `/queue/${uniqueName('tx-dropped')}`;
    const producer = await connect();
    await producer.frame('BEGIN', { transaction: 'tx3' });
    await producer.send(queue, 'lost with the connection', { transaction: 'tx3' });
    producer.destroy();
    const consumer = await connect();
    const subscription = await consumer.subscribe(queue);
    await subscription.inbox.expectNothing(400, 'no message from an unfinished transaction');
    await consumer.disconnect();
  });

  it('makes an ACK in a committed transaction final', async function () {
    const queue = `/queue/${uniqueName('tx-ack-commit')}`;
    const producer = await connect();
    await producer.send(queue, 'work', { persistent: 'true' });
    const consumer = await connect();
    const subscription = await consumer.subscribe(queue, { ack: 'client-individual' });
    const message = await subscription.inbox.next();
    await consumer.frame('BEGIN', { transaction: 'tx4' });
    await consumer.ack(message, { transaction: 'tx4' });
    await consumer.frame('COMMIT', { transaction: 'tx4' });
    consumer.destroy();
    const later = await connect();
    const again = await later.subscribe(queue);
    await again.inbox.expectNothing(400, 'an acknowledged message is not redelivered');
    await Promise.all([producer.disconnect(), later.disconnect()]);
  });

  it('undoes an ACK on ABORT: the message comes back, flagged redelivered', async function () {
    const queue = `/queue/${uniqueName('tx-ack-abort')}`;
    const producer = await connect();
    await producer.send(queue, 'work', { persistent: 'true' });
    const consumer = await connect();
    const subscription = await consumer.subscribe(queue, { ack: 'client-individual' });
    const message = await subscription.inbox.next();
    await consumer.frame('BEGIN', { transaction: 'tx5' });
    await consumer.ack(message, { transaction: 'tx5' });
    await consumer.frame('ABORT', { transaction: 'tx5' });
    await consumer.disconnect();
    const later = await connect();
    const again = await later.subscribe(queue);
    const back = await again.inbox.next(3000);
    expect(back.text).to.equal('work');
    expect(back.headers['redelivered']).to.equal('true');
    await Promise.all([producer.disconnect(), later.disconnect()]);
  });

  it('commits sends and acks together: a consume-and-forward step', async function () {
    const input = `/queue/${uniqueName('tx-in')}`;
    const output = `/queue/${uniqueName('tx-out')}`;
    const producer = await connect();
    await producer.send(input, 'job', { persistent: 'true' });
    const worker = await connect();
    const jobs = await worker.subscribe(input, { ack: 'client-individual' });
    const job = await jobs.inbox.next();
    await worker.frame('BEGIN', { transaction: 'tx6' });
    await worker.send(output, `done: ${job.text}`, { transaction: 'tx6', persistent: 'true' });
    await worker.ack(job, { transaction: 'tx6' });
    await worker.frame('COMMIT', { transaction: 'tx6' });
    await worker.disconnect();
    const reader = await connect();
    const results = await reader.subscribe(output);
    expect((await results.inbox.next()).text).to.equal('done: job');
    const leftovers = await reader.subscribe(input);
    await leftovers.inbox.expectNothing(300, 'the job was acknowledged in the same commit');
    await Promise.all([producer.disconnect(), reader.disconnect()]);
  });
});
