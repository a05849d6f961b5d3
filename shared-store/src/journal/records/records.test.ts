// Every record codec in four directions: parse a byte fixture, serialize to the same bytes,
// round-trip varied values, and feed the frame split and truncated; then malformed payloads.
import { expect } from 'chai';
import { RECORD_HEADER_SIZE, RecordType } from '../constants.js';
import { crc32c } from '../crc32c.js';
import { FrameScanner, type ScanEvent } from './frame.js';
import { RecordFormatError, decodeRecord, encodeRecord, type JournalRecord } from './index.js';

const u8 = (v: number) => [v];
const u32 = (v: number) => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
const u64 = (v: number) => [...u32(Math.floor(v / 0x1_0000_0000)), ...u32(v % 0x1_0000_0000)];
const str = (s: string) => [...u32(Buffer.byteLength(s)), ...Buffer.from(s)];

/** A frame around a hand-written payload: u32 length | u32 CRC32C(type + payload) | u8 type. */
function frame(type: number, payload: number[]): Buffer {
  const body = Buffer.from([type, ...payload]);
  return Buffer.concat([Buffer.from(u32(payload.length)), Buffer.from(u32(crc32c(body))), body]);
}

interface Fixture {
  record: JournalRecord;
  bytes: Buffer;
}

const fixtures: Record<JournalRecord['type'], Fixture> = {
  'message-add': {
    record: {
      type: 'message-add',
      txId: 7,
      message: {
        seq: 42, id: 'm1', destination: '/queue/a', priority: 5, expires: 0, timestamp: 1000,
        producerId: 'p', producerSeq: 3, targets: ['/queue/a'], headers: { k: 'v' }, body: Buffer.from('hi'),
      },
    },
    bytes: frame(RecordType.MessageAdd, [
      ...u64(7), //               txId
      ...u64(42), //              seq
      ...str('m1'), //            message-id
      ...str('/queue/a'), //      destination
      ...u8(5), //                priority
      ...u64(0), //               expires: never
      ...u64(1000), //            timestamp
      ...u8(3), //                flags: producerId and producerSeq present
      ...str('p'), //             producerId
      ...u64(3), //               producerSeq
      ...u32(1), ...str('/queue/a'), // targets
      ...u32(1), ...str('k'), ...str('v'), // headers
      ...u32(2), ...Buffer.from('hi'), // body
    ]),
  },
  ack: {
    record: { type: 'ack', txId: 0, seq: 9, target: '/queue/a' },
    bytes: frame(RecordType.Ack, [...u64(0) /* txId: none */, ...u64(9) /* seq */, ...str('/queue/a') /* target */]),
  },
  'durable-subscription-add': {
    record: { type: 'durable-subscription-add', info: { clientId: 'c', name: 'n', destination: '/topic/t', selector: 'a > 1', noLocal: true } },
    bytes: frame(RecordType.DurableSubscriptionAdd, [
      ...str('c'), //             clientId
      ...str('n'), //             name
      ...str('/topic/t'), //      destination
      ...u8(1 | 2 | 4), //        flags: selector, noLocal present, noLocal true
      ...str('a > 1'), //         selector
    ]),
  },
  'durable-subscription-remove': {
    record: { type: 'durable-subscription-remove', clientId: 'c', name: 'n' },
    bytes: frame(RecordType.DurableSubscriptionRemove, [...str('c') /* clientId */, ...str('n') /* name */]),
  },
  'transaction-begin': {
    record: { type: 'transaction-begin', txId: 0x1_0000_0001 },
    bytes: frame(RecordType.TransactionBegin, [0, 0, 0, 1, 0, 0, 0, 1 /* txId, high word then low */]),
  },
  'transaction-commit': {
    record: { type: 'transaction-commit', txId: 5, records: 3 },
    bytes: frame(RecordType.TransactionCommit, [...u64(5) /* txId */, ...u32(3) /* tagged records */]),
  },
  'transaction-rollback': {
    record: { type: 'transaction-rollback', txId: 5 },
    bytes: frame(RecordType.TransactionRollback, [...u64(5) /* txId */]),
  },
  'producer-sequence': {
    record: { type: 'producer-sequence', producerId: 'p-1', producerSeq: 77 },
    bytes: frame(RecordType.ProducerSequence, [...str('p-1') /* producerId */, ...u64(77) /* producerSeq */]),
  },
  'dispatch-mark': {
    record: { type: 'dispatch-mark', target: '/queue/a', seq: 12 },
    bytes: frame(RecordType.DispatchMark, [...u64(12) /* seq */, ...str('/queue/a') /* target */]),
  },
  'clean-shutdown': {
    record: { type: 'clean-shutdown', timestamp: 1_700_000_000_123 },
    bytes: frame(RecordType.CleanShutdown, [...u64(1_700_000_000_123) /* timestamp */]),
  },
  'sequence-watermark': {
    record: { type: 'sequence-watermark', nextSeq: 100 },
    bytes: frame(RecordType.SequenceWatermark, [...u64(100) /* nextSeq */]),
  },
  epoch: {
    record: { type: 'epoch', epoch: 7, host: 'h1', pid: 4242, timestamp: 1_700_000_000_000, seal: { segment: 65536, length: 4096 } },
    bytes: frame(RecordType.Epoch, [
      ...u64(7), //               epoch
      ...str('h1'), //            host
      ...u32(4242), //            pid
      ...u64(1_700_000_000_000), // timestamp
      ...u8(1), //                flags: seal present
      ...u64(65536), //           sealed segment's first offset
      ...u64(4096), //            its valid length
    ]),
  },
};

/** Variations per type, for round trips: empty, unicode, large and optional-field cases. */
const variations: JournalRecord[] = [
  {
    type: 'message-add',
    txId: 0,
    message: { seq: 1, id: '', destination: '/topic/ü', priority: 0, expires: Number.MAX_SAFE_INTEGER, timestamp: 0, targets: [], headers: {}, body: Buffer.alloc(0) },
  },
  {
    type: 'message-add',
    txId: 3,
    message: {
      seq: 2 ** 40, id: 'id:☃', destination: '/queue/x', priority: 9, expires: 5, timestamp: 6,
      targets: ['durable:c:a', 'durable:c:b'], headers: { 'content-type': 'application/json', 'reply-to': '/temp-queue/r', __proto__x: 'y', 'ä': 'ö' },
      body: Buffer.alloc(70_000, 0xab), producerSeq: 0,
    },
  },
  { type: 'ack', txId: 2 ** 50, seq: 0, target: '' },
  { type: 'durable-subscription-add', info: { clientId: 'c', name: 'n', destination: '/topic/#' } },
  { type: 'durable-subscription-add', info: { clientId: 'c', name: 'n', destination: '/topic/t', noLocal: false } },
  { type: 'durable-subscription-remove', clientId: 'ç', name: '' },
  { type: 'transaction-commit', txId: 0, records: 0xffffffff },
  { type: 'producer-sequence', producerId: 'x'.repeat(1000), producerSeq: Number.MAX_SAFE_INTEGER },
  { type: 'dispatch-mark', target: 'durable:c:n', seq: 1 },
  { type: 'epoch', epoch: 1, host: '', pid: 0, timestamp: 0 },
  { type: 'epoch', epoch: Number.MAX_SAFE_INTEGER, host: 'höst.example', pid: 0xffffffff, timestamp: 5, seal: { segment: 0, length: 32 } },
];

function frames(events: ScanEvent[]): JournalRecord[] {
  return events.filter((e) => e.kind === 'frame').map((e) => decodeRecord(e.typeId, e.payload));
}

function scanAll(scanner: FrameScanner): ScanEvent[] {
  const out: ScanEvent[] = [];
  for (let e = scanner.next(); e !== undefined; e = scanner.next()) {
    // Payloads are views valid until the next push: copy for the assertions that follow.
    out.push(e.kind === 'frame' ? { ...e, payload: Buffer.from(e.payload) } : e);
  }
  return out;
}

describe('journal record codecs', function () {
  for (const [name, { record, bytes }] of Object.entries(fixtures)) {
    describe(name, function () {
      it('parses the fixture bytes', function () {
        const scanner = new FrameScanner();
        scanner.push(bytes);
        const events = scanAll(scanner);
        expect(events).to.have.length(1);
        expect(frames(events)).to.deep.equal([record]);
      });

      it('serializes to exactly the fixture bytes', function () {
        expect(encodeRecord(record).toString('hex')).to.equal(bytes.toString('hex'));
      });

      it('round-trips', function () {
        const frameBytes = encodeRecord(record);
        expect(decodeRecord(frameBytes[8]!, frameBytes, RECORD_HEADER_SIZE)).to.deep.equal(record);
      });

      it('parses the same bytes fed one byte at a time', function () {
        const scanner = new FrameScanner();
        const events: ScanEvent[] = [];
        for (let i = 0; i < bytes.length; i++) {
          scanner.push(bytes.subarray(i, i + 1));
          events.push(...scanAll(scanner));
        }
        scanner.finish();
        events.push(...scanAll(scanner));
        expect(frames(events)).to.deep.equal([record]);
        expect(scanner.tail()).to.equal(undefined);
      });

      it('reports every truncation as a torn tail, never as a record', function () {
        for (let cut = 1; cut < bytes.length; cut++) {
          const scanner = new FrameScanner();
          scanner.push(bytes.subarray(0, cut));
          scanner.finish();
          expect(scanAll(scanner), `cut at ${cut}`).to.deep.equal([]);
          expect(scanner.tail(), `cut at ${cut}`).to.deep.include({ offset: 0, length: cut });
        }
      });

      it('rejects a payload one byte short or one byte long', function () {
        const payload = bytes.subarray(RECORD_HEADER_SIZE);
        expect(() => decodeRecord(bytes[8]!, payload, 0, payload.length - 1)).to.throw(RecordFormatError);
        const longer = Buffer.concat([payload, Buffer.from([0])]);
        expect(() => decodeRecord(bytes[8]!, longer)).to.throw(RecordFormatError, /trailing/);
      });
    });
  }

  it('round-trips edge values of every field', function () {
    for (const record of variations) {
      const bytes = encodeRecord(record);
      expect(decodeRecord(bytes[8]!, bytes, RECORD_HEADER_SIZE)).to.deep.equal(record);
    }
  });

  it('keeps a header named __proto__ as a header', function () {
    const headers = JSON.parse('{"__proto__":"x","a":"b"}') as Record<string, string>;
    const record: JournalRecord = {
      type: 'message-add', txId: 0,
      message: { seq: 1, id: 'i', destination: '/queue/q', priority: 4, expires: 0, timestamp: 0, targets: ['/queue/q'], headers, body: Buffer.alloc(1) },
    };
    const bytes = encodeRecord(record);
    const back = decodeRecord(bytes[8]!, bytes, RECORD_HEADER_SIZE) as typeof record;
    expect(Object.keys(back.message.headers)).to.deep.equal(['__proto__', 'a']);
    expect(Object.getPrototypeOf(back.message.headers)).to.equal(Object.prototype);
  });

  it('refuses values a JS number cannot carry exactly', function () {
    expect(() => encodeRecord({ type: 'ack', txId: 0, seq: 2 ** 53, target: 'q' })).to.throw(RangeError);
    expect(() => encodeRecord({ type: 'ack', txId: 0, seq: -1, target: 'q' })).to.throw(RangeError);
    const bytes = encodeRecord({ type: 'transaction-begin', txId: 1 });
    bytes.writeUInt32BE(0x00200000, RECORD_HEADER_SIZE); // high word: 2^53
    expect(() => decodeRecord(bytes[8]!, bytes, RECORD_HEADER_SIZE)).to.throw(RecordFormatError, /too large/);
  });

  it('rejects a priority above 9 and unknown flag bits', function () {
    const { bytes } = fixtures['message-add'];
    const payload = Buffer.from(bytes.subarray(RECORD_HEADER_SIZE));
    const priorityAt = 8 + 8 + 6 + 12;
    payload[priorityAt] = 10;
    expect(() => decodeRecord(RecordType.MessageAdd, payload)).to.throw(RecordFormatError, /priority/);
    const durable = Buffer.from(fixtures['durable-subscription-add'].bytes.subarray(RECORD_HEADER_SIZE));
    durable[5 + 5 + 12] = 0x08;
    expect(() => decodeRecord(RecordType.DurableSubscriptionAdd, durable)).to.throw(RecordFormatError, /flags/);
  });

  it('rejects an epoch record with unknown flag bits, or a seal flag without its fields', function () {
    const payload = Buffer.from(fixtures.epoch.bytes.subarray(RECORD_HEADER_SIZE));
    const flagsAt = 8 + 6 + 4 + 8;
    payload[flagsAt] = 0x03;
    expect(() => decodeRecord(RecordType.Epoch, payload)).to.throw(RecordFormatError, /flags/);
    const noSealFields = Buffer.from(payload.subarray(0, flagsAt + 1));
    noSealFields[flagsAt] = 0x01;
    expect(() => decodeRecord(RecordType.Epoch, noSealFields)).to.throw(RecordFormatError, /ends inside/);
  });

  it('rejects an unknown record type', function () {
    expect(() => decodeRecord(13, Buffer.alloc(8))).to.throw(RecordFormatError, /unknown record type 13/);
    expect(() => decodeRecord(0, Buffer.alloc(0))).to.throw(RecordFormatError);
  });
});

describe('FrameScanner', function () {
  const records = Object.values(fixtures).map((f) => f.record);
  const stream = Buffer.concat(Object.values(fixtures).map((f) => f.bytes));

  it('finds every frame whatever the chunk boundaries', function () {
    let seed = 12345;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 50; round++) {
      const scanner = new FrameScanner(100);
      const events: ScanEvent[] = [];
      for (let at = 0; at < stream.length; ) {
        const size = 1 + Math.floor(random() * 40);
        scanner.push(stream.subarray(at, at + size));
        events.push(...scanAll(scanner));
        at += size;
      }
      scanner.finish();
      events.push(...scanAll(scanner));
      expect(frames(events)).to.deep.equal(records);
      expect(events[1]!.offset).to.equal(100 + fixtures['message-add'].bytes.length);
      expect(scanner.tail()).to.equal(undefined);
    }
  });

  it('reports a corrupt frame in the middle as a skipped stretch and resumes at the next frame', function () {
    const bad = Buffer.from(stream);
    const ackAt = fixtures['message-add'].bytes.length;
    bad[ackAt + RECORD_HEADER_SIZE + 3] ^= 0x40; // inside the ack's txId: CRC mismatch
    const scanner = new FrameScanner();
    scanner.push(bad);
    scanner.finish();
    const events = scanAll(scanner);
    const skipped = events.filter((e) => e.kind === 'skipped');
    expect(skipped).to.deep.equal([
      { kind: 'skipped', offset: ackAt, length: fixtures.ack.bytes.length, reason: 'CRC mismatch' },
    ]);
    expect(frames(events)).to.deep.equal(records.filter((r) => r.type !== 'ack'));
  });

  it('treats a frame whose length runs past the end as a torn tail, but still finds good frames after it', function () {
    const first = fixtures['transaction-begin'].bytes;
    const second = fixtures['clean-shutdown'].bytes;
    const broken = Buffer.from(first);
    broken.writeUInt32BE(500, 0); // claims 500 bytes of payload that never arrive
    const scanner = new FrameScanner();
    scanner.push(Buffer.concat([broken, second]));
    scanner.finish();
    const events = scanAll(scanner);
    expect(events.map((e) => e.kind)).to.deep.equal(['skipped', 'frame']);
    expect(frames(events)).to.deep.equal([fixtures['clean-shutdown'].record]);
    expect(scanner.tail()).to.equal(undefined);
  });

  it('reports garbage after the last frame as the tail, with its reason', function () {
    const scanner = new FrameScanner();
    scanner.push(Buffer.concat([fixtures.ack.bytes, Buffer.alloc(20, 0)]));
    scanner.finish();
    expect(frames(scanAll(scanner))).to.deep.equal([fixtures.ack.record]);
    expect(scanner.tail()).to.deep.equal({ offset: fixtures.ack.bytes.length, length: 20, reason: 'unknown record type 0' });
  });

  it('refuses a length larger than the segment allows', function () {
    const scanner = new FrameScanner(0, 10);
    scanner.push(fixtures['message-add'].bytes);
    scanner.finish();
    expect(scanAll(scanner)).to.deep.equal([]);
    expect(scanner.tail()!.reason).to.match(/exceeds the segment/);
  });
});

describe('FrameScanner over preallocated segments (zeroFillEnds)', function () {
  const ack = fixtures.ack;
  const shutdown = fixtures['clean-shutdown'];

  /** Feeds `bytes` in chunks of `size` and returns the events and the tail. */
  function scanSplit(bytes: Buffer, size: number) {
    const scanner = new FrameScanner(0, undefined, true);
    const events: ScanEvent[] = [];
    for (let at = 0; at < bytes.length; at += size) {
      scanner.push(bytes.subarray(at, at + size));
      events.push(...scanAll(scanner));
    }
    scanner.finish();
    events.push(...scanAll(scanner));
    return { events, tail: scanner.tail() };
  }

  it('reads zeros after the last frame as the end of the data, however the bytes are split', function () {
    const bytes = Buffer.concat([ack.bytes, shutdown.bytes, Buffer.alloc(300)]);
    for (const size of [1, 7, 9, 64, bytes.length]) {
      const { events, tail } = scanSplit(bytes, size);
      expect(frames(events), `chunks of ${size}`).to.deep.equal([ack.record, shutdown.record]);
      expect(tail, `chunks of ${size}`).to.deep.equal({ offset: ack.bytes.length + shutdown.bytes.length, length: 300, reason: 'zero fill', zeroFill: true });
    }
  });

  it('reads a segment that is all zeros after its header as empty', function () {
    const { events, tail } = scanSplit(Buffer.alloc(RECORD_HEADER_SIZE), 4);
    expect(events).to.deep.equal([]);
    expect(tail).to.deep.equal({ offset: 0, length: RECORD_HEADER_SIZE, reason: 'zero fill', zeroFill: true });
  });

  it('reads fewer zero bytes than a header as a torn header: the journal always leaves a whole one', function () {
    const { tail } = scanSplit(Buffer.concat([ack.bytes, Buffer.alloc(RECORD_HEADER_SIZE - 1)]), 5);
    expect(tail).to.deep.equal({ offset: ack.bytes.length, length: RECORD_HEADER_SIZE - 1, reason: 'torn record header' });
  });

  it('reports a torn frame followed by zeros as torn, from the frame on', function () {
    const torn = ack.bytes.subarray(0, ack.bytes.length - 3);
    const { events, tail } = scanSplit(Buffer.concat([shutdown.bytes, torn, Buffer.alloc(100)]), 11);
    expect(frames(events)).to.deep.equal([shutdown.record]);
    expect(tail).to.include({ offset: shutdown.bytes.length, length: torn.length + 100 });
    expect(tail).to.not.have.property('zeroFill');
  });

  it('reports zeros with a good frame after them as a skipped stretch and reads the frame', function () {
    const bytes = Buffer.concat([ack.bytes, Buffer.alloc(50), shutdown.bytes, Buffer.alloc(20)]);
    for (const size of [1, 3, 13, bytes.length]) {
      const { events, tail } = scanSplit(bytes, size);
      expect(events.map((e) => e.kind), `chunks of ${size}`).to.deep.equal(['frame', 'skipped', 'frame']);
      expect(events[1], `chunks of ${size}`).to.deep.equal({ kind: 'skipped', offset: ack.bytes.length, length: 50, reason: 'zeros followed by more records' });
      expect(frames(events)).to.deep.equal([ack.record, shutdown.record]);
      expect(tail).to.include({ zeroFill: true, offset: ack.bytes.length + 50 + shutdown.bytes.length });
    }
  });

  it('finds a frame that starts with zero bytes right after a zero stretch', function () {
    // The frame's length field begins with zeros, so the stretch must not swallow them.
    expect(ack.bytes[0]).to.equal(0);
    const { events } = scanSplit(Buffer.concat([Buffer.alloc(RECORD_HEADER_SIZE + 5), ack.bytes]), 2);
    expect(events.map((e) => e.kind)).to.deep.equal(['skipped', 'frame']);
    expect(events[0]).to.include({ offset: 0, length: RECORD_HEADER_SIZE + 5 });
  });
});
