// The receiver's ordering rules over a real replica directory: in-order batches are written,
// synced and acknowledged; a duplicate is ignored; a gap or a bad CRC asks for a resend from the
// last durable position and drops everything until that resend begins.
import { expect } from 'chai';
import { crc32c, encodeRecord, segmentFileName } from '@tandem-mq/shared-store';
import { CURSOR_FILE_NAME, Cursor } from './cursor.js';
import { ReplicaApplier, type ApplierOutput } from './replica-applier.js';
import { ReplicaStore } from './replica-store.js';
import { batchMessage, type BatchMessage, type SegmentDeletedMessage } from './protocol.js';
import { messageRecord, segmentFiles, segmentHeader, tempDir } from './testing/journal-files.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

describe('replica applier', function () {
  let dir: string;
  let remove: () => void;
  let store: ReplicaStore;
  let applier: ReplicaApplier;
  let out: ApplierOutput[];
  let failures: unknown[];

  // Segment 0: header + r1 + r2; segment S1 (right after it): header + r3.
  const r1 = messageRecord(40);
  const r2 = messageRecord(60);
  const r3 = messageRecord(80);
  const seg0 = Buffer.concat([segmentHeader(0), r1, r2]);
  const S1 = seg0.length;
  const seg1 = Buffer.concat([segmentHeader(S1), r3]);
  const b1 = (seq: number): BatchMessage => batchMessage(seq, { segment: 0, offset: 0 }, Buffer.concat([segmentHeader(0), r1]), 1, 1);
  const b2 = (seq: number): BatchMessage => batchMessage(seq, { segment: 0, offset: 32 + r1.length }, r2, 1, 2);
  const b3 = (seq: number): BatchMessage => batchMessage(seq, { segment: S1, offset: 0 }, seg1, 1, 3);

  async function feed(...messages: Array<BatchMessage | SegmentDeletedMessage>): Promise<void> {
    for (const m of messages) applier.receive(m);
    await applier.idle();
  }

  beforeEach(async function () {
    ({ dir, remove } = tempDir('applier'));
    store = new ReplicaStore({ dir });
    await store.open();
    out = [];
    failures = [];
    applier = new ReplicaApplier(store, { onFailure: (e) => failures.push(e) });
    applier.beginLink((m) => out.push(m));
  });
  afterEach(async function () {
    await store.close();
    remove();
  });

  it('applies batches in order, across segments, and acks the last seq with the durable position', async function () {
    await feed(b1(1), b2(2), b3(3));
    expect(segmentFiles(dir).get('00000000000000000000.seg')!.equals(seg0)).to.equal(true);
    expect([...segmentFiles(dir).values()][1]!.equals(seg1)).to.equal(true);
    const last = out[out.length - 1];
    expect(last).to.deep.equal({ type: 'ack', seq: 3, position: { segment: S1, offset: seg1.length } });
    expect(await new Cursor(dir).read()).to.deep.equal({ segment: S1, offset: seg1.length });
    expect(applier.stats).to.include({ batchesApplied: 3, recordsApplied: 3, bytesApplied: seg0.length + seg1.length, gapsDetected: 0, crcFailures: 0 });
  });

  it('ignores a duplicate seq without writing it again', async function () {
    await feed(b1(1), b2(2));
    await feed(b2(2));
    expect(applier.stats.duplicatesIgnored).to.equal(1);
    expect(applier.stats.bytesApplied).to.equal(seg0.length);
    expect(segmentFiles(dir).get('00000000000000000000.seg')!.equals(seg0)).to.equal(true);
    expect(out.filter((m) => m.type === 'resend')).to.deep.equal([]);
  });

  it('ignores a batch whose bytes are already here, even under a new seq', async function () {
    await feed(b1(1), b2(2));
    await feed(b2(3));
    expect(applier.stats.duplicatesIgnored).to.equal(1);
    expect(readFileSync(join(dir, '00000000000000000000.seg')).equals(seg0)).to.equal(true);
    await feed(b3(4));
    expect(out[out.length - 1]).to.deep.include({ type: 'ack', seq: 4 });
  });

  it('on a seq gap asks for a resend from the durable position and drops what follows until it begins', async function () {
    await feed(b1(1));
    await feed(b3(3)); // seq 2 lost
    expect(applier.stats.gapsDetected).to.equal(1);
    expect(out[out.length - 1]).to.deep.equal({ type: 'resend', seq: 2, position: { segment: 0, offset: 32 + r1.length } });
    await feed(b3(4)); // still in flight from before the resend: dropped
    expect(applier.stats.discardedAwaitingResend).to.equal(1);
    await feed(b2(2), b3(3)); // the resend
    expect(applier.stats.resendsRequested).to.equal(1);
    expect(out[out.length - 1]).to.deep.include({ type: 'ack', seq: 3 });
    expect([...segmentFiles(dir).values()].map((b) => b.length)).to.deep.equal([seg0.length, seg1.length]);
  });

  it('on a position gap under the right seq asks for a resend', async function () {
    await feed(b1(1));
    await feed(b3(2)); // segment S1 before the rest of segment 0
    expect(applier.stats.gapsDetected).to.equal(1);
    expect(out[out.length - 1]).to.deep.equal({ type: 'resend', seq: 2, position: { segment: 0, offset: 32 + r1.length } });
  });

  it('refuses a batch whose CRC does not match and applies it when it comes again intact', async function () {
    await feed(b1(1));
    const flipped = b2(2);
    flipped.bytes = Buffer.from(flipped.bytes);
    flipped.bytes[20]! ^= 0x01;
    await feed(flipped, b3(3));
    expect(applier.stats.crcFailures).to.equal(1);
    expect(applier.stats.discardedAwaitingResend).to.equal(1);
    expect(out[out.length - 1]).to.deep.equal({ type: 'resend', seq: 2, position: { segment: 0, offset: 32 + r1.length } });
    expect(readFileSync(join(dir, '00000000000000000000.seg')).length, 'nothing of the bad batch written').to.equal(32 + r1.length);
    await feed(b2(2), b3(3));
    expect(readFileSync(join(dir, '00000000000000000000.seg')).equals(seg0)).to.equal(true);
  });

  it('checks each record’s CRC even when the batch CRC was computed over the damaged bytes', async function () {
    const damaged = Buffer.from(r2);
    damaged[damaged.length - 2]! ^= 0x80;
    const m: BatchMessage = { ...b2(2), bytes: damaged, crc: crc32c(damaged) };
    await feed(b1(1), m);
    expect(applier.stats.crcFailures).to.equal(1);
    expect(out[out.length - 1]).to.deep.include({ type: 'resend', seq: 2 });
  });

  it('refuses a batch that ends inside a record, or whose header is not this segment’s', async function () {
    const cut = r2.subarray(0, r2.length - 5);
    await feed(b1(1), batchMessage(2, { segment: 0, offset: 32 + r1.length }, cut, 1, 0));
    expect(applier.stats.crcFailures).to.equal(1);
    await feed(batchMessage(2, { segment: 0, offset: 32 + r1.length }, r2, 1, 0));
    await feed(batchMessage(3, { segment: S1, offset: 0 }, Buffer.concat([segmentHeader(999), r3]), 1, 0));
    expect(applier.stats.crcFailures).to.equal(2);
  });

  it('deletes segments the primary reclaimed, and moves on when the one it was receiving is gone', async function () {
    await feed(b1(1), b2(2), b3(3));
    await feed({ type: 'segment-deleted', seq: 4, below: S1 });
    expect([...segmentFiles(dir).keys()]).to.deep.equal([segmentFileName(S1)]);
    expect(applier.stats.segmentsDeleted).to.equal(1);
    // The primary reclaimed S1 too while we were mid-way: the position jumps to what is next.
    const S2 = S1 + seg1.length + 1000;
    await feed({ type: 'segment-deleted', seq: 5, below: S2 });
    expect(store.durable).to.deep.equal({ segment: S2, offset: 0 });
    expect(await new Cursor(dir).read()).to.deep.equal({ segment: S2, offset: 0 });
    await feed(batchMessage(6, { segment: S2, offset: 0 }, Buffer.concat([segmentHeader(S2), r1]), 1, 0));
    expect(out[out.length - 1]).to.deep.equal({ type: 'ack', seq: 6, position: { segment: S2, offset: 32 + r1.length } });
  });

  it('accepts a new segment starting inside the current one only when it opens with the seal of that point', async function () {
    // A fenced broker wrote r2 after a new epoch sealed segment 0 right after r1.
    await feed(b1(1), b2(2));
    const sealedAt = 32 + r1.length;
    const epoch = (length: number): Buffer =>
      encodeRecord({ type: 'epoch', epoch: 2, host: 'h', pid: 1, timestamp: 1, seal: { segment: 0, length } });
    const wrongSeal = Buffer.concat([segmentHeader(sealedAt), epoch(sealedAt + 1), r3]);
    await feed(batchMessage(3, { segment: sealedAt, offset: 0 }, wrongSeal, 2, 0));
    expect(applier.stats.gapsDetected).to.equal(1);
    expect(out[out.length - 1]).to.deep.include({ type: 'resend', seq: 3 });
    const sealed = Buffer.concat([segmentHeader(sealedAt), epoch(sealedAt), r3]);
    await feed(batchMessage(3, { segment: sealedAt, offset: 0 }, sealed, 2, 0));
    expect(out[out.length - 1]).to.deep.equal({ type: 'ack', seq: 3, position: { segment: sealedAt, offset: sealed.length } });
    expect(segmentFiles(dir).get(segmentFileName(sealedAt))!.equals(sealed)).to.equal(true);
  });

  it('tells onDurable of what it applied, in order, once the cursor says it is durable', async function () {
    const told: Array<{ kind: string; at: number; end: number; durable: number }> = [];
    const watched = new ReplicaApplier(store, {
      onDurable: (applied) => {
        const durable = store.durable.segment + store.durable.offset;
        for (const m of applied) {
          const end = m.type === 'batch' ? m.position.segment + m.position.offset + m.bytes.length : 0;
          told.push({ kind: m.type, at: m.type === 'batch' ? m.seq : m.below, end, durable });
        }
      },
    });
    watched.beginLink(() => undefined);
    for (const m of [b1(1), b2(2), b2(2), b3(3), { type: 'segment-deleted' as const, seq: 4, below: S1 }]) watched.receive(m);
    await watched.idle();
    expect(told.map((t) => `${t.kind} ${t.at}`)).to.deep.equal(['batch 1', 'batch 2', 'batch 3', `segment-deleted ${S1}`]);
    expect(told.every((t) => t.durable >= t.end), 'told after the sync').to.equal(true);
  });

  it('starts numbering again on a new link', async function () {
    await feed(b1(1));
    applier.endLink();
    applier.beginLink((m) => out.push(m));
    await feed(b2(1));
    expect(out[out.length - 1]).to.deep.include({ type: 'ack', seq: 1 });
  });

  it('confirms nothing once the lock is gone', async function () {
    let held = true;
    const guarded = new ReplicaApplier(store, { mayConfirm: () => held, onFailure: (e) => failures.push(e) });
    const replies: ApplierOutput[] = [];
    guarded.beginLink((m) => replies.push(m));
    held = false;
    guarded.receive(b1(1));
    await guarded.idle();
    expect(replies).to.deep.equal([]);
    expect(failures).to.have.length(1);
  });
});

describe('replica store', function () {
  let dir: string;
  let remove: () => void;

  beforeEach(function () {
    ({ dir, remove } = tempDir('store'));
  });
  afterEach(function () {
    remove();
  });

  it('cuts bytes written after the durable position and removes segments begun after it', async function () {
    const store = new ReplicaStore({ dir });
    await store.open();
    const seg = Buffer.concat([segmentHeader(0), messageRecord()]);
    await store.write({ segment: 0, offset: 0 }, seg);
    await store.sync();
    await store.write({ segment: 0, offset: seg.length }, messageRecord()); // never synced
    await store.close();
    writeFileSync(join(dir, '00000000000000099999.seg'), segmentHeader(99999)); // a later segment, never durable

    const reopened = new ReplicaStore({ dir });
    expect(await reopened.open()).to.deep.equal({ segment: 0, offset: seg.length });
    expect([...segmentFiles(dir).keys()]).to.deep.equal(['00000000000000000000.seg']);
    expect(segmentFiles(dir).get('00000000000000000000.seg')!.equals(seg)).to.equal(true);
    expect(reopened.bytesAtOpen).to.equal(seg.length);
    await reopened.close();
  });

  it('refuses a directory with segments and no cursor', async function () {
    writeFileSync(join(dir, '00000000000000000000.seg'), segmentHeader(0));
    try {
      await new ReplicaStore({ dir }).open();
      expect.fail('expected a cursor error');
    } catch (err) {
      expect((err as { code: string }).code).to.equal('TANDEM_ERR_REPLICATION_CURSOR');
      expect((err as Error).message).to.contain('no replication cursor');
    }
  });

  it('refuses a cursor that is not JSON, or that is ahead of the files', async function () {
    writeFileSync(join(dir, CURSOR_FILE_NAME), 'garbage');
    try {
      await new ReplicaStore({ dir }).open();
      expect.fail('expected a cursor error');
    } catch (err) {
      expect((err as { code: string }).code).to.equal('TANDEM_ERR_REPLICATION_CURSOR');
    }
    await new Cursor(dir).write({ segment: 0, offset: 500 });
    writeFileSync(join(dir, '00000000000000000000.seg'), segmentHeader(0));
    try {
      await new ReplicaStore({ dir }).open();
      expect.fail('expected a cursor error');
    } catch (err) {
      expect((err as Error).message).to.contain('has 32 bytes but the cursor says 500');
    }
  });

  it('replaces the cursor atomically, ignoring a temporary file left by a crash', async function () {
    const cursor = new Cursor(dir);
    await cursor.write({ segment: 65536, offset: 100 });
    writeFileSync(join(dir, `${CURSOR_FILE_NAME}.tmp`), '{"half":');
    expect(await cursor.read()).to.deep.equal({ segment: 65536, offset: 100 });
    await cursor.write({ segment: 65536, offset: 200 });
    expect(await cursor.read()).to.deep.equal({ segment: 65536, offset: 200 });
    expect(JSON.parse(readFileSync(join(dir, CURSOR_FILE_NAME), 'utf8'))).to.include({ version: 1, segment: 65536, offset: 200 });
  });
});
