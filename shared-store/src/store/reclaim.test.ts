// The reclaimer: a queue's worth of acked messages leaves only a few segments behind, and a
// long-lived unacked message (with its subscription, producer sequence and dispatch mark)
// survives being compacted forward across many segments.
import { expect } from 'chai';
import { readdir } from 'node:fs/promises';
import { FaultyFileIO } from '../journal/file-io.js';
import { segmentFileName } from '../journal/segment.js';
import { readJournalRecords, tempDir } from '../testing/helpers.js';
import { FileStore, type FileStoreSettings } from './file-store.js';
import type { StoredMessage } from './types.js';
import { durableKey } from './types.js';

const Q = '/queue/work';

function message(seq: number, body: Buffer, targets = [Q]): StoredMessage {
  return { seq, id: `m${seq}`, destination: Q, headers: {}, body, priority: 4, expires: 0, timestamp: seq, targets };
}

async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith('.seg')).sort();
}

describe('reclaimer', function () {
  this.timeout(60_000);
  let dir: string;
  let remove: () => Promise<void>;
  let stores: FileStore[] = [];

  beforeEach(async function () {
    ({ dir, remove } = await tempDir('tandem-reclaim-'));
  });
  afterEach(async function () {
    for (const s of stores) await s.close().catch(() => undefined);
    stores = [];
    await remove();
  });

  function store(options: Partial<FileStoreSettings> = {}): FileStore {
    const s = new FileStore({ dir, mode: 'durability', reclaimIntervalMs: 3_600_000, ...options });
    stores.push(s);
    return s;
  }

  it('200,000 messages added and acked through a queue leave at most three segment files', async function () {
    const s = store({ segmentSize: 2 * 1024 * 1024 });
    await s.open();
    const body = Buffer.from('small body, 32 bytes of payload.');
    const window = 2000;
    let maxSegments = 0;
    for (let from = 1; from <= 200_000; from += window) {
      const adds = [];
      for (let seq = from; seq < from + window; seq++) adds.push(s.addMessage(message(seq, body)));
      await Promise.all(adds);
      const acks = [];
      for (let seq = from; seq < from + window; seq++) acks.push(s.ack(Q, seq));
      await Promise.all(acks);
      if ((from - 1) % (window * 10) === 0) await s.reclaim();
      maxSegments = Math.max(maxSegments, s.stats().segments);
    }
    await s.reclaim();
    const files = await segmentFiles(dir);
    expect(files.length).to.be.at.most(3);
    expect(files).to.not.include(segmentFileName(0));
    expect(s.stats()).to.include({ liveMessages: 0, segments: files.length });
    expect(maxSegments, 'segments never piled up between reclaims').to.be.at.most(8);
    await s.close();
    const again = store({ segmentSize: 2 * 1024 * 1024 });
    const state = await again.open();
    expect(state.queues.size).to.equal(0);
    expect(state.nextSeq).to.equal(200_001);
  });

  it('compacts a long-lived unacked message forward across many segments, with what it depends on', async function () {
    const s = store({ segmentSize: 64 * 1024 });
    await s.open();
    const key = durableKey('client', 'audit');
    await s.addDurableSubscription({ clientId: 'client', name: 'audit', destination: '/topic/audit', selector: "kind = 'x'" });
    const keeper: StoredMessage = {
      ...message(1, Buffer.from('keep me'), [key, Q]),
      destination: '/topic/audit',
      headers: { kind: 'x' },
      producerId: 'producer-1',
      producerSeq: 41,
    };
    await s.addMessage(keeper);
    await s.ack(Q, 1); // only the durable subscription still owes an ack
    s.markDispatched(key, 1);
    const filler = Buffer.alloc(300, 7);
    let seq = 2;
    let late = 0;
    for (let round = 0; round < 40; round++) {
      const adds = [];
      const first = seq;
      for (let i = 0; i < 200; i++, seq++) adds.push(s.addMessage(message(seq, filler)));
      await Promise.all(adds);
      if (round === 20) {
        late = seq++;
        await s.addMessage(message(late, Buffer.from('late')));
      }
      const acks = [];
      for (let a = first; a < first + 200; a++) acks.push(s.ack(Q, a));
      await Promise.all(acks);
      await s.reclaim();
    }
    const files = await segmentFiles(dir);
    expect(files).to.not.include(segmentFileName(0));
    expect(files.length).to.be.at.most(4);
    await s.close();

    const again = store({ segmentSize: 64 * 1024 });
    const state = await again.open();
    const durable = state.durableSubscriptions.find((d) => d.info.name === 'audit');
    expect(durable?.info).to.deep.equal({ clientId: 'client', name: 'audit', destination: '/topic/audit', selector: "kind = 'x'" });
    expect(durable!.pending.map((m) => [m.seq, m.body.toString(), m.redelivered, m.headers])).to.deep.equal([
      [1, 'keep me', true, { kind: 'x' }],
    ]);
    expect(durable!.pending[0]!.targets).to.deep.equal([key]);
    // Ordered by seq, not by where the compacted copy sits in the files.
    expect(state.queues.get(Q)!.map((m) => m.seq)).to.deep.equal([late]);
    expect(state.producerSeqs.get('producer-1')).to.equal(41);
    expect(state.nextSeq).to.equal(seq);
  });

  it('tolerates both copies of a compacted message when deleting the original failed: the first wins', async function () {
    const io = new FaultyFileIO();
    const s = store({ segmentSize: 64 * 1024, fileIO: io });
    await s.open();
    await s.addMessage(message(1, Buffer.from('survivor'), [Q, '/queue/other']));
    let seq = 2;
    for (let i = 0; i < 400; i++, seq++) await s.addMessage(message(seq, Buffer.alloc(300)));
    await s.ack('/queue/other', 1);
    for (let a = 2; a < seq; a++) void s.ack(Q, a);
    io.failNextUnlink();
    let error: unknown;
    await s.reclaim().catch((err: unknown) => (error = err));
    expect((error as Error).message).to.match(/injected unlink failure/);
    expect(s.state).to.equal('open');
    expect(await segmentFiles(dir)).to.include(segmentFileName(0));
    await s.close();
    const copies = (await readJournalRecords(dir)).filter((r) => r.type === 'message-add' && r.message.seq === 1);
    expect(copies.map((r) => r.type === 'message-add' && r.message.targets)).to.deep.equal([[Q, '/queue/other'], [Q]]);

    const again = store({ segmentSize: 64 * 1024 });
    let state = await again.open();
    expect(state.queues.get(Q)!.map((m) => [m.seq, m.body.toString(), m.targets])).to.deep.equal([[1, 'survivor', [Q]]]);
    expect(state.queues.has('/queue/other')).to.equal(false);
    await again.ack(Q, 1);
    await again.reclaim();
    await again.close();
    const third = store({ segmentSize: 64 * 1024 });
    state = await third.open();
    expect(state.queues.size).to.equal(0);
    expect(await segmentFiles(dir)).to.not.include(segmentFileName(0));
  });

  it('runs on its own timer', async function () {
    const s = store({ segmentSize: 64 * 1024, reclaimIntervalMs: 20 });
    await s.open();
    for (let seq = 1; seq <= 600; seq++) void s.addMessage(message(seq, Buffer.alloc(300)));
    const acks = [];
    for (let seq = 1; seq <= 600; seq++) acks.push(s.ack(Q, seq));
    await Promise.all(acks);
    const before = s.stats().segments;
    expect(before).to.be.greaterThan(2);
    const deadline = Date.now() + 10_000;
    while (s.stats().segments > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(s.stats().segments).to.equal(1);
    expect(await segmentFiles(dir)).to.have.length(1);
  });
});
