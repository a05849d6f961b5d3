// Epochs in the journal: each open with an epoch seals the last segment and starts a new one with
// an epoch record; a fenced writer (a zombie) that keeps writing into the sealed segment, or that
// writes an epoch record older than the newest, is ignored by every later recovery, and the
// reclaimer keeps the latest epoch on record.
import { expect } from 'chai';
import { appendFile, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RECORD_HEADER_SIZE, SEGMENT_HEADER_SIZE } from '../journal/constants.js';
import { decodeRecord, encodeRecord, type EpochRecord, type JournalRecord } from '../journal/records/index.js';
import { encodeSegmentHeader, segmentFileName } from '../journal/segment.js';
import { captureLog, readJournalRecords, tempDir } from '../testing/helpers.js';
import { FileStore, type FileStoreSettings } from './file-store.js';
import type { RecoveredState, StoredMessage } from './types.js';

const Q = '/queue/orders';

function message(seq: number, body = `body ${seq}`): StoredMessage {
  return { seq, id: `m${seq}`, destination: Q, headers: {}, body: Buffer.from(body), priority: 4, expires: 0, timestamp: seq, targets: [Q] };
}

function ids(state: RecoveredState): string[] {
  return (state.queues.get(Q) ?? []).map((m) => m.id);
}

async function segments(dir: string): Promise<Array<{ name: string; size: number }>> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.seg')).sort();
  return Promise.all(names.map(async (name) => ({ name, size: (await stat(join(dir, name))).size })));
}

/** The first record of a segment file, decoded straight from its bytes. */
async function firstRecord(dir: string, name: string): Promise<JournalRecord> {
  const bytes = await readFile(join(dir, name));
  const length = bytes.readUInt32BE(SEGMENT_HEADER_SIZE);
  const start = SEGMENT_HEADER_SIZE + RECORD_HEADER_SIZE;
  return decodeRecord(bytes[SEGMENT_HEADER_SIZE + 8]!, bytes.subarray(start, start + length));
}

describe('journal epochs and seals', function () {
  this.timeout(30_000);
  let dir: string;
  let remove: () => Promise<void>;
  let stores: FileStore[] = [];

  beforeEach(async function () {
    ({ dir, remove } = await tempDir('tandem-epoch-'));
  });
  afterEach(async function () {
    for (const s of stores) await s.close().catch(() => undefined);
    stores = [];
    await remove();
  });

  async function open(options: Partial<FileStoreSettings> = {}): Promise<{ store: FileStore; state: RecoveredState }> {
    const store = new FileStore({ dir, mode: 'durability', reclaimIntervalMs: 3_600_000, ...options });
    stores.push(store);
    return { store, state: await store.open() };
  }

  it('starts each epoch in a new segment named by the sealed length, its first record the epoch record with the seal', async function () {
    const first = await open({ epoch: 1 });
    expect(first.store.epoch).to.equal(1);
    await Promise.all([1, 2, 3].map((seq) => first.store.addMessage(message(seq))));
    await first.store.close();
    const [only] = await segments(dir);
    expect(only!.name).to.equal(segmentFileName(0));
    expect(await firstRecord(dir, only!.name)).to.deep.include({ type: 'epoch', epoch: 1, pid: process.pid }).and.not.have.property('seal');

    const second = await open({ epoch: 2 });
    expect(ids(second.state)).to.deep.equal(['m1', 'm2', 'm3']);
    const files = await segments(dir);
    expect(files.map((f) => f.name)).to.deep.equal([segmentFileName(0), segmentFileName(only!.size)]);
    expect(files[0]!.size, 'the sealed segment is not touched again').to.equal(only!.size);
    const epoch = await firstRecord(dir, files[1]!.name);
    expect(epoch).to.deep.include({ epoch: 2, seal: { segment: 0, length: only!.size } });

    await second.store.addMessage(message(4));
    expect((await segments(dir))[0]!.size, 'appends go to the new segment').to.equal(only!.size);
    await second.store.close();
    const third = await open();
    expect(ids(third.state)).to.deep.equal(['m1', 'm2', 'm3', 'm4']);
    expect(third.state.cleanShutdown).to.equal(true);
    expect(third.store.epoch, 'without an epoch of its own, the journal reports the latest recorded').to.equal(2);
  });

  it('cuts the preallocated zeros of a crashed epoch before sealing, so the sealed segment ends where the next begins', async function () {
    const crashed = await open({ epoch: 1 });
    await crashed.store.addMessage(message(1));
    const before = await segments(dir);
    expect(before[0]!.size, 'the head is preallocated past its records').to.be.greaterThan(1024 * 1024);
    // Abandoned without a close: the files stay as a kill -9 would leave them.
    stores = [];
    const next = await open({ epoch: 2 });
    expect(ids(next.state)).to.deep.equal(['m1']);
    const files = await segments(dir);
    expect(files[1]!.name).to.equal(segmentFileName(files[0]!.size));
    expect(await firstRecord(dir, files[1]!.name)).to.deep.include({ epoch: 2, seal: { segment: 0, length: files[0]!.size } });
    await next.store.close();
    await crashed.store.close().catch(() => undefined);
  });

  it("ignores a zombie's CRC-valid writes into the sealed segment, logging them once, and keeps the new epoch's data", async function () {
    const zombie = await open({ epoch: 1 });
    await Promise.all([1, 2, 3].map((seq) => zombie.store.addMessage(message(seq))));
    await zombie.store.ack(Q, 3);

    const active = await open({ epoch: 2 });
    expect(ids(active.state)).to.deep.equal(['m1', 'm2']);
    const sealedLength = (await segments(dir))[0]!.size;

    // The old active wakes from a pause and goes on writing: whole records with good CRCs, into
    // the segment the new epoch sealed, and a clean close (a clean-shutdown record) at the end.
    await zombie.store.addMessage(message(100, 'written by the zombie'));
    await zombie.store.ack(Q, 1);
    await active.store.addMessage(message(4));
    await active.store.ack(Q, 2);
    await zombie.store.close();
    const zombieBytes = (await segments(dir))[0]!.size - sealedLength;
    expect(zombieBytes, 'the zombie did write into the sealed segment').to.be.greaterThan(0);
    await active.store.close();

    const log = captureLog();
    const restarted = await open({ logger: log.logger, epoch: 3 });
    expect(ids(restarted.state), "the zombie's message and ack are not applied").to.deep.equal(['m1', 'm4']);
    expect(restarted.state.problems).to.deep.equal([]);
    expect(restarted.state.cleanShutdown, "the new active's clean close counts, not the zombie's").to.equal(true);
    expect(restarted.state.nextSeq, "the zombie's seq is not taken up").to.equal(5);
    const ignored = log.events('journal.zombie-bytes-ignored');
    expect(ignored).to.have.length(1);
    expect(ignored[0]).to.include({ segment: segmentFileName(0), offset: sealedLength, bytes: zombieBytes, sealedBy: 2 });
    expect(log.events('journal.tail-truncated')).to.deep.equal([]);
    expect((await segments(dir))[0]!.size, 'the ignored bytes are left in place, not cut').to.equal(sealedLength + zombieBytes);
  });

  it("ignores a zombie's torn or garbage bytes past the seal instead of refusing them as corruption", async function () {
    const first = await open({ epoch: 1 });
    await first.store.addMessage(message(1));
    await first.store.close();
    const second = await open({ epoch: 2 });
    await second.store.addMessage(message(2));
    await second.store.close();
    const sealed = join(dir, segmentFileName(0));
    const torn = encodeRecord({ type: 'message-add', txId: 0, message: message(50) });
    await appendFile(sealed, Buffer.concat([Buffer.from('not a record at all'), torn.subarray(0, torn.length - 5)]));

    const log = captureLog();
    const again = await open({ logger: log.logger });
    expect(ids(again.state)).to.deep.equal(['m1', 'm2']);
    expect(again.state.problems).to.deep.equal([]);
    expect(log.events('journal.zombie-bytes-ignored')).to.have.length(1);
  });

  it('ignores an epoch record older than one already recorded, and its seal, with a warning', async function () {
    const first = await open({ epoch: 4 });
    await first.store.addMessage(message(1));
    await first.store.close();
    const second = await open({ epoch: 5 });
    await second.store.addMessage(message(2));
    await second.store.addMessage(message(3));
    await second.store.close();
    // A zombie of epoch 3 (it lost the lock long ago) manages to append its own epoch record, and
    // a new segment whose epoch record claims to seal the head after the first of epoch 5's records.
    const files = await segments(dir);
    const head = files[files.length - 1]!;
    const headStart = Number(head.name.slice(0, 20));
    const headBytes = await readFile(join(dir, head.name));
    const epochLength = 9 + headBytes.readUInt32BE(SEGMENT_HEADER_SIZE);
    const sealAt = SEGMENT_HEADER_SIZE + epochLength + encodeRecord({ type: 'message-add', txId: 0, message: message(2) }).length;
    const stale: EpochRecord = { type: 'epoch', epoch: 3, host: 'zombie', pid: 1, timestamp: 1, seal: { segment: headStart, length: sealAt } };
    await writeFile(join(dir, segmentFileName(headStart + sealAt)), Buffer.concat([encodeSegmentHeader(headStart + sealAt), encodeRecord(stale)]));
    await appendFile(join(dir, head.name), encodeRecord({ ...stale, seal: { segment: 0, length: 32 } }));

    const log = captureLog();
    const again = await open({ logger: log.logger });
    expect(ids(again.state), 'the stale seal does not cut off m3').to.deep.equal(['m1', 'm2', 'm3']);
    expect(again.state.problems).to.deep.equal([]);
    expect(again.store.epoch).to.equal(5);
    const stales = log.events('journal.epoch-stale');
    expect(stales.map((e) => [e['epoch'], e['latest']])).to.deep.equal([[3, 5], [3, 5]]);
    expect(log.events('journal.zombie-bytes-ignored')).to.deep.equal([]);
  });

  it('refuses a sealed segment that holds fewer bytes than its seal, as corruption', async function () {
    const first = await open({ epoch: 1 });
    await first.store.addMessage(message(1));
    await first.store.addMessage(message(2));
    await first.store.close();
    await (await open({ epoch: 2 })).store.close();
    const sealed = join(dir, segmentFileName(0));
    const bytes = await readFile(sealed);
    // Exactly the last record (the clean-shutdown, 9 + 8 bytes) is gone: what is left reads cleanly.
    await writeFile(sealed, bytes.subarray(0, bytes.length - 17));
    const store = new FileStore({ dir, mode: 'durability' });
    stores.push(store);
    const error = await store.open().then(() => undefined, (err: unknown) => err as Error & { code?: string });
    expect(error?.code).to.equal('TANDEM_ERR_JOURNAL_CORRUPT');
    expect(error?.message).to.match(/sealed it at/);
  });

  it('raises an epoch that is not above the recorded one, so epochs keep growing', async function () {
    await (await open({ epoch: 7 })).store.close();
    const log = captureLog();
    const again = await open({ epoch: 3, logger: log.logger });
    expect(again.store.epoch).to.equal(8);
    expect(log.events('journal.epoch-advanced')[0]).to.include({ requested: 3, recorded: 7, epoch: 8 });
  });

  it('carries the latest epoch forward when its segment is reclaimed, and reclaims the sealed segments, epoch-only ones too', async function () {
    const segmentSize = 64 * 1024;
    const first = await open({ epoch: 1, segmentSize });
    await first.store.addMessage(message(1));
    await first.store.close();
    // Epoch 2 writes nothing but its epoch record and a clean shutdown.
    await (await open({ epoch: 2, segmentSize })).store.close();
    const { store } = await open({ epoch: 3, segmentSize });
    expect((await segments(dir)).length).to.equal(3);
    await store.ack(Q, 1);
    const body = 'x'.repeat(2000);
    for (let seq = 2; seq < 200; seq++) {
      await store.addMessage(message(seq, body));
      await store.ack(Q, seq);
    }
    await store.reclaim();
    const files = (await segments(dir)).map((f) => f.name);
    expect(files, 'the sealed segment is gone').to.not.include(segmentFileName(0));
    expect(files.length, 'only the head is left').to.equal(1);
    const epochs = (await readJournalRecords(dir)).filter((r): r is EpochRecord => r.type === 'epoch');
    expect(epochs).to.have.length(1);
    expect(epochs[0]).to.deep.include({ epoch: 3, pid: process.pid }).and.not.have.property('seal');
    await store.close();
    const again = await open({ segmentSize });
    expect(again.store.epoch).to.equal(3);
    expect(again.state.queues.size).to.equal(0);
    expect(again.state.problems).to.deep.equal([]);
  });
});
