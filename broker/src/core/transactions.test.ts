// Transactions: sends and acks held until COMMIT and applied atomically; ABORT discards sends and
// returns acked messages redelivered; closing a connection aborts what it left open.
import { expect } from 'chai';
import type { MessageStore, TransactionOp } from '@tandem-mq/shared-store';
import { BrokerError } from '../errors.js';
import { msg, overrideStore, sendAll, settle, startHarness, type Harness } from './testing/harness.js';

function code(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    expect(error).to.be.instanceOf(BrokerError);
    return (error as BrokerError).code;
  }
  return undefined;
}

describe('core: transactions', () => {
  let h: Harness;
  const commits: TransactionOp[][] = [];
  beforeEach(async () => {
    commits.length = 0;
    h = await startHarness({
      wrapStore: (store: MessageStore) =>
        overrideStore(store, {
          commit(ops: TransactionOp[]) {
            commits.push(ops);
            return store.commit(ops);
          },
        }),
    });
  });
  afterEach(async () => {
    await h.stop();
  });

  it('commit: sends are invisible until COMMIT, then applied in one store commit', async () => {
    const consumer = h.connect();
    await consumer.connection.subscribe({ id: 's', destination: '/queue/q', ack: 'auto' });
    const producer = h.connect();
    producer.connection.begin('tx1');
    await producer.connection.send(msg('/queue/q', 'a'), 'tx1');
    await producer.connection.send(msg('/queue/q', 'b'), 'tx1');
    await producer.connection.send(msg('/queue/q', 'np', { persistent: false }), 'tx1');
    await settle();
    expect(consumer.sink.deliveries).to.have.length(0);
    expect(h.store.stats().liveMessages).to.equal(0);
    await producer.connection.commit('tx1');
    await settle();
    expect(consumer.sink.bodies()).to.deep.equal(['a', 'b', 'np']);
    expect(commits).to.have.length(1);
    expect(commits[0]!.map((op) => op.op)).to.deep.equal(['add', 'add']);
  });

  it('commit: acks in a transaction are applied with the sends, atomically', async () => {
    const producer = h.connect();
    await sendAll(producer, '/queue/in', ['job1', 'job2']);
    const worker = h.connect();
    await worker.connection.subscribe({ id: 's', destination: '/queue/in', ack: 'client-individual' });
    await settle();
    const jobs = worker.sink.take();
    worker.connection.begin('t');
    await worker.connection.ack({ ackId: jobs[0]!.ackId }, 't');
    await worker.connection.send(msg('/queue/out', 'result1'), 't');
    expect(h.store.stats().liveMessages).to.equal(2);
    await worker.connection.commit('t');
    expect(commits[0]!.map((op) => op.op).sort()).to.deep.equal(['ack', 'add']);
    expect(h.store.stats().liveMessages).to.equal(2); // job2 and result1
    expect(h.core.destinations().find((s) => s.destination === '/queue/in')).to.include({ inFlight: 1, dequeued: 1 });
    expect(h.core.destinations().find((s) => s.destination === '/queue/out')).to.include({ depth: 1 });
  });

  it('abort: sends are discarded and messages acked in the transaction come back redelivered', async () => {
    await sendAll(h.connect(), '/queue/in', ['job']);
    const worker = h.connect();
    await worker.connection.subscribe({ id: 's', destination: '/queue/in', ack: 'client' });
    await settle();
    const job = worker.sink.take()[0]!;
    worker.connection.begin('t');
    await worker.connection.ack({ ackId: job.ackId }, 't');
    await worker.connection.send(msg('/queue/out', 'never'), 't');
    worker.connection.abort('t');
    await settle();
    const again = worker.sink.take();
    expect(again).to.have.length(1);
    expect(again[0]).to.include({ messageId: job.messageId, redelivered: true, redeliveryCount: 1 });
    expect(h.core.destinations().find((s) => s.destination === '/queue/out')?.depth ?? 0).to.equal(0);
    expect(commits).to.have.length(0);
  });

  it('unknown transaction -> TANDEM_ERR_UNKNOWN_TRANSACTION; begin twice -> TANDEM_ERR_DUPLICATE_TRANSACTION', async () => {
    const client = h.connect();
    client.connection.begin('t');
    expect(code(() => client.connection.begin('t'))).to.equal('TANDEM_ERR_DUPLICATE_TRANSACTION');
    expect(code(() => client.connection.abort('nope'))).to.equal('TANDEM_ERR_UNKNOWN_TRANSACTION');
    for (const attempt of [client.connection.commit('nope'), client.connection.send(msg('/queue/q', 'x'), 'nope'), client.connection.ack({ ackId: '1' }, 'nope')]) {
      const error = await attempt.then(() => undefined, (e: unknown) => e);
      expect(error).to.be.instanceOf(BrokerError);
      expect((error as BrokerError).code).to.equal('TANDEM_ERR_UNKNOWN_TRANSACTION');
    }
    // A committed transaction is over.
    await client.connection.commit('t');
    expect(code(() => client.connection.abort('t'))).to.equal('TANDEM_ERR_UNKNOWN_TRANSACTION');
  });

  it('closing a connection aborts its open transactions', async () => {
    await sendAll(h.connect(), '/queue/in', ['job']);
    const worker = h.connect();
    await worker.connection.subscribe({ id: 's', destination: '/queue/in', ack: 'client' });
    await settle();
    worker.connection.begin('t');
    await worker.connection.ack({ ackId: worker.sink.take()[0]!.ackId }, 't');
    await worker.connection.send(msg('/queue/out', 'never'), 't');
    worker.connection.close();
    const next = h.connect();
    await next.connection.subscribe({ id: 's', destination: '/queue/in', ack: 'auto' });
    await settle();
    expect(next.sink.take()[0]).to.include({ redelivered: true });
    expect(h.core.destinations().find((s) => s.destination === '/queue/out')?.depth ?? 0).to.equal(0);
  });

  it('a NACK inside a transaction takes effect at commit', async () => {
    await sendAll(h.connect(), '/queue/in', ['job']);
    const worker = h.connect();
    await worker.connection.subscribe({ id: 's', destination: '/queue/in', ack: 'client-individual' });
    await settle();
    worker.connection.begin('t');
    await worker.connection.nack({ ackId: worker.sink.take()[0]!.ackId }, 't');
    await settle();
    expect(worker.sink.deliveries).to.have.length(0);
    await worker.connection.commit('t');
    await settle();
    expect(worker.sink.take()[0]).to.include({ redelivered: true, redeliveryCount: 1 });
  });
});
