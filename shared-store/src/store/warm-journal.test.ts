// The warm journal against recovery: a primary store runs random traffic (queues, a durable
// subscription, producer sequences, transactions, reclaims that compact and delete segments) while
// its bytes are shipped to a replica directory as replication ships them (new bytes first, then the
// deletions). A store opened on the replica with the state kept current must recover exactly what
// a cold recovery of the same files does, read only what came after, and keep every message
// through its own reclaims.
import { expect } from 'chai';
import { cp, open as fsOpen, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { nodeFileIO } from '../journal/file-io.js';
import { parseSegmentFileName, segmentFileName } from '../journal/segment.js';
import { captureLog, rng, tempDir } from '../testing/helpers.js';
import { FileStore, type FileStoreSettings } from './file-store.js';
import { durableKey, type RecoveredState, type StoredMessage } from './types.js';
import { WarmJournal, type WarmPosition } from './warm-journal.js';

/** The primary writes without preallocated zeros, so each file's size is where its data ends. */
const exactIO = { ...nodeFileIO, preallocate: false };

/**
 * Copies what the primary's directory holds beyond `at` into the replica's (bytes first, then the
 * segments the primary deleted) and tells the warm journal the same, in the same order.
 */
async function ship(primary: string, replica: string, at: WarmPosition, warm: WarmJournal): Promise<WarmPosition> {
  const segments = (await readdir(primary)).map(parseSegmentFileName).filter((s): s is number => s !== undefined).sort((x, y) => x - y);
  for (const segment of segments) {
    if (segment < at.segment) continue;
    const bytes = await readFile(join(primary, segmentFileName(segment)));
    const start = segment === at.segment ? at.offset : 0;
    if (bytes.length <= start) continue;
    const file = await fsOpen(join(replica, segmentFileName(segment)), start === 0 ? 'w' : 'r+');
    await file.write(bytes, start, bytes.length - start, start);
    await file.close();
    warm.feed({ segment, offset: start }, bytes.subarray(start));
    at = { segment, offset: bytes.length };
  }
  const oldest = segments[0]!;
  let deleted = false;
  for (const name of await readdir(replica)) {
    const segment = parseSegmentFileName(name);
    if (segment !== undefined && segment < oldest) {
      await unlink(join(replica, name));
      deleted = true;
    }
  }
  if (deleted) warm.deleted(oldest);
  return at;
}

function comparable(state: RecoveredState): unknown {
  return {
    queues: [...state.queues.entries()].sort(),
    durables: state.durableSubscriptions,
    producerSeqs: [...state.producerSeqs.entries()].sort(),
    nextSeq: state.nextSeq,
  };
}

describe('warm journal: a replica keeps the recovered state current', function () {
  this.timeout(60_000);
  const cleanups: Array<() => Promise<void>> = [];
  const stores: FileStore[] = [];

  async function dir(prefix: string): Promise<string> {
    const made = await tempDir(`tandem-warm-${prefix}-`);
    cleanups.push(made.remove);
    return made.dir;
  }

  function store(settings: Omit<FileStoreSettings, 'mode'>): FileStore {
    const s = new FileStore({ mode: 'durability', reclaimIntervalMs: 3_600_000, segmentSize: 64 * 1024, ...settings });
    stores.push(s);
    return s;
  }

  afterEach(async function () {
    for (const s of stores.splice(0)) await s.close().catch(() => undefined);
    for (const remove of cleanups.splice(0)) await remove();
  });

  for (const seed of [1, 7, 42]) {
    it(`opens on the replayed state exactly as recovery would, reading only the rest (seed ${seed})`, async function () {
      const random = rng(seed);
      const [primaryDir, replicaDir, coldDir] = [await dir('primary'), await dir('replica'), await dir('cold')];
      const primary = store({ dir: primaryDir, fileIO: exactIO, epoch: 1 });
      await primary.open();
      const audit = { clientId: 'c1', name: 'audit', destination: '/topic/t' };
      const auditKey = durableKey('c1', 'audit');
      await primary.addDurableSubscription(audit);

      const warm = await WarmJournal.load({ dir: replicaDir, position: { segment: 0, offset: 0 } });
      let at: WarmPosition = { segment: 0, offset: 0 };
      const live = new Map<number, string[]>();
      let seq = 1;
      let producerSeq = 0;
      const body = (): Buffer => Buffer.alloc(100 + random.int(500), seq % 251);
      const message = (targets: string[], destination: string): StoredMessage => {
        const m: StoredMessage = { seq, id: `m${seq}`, destination, headers: { k: String(seq) }, body: body(), priority: 4, expires: 0, timestamp: seq, targets };
        if (random.chance(0.5)) Object.assign(m, { producerId: `p${seq % 3}`, producerSeq: ++producerSeq });
        live.set(seq++, [...targets]);
        return m;
      };

      for (let round = 0; round < 60; round++) {
        const pending: Array<Promise<void>> = [];
        for (let i = 0; i < 20; i++) {
          const r = random.int(100) / 100;
          if (r < 0.45) pending.push(primary.addMessage(message(['/queue/a'], '/queue/a')));
          else if (r < 0.6) pending.push(primary.addMessage(message([auditKey], '/topic/t')));
          else if (r < 0.7) pending.push(primary.commit([{ op: 'add', message: message(['/queue/b'], '/queue/b') }]));
          else {
            // Mostly the oldest (as consumers do), sometimes any.
            const candidates = [...live.keys()].filter((k) => k > 3);
            const pick = candidates[random.chance(0.7) ? 0 : random.int(candidates.length)];
            // Keep the oldest few: they are compacted forward again and again.
            if (pick === undefined || pick <= 3) continue;
            const targets = live.get(pick)!;
            const target = targets.shift()!;
            if (targets.length === 0) live.delete(pick);
            pending.push(primary.ack(target, pick));
          }
        }
        await Promise.all(pending);
        if (round % 5 === 4) await primary.reclaim();
        at = await ship(primaryDir, replicaDir, at, warm);
      }
      expect(warm.current, warm.stale).to.equal(true);
      expect((await readdir(replicaDir)).includes(segmentFileName(0)), 'the reclaimer deleted segments along the way').to.equal(false);

      await cp(replicaDir, coldDir, { recursive: true });
      const log = captureLog();
      const promoted = store({ dir: replicaDir, warm, epoch: 2, logger: log.logger });
      const warmState = await promoted.open();
      const cold = await store({ dir: coldDir, epoch: 2 }).open();
      expect(comparable(warmState)).to.deep.equal(comparable(cold));
      expect(warmState.stats.records, 'records read at open').to.be.below(5);
      expect(log.events('journal.recovered')[0]).to.have.property('resumedAt');

      // The ledger built from the replayed state lets the reclaimer work without losing anything.
      await promoted.reclaim();
      await promoted.close();
      const again = await store({ dir: replicaDir }).open();
      expect(comparable(again)).to.deep.equal(comparable(cold));
    });
  }

  it('steps aside when the bytes jump, and the store then recovers in full', async function () {
    const [primaryDir, replicaDir] = [await dir('primary'), await dir('replica')];
    const primary = store({ dir: primaryDir, fileIO: exactIO });
    await primary.open();
    const warm = await WarmJournal.load({ dir: replicaDir, position: { segment: 0, offset: 0 } });
    await primary.addMessage({ seq: 1, id: 'm1', destination: '/queue/a', headers: {}, body: Buffer.from('x'), priority: 4, expires: 0, timestamp: 1, targets: ['/queue/a'] });
    await ship(primaryDir, replicaDir, { segment: 0, offset: 0 }, warm);
    warm.feed({ segment: 0, offset: 5000 }, Buffer.alloc(0));
    expect(warm.current).to.equal(false);
    expect(warm.stale).to.contain('do not follow');
    const log = captureLog();
    const state = await store({ dir: replicaDir, warm, logger: log.logger }).open();
    expect(state.queues.get('/queue/a')?.map((m) => m.seq)).to.deep.equal([1]);
    expect(log.events('journal.recovered')[0]).to.not.have.property('resumedAt');
  });

  it('loads the files already in the replica directory, and refuses ones that end elsewhere', async function () {
    const [primaryDir, replicaDir] = [await dir('primary'), await dir('replica')];
    const primary = store({ dir: primaryDir, fileIO: exactIO });
    await primary.open();
    for (let seq = 1; seq <= 5; seq++) {
      await primary.addMessage({ seq, id: `m${seq}`, destination: '/queue/a', headers: {}, body: Buffer.from('x'), priority: 4, expires: 0, timestamp: seq, targets: ['/queue/a'] });
    }
    const first = await WarmJournal.load({ dir: replicaDir, position: { segment: 0, offset: 0 } });
    const end = await ship(primaryDir, replicaDir, { segment: 0, offset: 0 }, first);
    const loaded = await WarmJournal.load({ dir: replicaDir, position: end });
    expect(loaded.current).to.equal(true);
    expect(loaded.records).to.equal(first.records);
    const wrong = await WarmJournal.load({ dir: replicaDir, position: { segment: 0, offset: end.offset - 1 } });
    expect(wrong.current).to.equal(false);
  });
});
