// The tailer against segment files written by hand, a piece at a time: only whole records come
// out, in order, from the position asked for, across new segments, preallocated zeros and
// deletions; and against a real journal writing as it would in the broker.
import { expect } from 'chai';
import { unlinkSync, writeFileSync } from 'node:fs';
import { Journal, nodeFileIO, type StoredMessage } from '@tandem-mq/shared-store';
import { ReplicationError } from './errors.js';
import { dataEnd } from './journal-dir.js';
import { JournalTailer, type TailBatch, type TailEvent } from './tailer.js';
import {
  appendToSegment,
  messageRecord,
  segmentFiles,
  segmentHeader,
  segmentPath,
  tempDir,
  writeSegment,
} from './testing/journal-files.js';

/** Takes events until `stop` says so, with a deadline. */
async function take(tailer: JournalTailer, count: number, limitMs = 3000): Promise<TailEvent[]> {
  const out: TailEvent[] = [];
  const deadline = setTimeout(() => void tailer.close(), limitMs);
  try {
    while (out.length < count) out.push(await tailer.next());
  } catch (err) {
    throw new Error(`got ${out.length} of ${count} events before: ${(err as Error).message}`);
  } finally {
    clearTimeout(deadline);
  }
  return out;
}

/** Whether `pending` is still unsettled after `ms`. */
async function stillPending(pending: Promise<unknown>, ms = 60): Promise<boolean> {
  pending.catch(() => undefined);
  return Promise.race([pending.then(() => false, () => false), new Promise<boolean>((r) => setTimeout(() => r(true), ms))]);
}

function storedMessage(seq: number, size: number): StoredMessage {
  return { seq, id: `m${seq}`, destination: '/queue/a', headers: {}, body: Buffer.alloc(size, 7), priority: 4, expires: 0, timestamp: 1, targets: ['/queue/a'] };
}

function batches(events: TailEvent[]): TailBatch[] {
  return events.filter((e): e is TailBatch => e.kind === 'batch');
}

describe('journal tailer', function () {
  let dir: string;
  let remove: () => void;
  const tailers: JournalTailer[] = [];
  const open = (options: Partial<ConstructorParameters<typeof JournalTailer>[0]> = {}): JournalTailer => {
    const t = new JournalTailer({ dir, from: { segment: 0, offset: 0 }, pollIntervalMs: 2, ...options });
    tailers.push(t);
    return t;
  };

  beforeEach(function () {
    ({ dir, remove } = tempDir('tailer'));
  });
  afterEach(async function () {
    for (const t of tailers.splice(0)) await t.close();
    remove();
  });

  it('ships a segment from its header, and then records appended in pieces, never half a record', async function () {
    const r1 = messageRecord(50);
    const r2 = messageRecord(70);
    const r3 = messageRecord(90);
    writeSegment(dir, 0, [r1]);
    const tailer = open();
    const [first] = batches(await take(tailer, 1));
    expect(first!.position).to.deep.equal({ segment: 0, offset: 0 });
    expect(first!.bytes.equals(Buffer.concat([segmentHeader(0), r1]))).to.equal(true);
    expect(first!.records).to.equal(1);

    // r2 arrives in three pieces; nothing may come out until its last byte is there.
    const pending = tailer.next();
    appendToSegment(dir, 0, r2.subarray(0, 4)); // inside the record header
    expect(await stillPending(pending), 'after 4 bytes').to.equal(true);
    appendToSegment(dir, 0, r2.subarray(4, 30)); // inside the payload
    expect(await stillPending(pending), 'after 30 bytes').to.equal(true);
    appendToSegment(dir, 0, Buffer.concat([r2.subarray(30), r3.subarray(0, 20)]));
    const second = (await pending) as TailBatch;
    expect(second.position).to.deep.equal({ segment: 0, offset: 32 + r1.length });
    expect(second.bytes.equals(r2), 'exactly r2, not the start of r3').to.equal(true);
    appendToSegment(dir, 0, r3.subarray(20));
    const [third] = batches(await take(tailer, 1));
    expect(third!.bytes.equals(r3)).to.equal(true);
    expect(third!.end).to.deep.equal({ segment: 0, offset: 32 + r1.length + r2.length + r3.length });
  });

  it('moves to the next segment once it exists, starting with its header', async function () {
    const a = writeSegment(dir, 0, [messageRecord(), messageRecord()]);
    const tailer = open();
    const [one] = batches(await take(tailer, 1));
    expect(one!.bytes.equals(a)).to.equal(true);
    const b = writeSegment(dir, a.length, [messageRecord()]);
    const [two] = batches(await take(tailer, 1));
    expect(two!.position).to.deep.equal({ segment: a.length, offset: 0 });
    expect(two!.bytes.equals(b)).to.equal(true);
  });

  it('starts from a position in the middle of a segment', async function () {
    const r1 = messageRecord();
    const r2 = messageRecord();
    writeSegment(dir, 0, [r1, r2]);
    const tailer = open({ from: { segment: 0, offset: 32 + r1.length } });
    const [only] = batches(await take(tailer, 1));
    expect(only!.position).to.deep.equal({ segment: 0, offset: 32 + r1.length });
    expect(only!.bytes.equals(r2)).to.equal(true);
  });

  it('stops at the zeros a journal preallocates, and picks up records written into them', async function () {
    const r1 = messageRecord();
    const r2 = messageRecord();
    const head = Buffer.concat([segmentHeader(0), r1, Buffer.alloc(4096)]);
    writeFileSync(segmentPath(dir, 0), head);
    const tailer = open();
    const [one] = batches(await take(tailer, 1));
    expect(one!.bytes.length).to.equal(32 + r1.length);
    expect(tailer.head, 'the head is where the data ends, not the file').to.equal(32 + r1.length);
    const pending = tailer.next();
    expect(await stillPending(pending)).to.equal(true);
    // Written into the zeros, as the journal appends: the file's size does not change.
    r2.copy(head, 32 + r1.length);
    writeFileSync(segmentPath(dir, 0), head);
    const two = (await pending) as TailBatch;
    expect(two.bytes.equals(r2)).to.equal(true);
    expect(await dataEnd(nodeFileIO, segmentPath(dir, 0))).to.equal(32 + r1.length + r2.length);
  });

  it('ships a record larger than a batch whole', async function () {
    const big = messageRecord(20_000);
    writeSegment(dir, 0, [messageRecord(10), big]);
    const tailer = open({ maxBatchBytes: 4096 });
    const got = batches(await take(tailer, 2));
    expect(got[1]!.bytes.equals(big)).to.equal(true);
    expect(got.map((b) => b.records)).to.deep.equal([1, 1]);
  });

  it('reports segments the primary deleted, and jumps past one it was still reading', async function () {
    const a = writeSegment(dir, 0, [messageRecord()]);
    const b = writeSegment(dir, a.length, [messageRecord()]);
    const c = writeSegment(dir, a.length + b.length, [messageRecord()]);
    const tailer = open({ listIntervalMs: 1 });
    const first = await take(tailer, 2);
    expect(batches(first).map((e) => e.position.segment)).to.deep.equal([0, a.length]);
    unlinkSync(segmentPath(dir, 0));
    // Segment c was written before the deletion (it is where a reclaimer carries live records
    // forward): it is shipped first, so a replica never holds the deletion without it.
    const [third, deleted] = await take(tailer, 2);
    expect((third as TailBatch).position).to.deep.equal({ segment: a.length + b.length, offset: 0 });
    expect(deleted).to.deep.include({ kind: 'segment-deleted', below: a.length });

    // A tailer that starts in a segment that is gone reports it and goes on from the oldest left.
    unlinkSync(segmentPath(dir, a.length));
    const late = open({ from: { segment: 0, offset: 40 } });
    const [gone, next] = await take(late, 2);
    expect(gone).to.deep.include({ kind: 'segment-deleted', below: a.length + b.length, end: { segment: a.length + b.length, offset: 0 } });
    expect((next as TailBatch).bytes.equals(c)).to.equal(true);
  });

  it('dates the rest of a record still being written from when it was seen, not from the batch before', async function () {
    const r1 = messageRecord();
    const r2 = messageRecord();
    writeSegment(dir, 0, [r1, r2.subarray(0, 20)]);
    const started = Date.now();
    const tailer = open({ waitingSince: started - 10_000 }); // bytes waiting since an earlier link
    const [one] = batches(await take(tailer, 1));
    expect(one!.observedAt).to.equal(started - 10_000);
    appendToSegment(dir, 0, r2.subarray(20));
    const [two] = batches(await take(tailer, 1));
    expect(two!.bytes.equals(r2)).to.equal(true);
    expect(two!.observedAt).to.be.at.least(started);
  });

  it('never ships bytes past a seal, and moves on from a segment shipped past it', async function () {
    // Segment 0 was sealed right after r1 by a new epoch; the zombie record came later from the
    // fenced broker. (A tailer that read the zombie before the next segment existed ships it; the
    // replica's receiver then takes the sealed segment, see the applier's tests.)
    const r1 = messageRecord();
    const zombie = messageRecord();
    const sealedAt = 32 + r1.length;
    writeSegment(dir, 0, [r1, zombie]);
    const next = writeSegment(dir, sealedAt, [messageRecord()]);
    const tailer = open();
    const [one, two] = batches(await take(tailer, 2));
    expect(one!.bytes.equals(Buffer.concat([segmentHeader(0), r1])), 'segment 0 up to its seal').to.equal(true);
    expect(two!.position).to.deep.equal({ segment: sealedAt, offset: 0 });
    expect(two!.bytes.equals(next)).to.equal(true);

    // A replica that holds the zombie bytes already moves on too.
    const late = open({ from: { segment: 0, offset: sealedAt + zombie.length } });
    const [three] = batches(await take(late, 1));
    expect(three!.position).to.deep.equal({ segment: sealedAt, offset: 0 });
  });

  it('refuses a position beyond the primary’s data as divergence', async function () {
    writeSegment(dir, 0, [messageRecord()]);
    const tailer = open({ from: { segment: 0, offset: 5000 } });
    try {
      await tailer.next();
      expect.fail('expected divergence');
    } catch (err) {
      expect(err).to.be.instanceOf(ReplicationError);
      expect((err as ReplicationError).code).to.equal('TANDEM_ERR_REPLICATION_DIVERGED');
      expect((err as Error).message).to.contain('5000 bytes of segment 0');
    }
  });

  it('waits at a record whose CRC stays wrong and reports it as corruption', async function () {
    const r1 = messageRecord();
    const bad = Buffer.from(messageRecord());
    bad[bad.length - 1]! ^= 0xff;
    writeSegment(dir, 0, [r1, bad, messageRecord()]);
    const tailer = open({ corruptAfterMs: 30 });
    const [one] = batches(await take(tailer, 1));
    expect(one!.records).to.equal(1);
    expect(await stillPending(tailer.next(), 120)).to.equal(true);
    expect(tailer.problem?.code).to.equal('TANDEM_ERR_REPLICATION_SOURCE_CORRUPT');
    expect(tailer.problem?.message).to.contain(`offset ${32 + r1.length}`);
  });

  it('follows a real journal through rolls, and its bytes add up to the files', async function () {
    const journal = new Journal({ dir, mode: 'durability', segmentSize: 64 * 1024 });
    await journal.open(() => undefined);
    const tailer = open();
    const shipped = new Map<number, Buffer[]>();
    let records = 0;
    const reading = (async () => {
      for (;;) {
        let e: TailEvent;
        try {
          e = await tailer.next();
        } catch {
          return;
        }
        if (e.kind !== 'batch') continue;
        records += e.records;
        const parts = shipped.get(e.position.segment) ?? [];
        expect(parts.reduce((n, p) => n + p.length, 0), 'batches follow on').to.equal(e.position.offset);
        parts.push(e.bytes);
        shipped.set(e.position.segment, parts);
      }
    })();
    for (let i = 0; i < 300; i++) {
      await journal.append({ type: 'ack', txId: 0, target: '/queue/a', seq: i + 1 });
      if (i % 3 === 0) await journal.append({ type: 'message-add', txId: 0, message: storedMessage(i + 1, 700) });
    }
    await journal.close(); // cuts the head's preallocated zeros
    const files = segmentFiles(dir);
    expect(files.size).to.be.greaterThan(1);
    const expected = [...files.values()].reduce((n, b) => n + b.length, 0);
    const start = Date.now();
    while ([...shipped.values()].flat().reduce((n, b) => n + b.length, 0) < expected && Date.now() - start < 5000) {
      await new Promise((r) => setTimeout(r, 10));
    }
    await tailer.close();
    await reading;
    for (const [name, bytes] of files) {
      const first = Number(name.slice(0, 20));
      expect(Buffer.concat(shipped.get(first) ?? []).equals(bytes), name).to.equal(true);
    }
    expect(records).to.equal(300 + 100 + 1); // acks, message-adds, the clean-shutdown record
  });
});
