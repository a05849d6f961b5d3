// Acknowledgements nobody waits on (a STOMP ACK without a receipt) are stored without an fdatasync
// of their own: the core passes { sync: false } to the store for them, and sync() makes them
// durable on demand (a DISCONNECT's RECEIPT). Everything else keeps waiting for the store.
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FaultyFileIO, openFileStore, silentLogger, type AckOptions, type MessageStore, type TransactionOp } from '@tandem-mq/shared-store';
import { createBrokerCore, type RunningCore } from './index.js';
import { DEFAULT_DEAD_LETTER_POLICY, DEFAULT_REDELIVERY_POLICY } from './policies.js';
import { RecordingSink, msg, overrideStore, sendAll, settle, startHarness, type Harness } from './testing/harness.js';

/** A store view that logs each ack with its options, each commit and each sync. */
function recording(store: MessageStore, log: string[]): MessageStore {
  return overrideStore(store, {
    commit(ops: TransactionOp[]) {
      log.push(`commit ${ops.map((op) => op.op).join(' ')}`);
      return store.commit(ops);
    },
    ack(target: string, seq: number, options?: AckOptions) {
      log.push(`ack ${target} ${seq} ${options?.sync === false ? 'lazy' : 'durable'}`);
      return store.ack(target, seq, options);
    },
    sync() {
      log.push('sync');
      return store.sync();
    },
  });
}

describe('core: acknowledgements without an fdatasync of their own', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  it('passes { sync: false } to the store for every message a lazy ACK covers, and nothing for a durable one', async () => {
    const log: string[] = [];
    h = await startHarness({ wrapStore: (store) => recording(store, log) });
    await sendAll(h.connect(), '/queue/q', ['a', 'b', 'c', 'd']);
    const consumer = h.connect();
    await consumer.connection.subscribe({ id: 's', destination: '/queue/q', ack: 'client' });
    await settle();
    const deliveries = consumer.sink.take();
    expect(deliveries.map((d) => d.body.toString())).to.deep.equal(['a', 'b', 'c', 'd']);
    await consumer.connection.ack({ ackId: deliveries[2]!.ackId }, undefined, { sync: false }); // cumulative: a, b, c
    await consumer.connection.ack({ ackId: deliveries[3]!.ackId });
    expect(log).to.deep.equal(['ack /queue/q 1 lazy', 'ack /queue/q 2 lazy', 'ack /queue/q 3 lazy', 'ack /queue/q 4 durable']);
    expect(h.core.destinations().find((s) => s.destination === '/queue/q')).to.include({ depth: 0, inFlight: 0, dequeued: 4 });
  });

  it('sync() asks the store for an fdatasync only when the connection made lazy acks since the last one', async () => {
    const log: string[] = [];
    h = await startHarness({ wrapStore: (store) => recording(store, log) });
    await sendAll(h.connect(), '/queue/q', ['a', 'b']);
    const consumer = h.connect();
    await consumer.connection.subscribe({ id: 's', destination: '/queue/q', ack: 'client-individual' });
    await settle();
    const [a, b] = consumer.sink.take();
    await consumer.connection.sync();
    expect(log, 'nothing to make durable').to.deep.equal([]);
    await consumer.connection.ack({ ackId: a!.ackId }, undefined, { sync: false });
    await consumer.connection.sync();
    await consumer.connection.sync();
    expect(log).to.deep.equal(['ack /queue/q 1 lazy', 'sync']);
    await consumer.connection.ack({ ackId: b!.ackId });
    await consumer.connection.sync();
    expect(log, 'a durable ack leaves nothing behind').to.deep.equal(['ack /queue/q 1 lazy', 'sync', 'ack /queue/q 2 durable']);
  });

  it('an ACK in a transaction is stored at COMMIT, which waits for the store, whatever its options', async () => {
    const log: string[] = [];
    h = await startHarness({ wrapStore: (store) => recording(store, log) });
    await sendAll(h.connect(), '/queue/q', ['a']);
    const consumer = h.connect();
    await consumer.connection.subscribe({ id: 's', destination: '/queue/q', ack: 'client-individual' });
    await settle();
    const [a] = consumer.sink.take();
    consumer.connection.begin('t');
    await consumer.connection.ack({ ackId: a!.ackId }, 't', { sync: false });
    expect(log).to.deep.equal([]);
    await consumer.connection.commit('t');
    await consumer.connection.sync();
    expect(log, 'the commit is one durable store call, and leaves nothing to sync').to.deep.equal(['commit ack']);
    const restarted = await h.restart();
    h = restarted;
    expect(h.core.destinations().find((s) => s.destination === '/queue/q')?.depth ?? 0).to.equal(0);
  });
});

describe('core: lazy acknowledgements over the file store', () => {
  let dir: string;
  const cores: RunningCore[] = [];
  const stores: MessageStore[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tandem-core-lazy-ack-'));
  });
  afterEach(async () => {
    for (const core of cores.splice(0)) await core.close();
    for (const store of stores.splice(0)) await store.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  async function start(fileIO?: FaultyFileIO) {
    const { store, recovered } = await openFileStore({ dir, mode: 'durability', ...(fileIO === undefined ? {} : { fileIO }) });
    stores.push(store);
    const core = createBrokerCore({
      store,
      recovered,
      logger: silentLogger(),
      redelivery: DEFAULT_REDELIVERY_POLICY,
      deadLetter: DEFAULT_DEAD_LETTER_POLICY,
      brokerId: 'b',
    });
    cores.push(core);
    const connect = () => {
      const sink = new RecordingSink();
      return { connection: core.openConnection({ remoteAddress: '127.0.0.1', protocol: 'test' }, sink), sink };
    };
    return { core, recovered, connect };
  }

  it('writes a lazy ACK without an fdatasync, and kill -9 right after it keeps the acknowledgement', async () => {
    const io = new FaultyFileIO();
    const first = await start(io);
    const producer = first.connect();
    for (const body of ['a', 'b']) await producer.connection.send(msg('/queue/q', body));
    const consumer = first.connect();
    await consumer.connection.subscribe({ id: 's', destination: '/queue/q', ack: 'client-individual' });
    const deadline = Date.now() + 5000;
    while (consumer.sink.deliveries.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
    const [a] = consumer.sink.take();
    io.resetCounters();
    await consumer.connection.ack({ ackId: a!.ackId }, undefined, { sync: false });
    expect([io.writes, io.syncs], 'one write, no fdatasync').to.deep.equal([1, 0]);
    io.crash(); // the page cache outlives the process: what was written is on the file
    const second = await start();
    expect(second.recovered.cleanShutdown).to.equal(false);
    expect(second.recovered.queues.get('/queue/q')!.map((m) => m.body.toString())).to.deep.equal(['b']);
  });
});
