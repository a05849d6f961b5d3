// The link codec in four directions (parse, serialize, round-trip, split across writes) and every
// malformed input it must refuse.
import { expect } from 'chai';
import { crc32c } from '@tandem-mq/shared-store';
import { ReplicationError } from './errors.js';
import { batchMessage, type LinkMessage } from './protocol.js';
import { LinkDecoder, decodeMessage, encodeMessage } from './protocol-codec.js';

/** Hex digits, spaces ignored, `#` starting a comment to the end of the line. */
const hex = (s: string): Buffer => Buffer.from(s.replace(/#.*$/gm, '').replace(/\s+/g, ''), 'hex');

/** A fixture: the bytes with a comment per field, and the message they stand for. */
const ACK_BYTES = hex(`
  00000019            # length: 25 bytes follow (type + body)
  04                  # type: ack
  0000000000000007    # seq 7
  0000000000010000    # position.segment 65536
  0000000000000120    # position.offset 288
`);
const ACK: LinkMessage = { type: 'ack', seq: 7, position: { segment: 65536, offset: 288 } };

const HELLO_BYTES = hex(`
  0000001f            # length 31
  01                  # type: hello
  0002                # version 2
  0003 736563         # token "sec"
  0005 682d6f6e65     # sender "h-one"
  0009 75732d656173742d31  # region "us-east-1"
  00000003            # generation 3
  01                  # flags: a probe
`);
const HELLO: LinkMessage = { type: 'hello', version: 2, token: 'sec', sender: 'h-one', region: 'us-east-1', generation: 3, probe: true };

const PROMOTION_BYTES = hex(`
  00000032            # length 50
  0b                  # type: promoted
  00000002            # generation 2
  02                  # mode: FAILOVER
  0000018bcfe56800    # at (epoch ms)
  0009 75732d776573742d32  # promotedRegion "us-west-2"
  0000000000010000    # endOfPrevious.segment 65536
  0000000000000120    # endOfPrevious.offset 288
  0000018bcfe567ff    # rpoTime (epoch ms)
  01                  # flags: lostUnknown
`);
const PROMOTED: LinkMessage = {
  type: 'promoted',
  promotion: {
    generation: 2,
    mode: 'FAILOVER',
    at: 0x18bcfe56800,
    promotedRegion: 'us-west-2',
    endOfPrevious: { segment: 65536, offset: 288 },
    rpoTime: 0x18bcfe567ff,
    lostUnknown: true,
  },
};
const SWITCHOVER = { generation: 5, mode: 'SWITCHOVER' as const, at: 1, promotedRegion: 'r', endOfPrevious: { segment: 0, offset: 32 } };

const BODY = Buffer.from('journal bytes');
const SAMPLES: LinkMessage[] = [
  HELLO,
  { type: 'hello', version: 2, token: 'tök€n with ünïcode', sender: '', region: '', generation: 0, probe: false },
  { type: 'welcome', version: 2, position: { segment: 0, offset: 0 }, anchor: { length: 0, crc: 0 }, receiver: 'replica-1:42', region: '', generation: 0 },
  { type: 'welcome', version: 2, position: { segment: Number.MAX_SAFE_INTEGER - 5, offset: 5 }, anchor: { length: 4096, crc: 0xffffffff }, receiver: 'r', region: 'eu', generation: 0xffffffff },
  batchMessage(1, { segment: 0, offset: 0 }, BODY, 3, 1_700_000_000_000),
  batchMessage(Number.MAX_SAFE_INTEGER, { segment: 33554432, offset: 4096 }, Buffer.alloc(0), 0, 0),
  ACK,
  { type: 'resend', seq: 12, position: { segment: 131072, offset: 32 } },
  { type: 'segment-deleted', seq: 99, below: 196608 },
  { type: 'status', head: 123456789, records: 17, ageMs: 250, sentAt: 1_700_000_000_123 },
  { type: 'error', code: 'TANDEM_ERR_REPLICATION_AUTH', message: 'the token is wrong' },
  { type: 'drain' },
  { type: 'drained', position: { segment: 65536, offset: 4096 } },
  PROMOTED,
  { type: 'promoted', promotion: SWITCHOVER },
  { type: 'refusal', code: 'TANDEM_ERR_REPLICATION_NOT_REPLICA', message: 'a primary', region: 'us-west-2', generation: 2, promotion: PROMOTED.promotion },
  { type: 'refusal', code: 'TANDEM_ERR_REPLICATION_NOT_REPLICA', message: '', region: '', generation: 1, promotion: undefined },
];

function expectMalformed(fn: () => unknown, fragment: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(ReplicationError);
    expect((err as ReplicationError).code).to.equal('TANDEM_ERR_REPLICATION_PROTOCOL');
    expect((err as Error).message).to.contain(fragment);
    return;
  }
  expect.fail(`expected a malformed-message error containing "${fragment}"`);
}

describe('replication link codec', function () {
  describe('parse', function () {
    it('reads an ack from its documented bytes', function () {
      expect(decodeMessage(ACK_BYTES)).to.deep.equal(ACK);
    });

    it('reads a hello from its documented bytes', function () {
      expect(decodeMessage(HELLO_BYTES)).to.deep.equal(HELLO);
    });

    it('reads a promotion from its documented bytes', function () {
      expect(decodeMessage(PROMOTION_BYTES)).to.deep.equal(PROMOTED);
    });

    it('reads a drain, which has no body', function () {
      expect(decodeMessage(hex('00000001 09'))).to.deep.equal({ type: 'drain' });
    });

    it('reads a batch whose bytes run to the end of the frame', function () {
      const bytes = Buffer.concat([
        hex('0000002e 03'), // length 46, type batch
        hex('0000000000000002'), // seq 2
        hex('0000000000000000 0000000000000020'), // position 0+32
        hex('0000018bcfe56800'), // observedAt
        hex('00000001'), // records 1
        Buffer.alloc(4), // crc, patched below
        Buffer.from('abcde'), // the journal bytes
      ]);
      bytes.writeUInt32BE(crc32c(Buffer.from('abcde')), 41);
      const m = decodeMessage(bytes);
      expect(m).to.include({ type: 'batch', seq: 2, records: 1, observedAt: 0x18bcfe56800 });
      expect(m.type === 'batch' && m.bytes.toString()).to.equal('abcde');
      expect(m.type === 'batch' && m.crc).to.equal(crc32c(Buffer.from('abcde')));
    });
  });

  describe('serialize', function () {
    it('writes an ack as the documented bytes', function () {
      expect(encodeMessage(ACK).equals(ACK_BYTES)).to.equal(true);
    });

    it('writes a hello as the documented bytes', function () {
      expect(encodeMessage(HELLO).equals(HELLO_BYTES)).to.equal(true);
    });

    it('writes a promotion as the documented bytes, leaving out rpoTime as 0', function () {
      expect(encodeMessage(PROMOTED).equals(PROMOTION_BYTES)).to.equal(true);
      const bytes = encodeMessage({ type: 'promoted', promotion: SWITCHOVER });
      expect(bytes.readBigUInt64BE(bytes.length - 9)).to.equal(0n);
      expect(bytes[bytes.length - 1]).to.equal(0);
    });

    it('computes the batch CRC over the bytes', function () {
      const m = batchMessage(1, { segment: 0, offset: 32 }, BODY, 1, 0);
      expect(m.crc).to.equal(crc32c(BODY));
    });

    it('refuses values the format cannot hold', function () {
      expect(() => encodeMessage({ type: 'ack', seq: -1, position: { segment: 0, offset: 0 } })).to.throw(RangeError, /seq/);
      expect(() => encodeMessage({ type: 'ack', seq: 1.5, position: { segment: 0, offset: 0 } })).to.throw(RangeError, /seq/);
      const hello = { type: 'hello' as const, version: 2, token: '', sender: '', region: '', generation: 0, probe: false };
      expect(() => encodeMessage({ ...hello, version: 70000 })).to.throw(RangeError, /version/);
      expect(() => encodeMessage({ ...hello, token: 'x'.repeat(70000) })).to.throw(RangeError, /token/);
      expect(() => encodeMessage({ ...hello, generation: 2 ** 32 })).to.throw(RangeError, /generation/);
    });
  });

  describe('round-trip', function () {
    SAMPLES.forEach((m, i) => {
      it(`keeps sample ${i + 1} (${m.type}) intact`, function () {
        expect(decodeMessage(encodeMessage(m))).to.deep.equal(m);
      });
    });
  });

  describe('split across writes', function () {
    it('decodes every sample fed one byte at a time', function () {
      const stream = Buffer.concat(SAMPLES.map(encodeMessage));
      const decoder = new LinkDecoder();
      const out: LinkMessage[] = [];
      for (let i = 0; i < stream.length; i++) out.push(...decoder.push(stream.subarray(i, i + 1)));
      expect(out).to.deep.equal(SAMPLES);
      expect(decoder.pending).to.equal(0);
    });

    it('decodes the same stream cut at every possible point into two pieces', function () {
      const stream = Buffer.concat(SAMPLES.slice(0, 6).map(encodeMessage));
      for (let cut = 0; cut <= stream.length; cut++) {
        const decoder = new LinkDecoder();
        const out = [...decoder.push(stream.subarray(0, cut)), ...decoder.push(stream.subarray(cut))];
        expect(out, `cut at ${cut}`).to.deep.equal(SAMPLES.slice(0, 6));
      }
    });

    it('decodes several messages from one chunk and holds back a partial one', function () {
      const whole = Buffer.concat([encodeMessage(ACK), encodeMessage(HELLO)]);
      const decoder = new LinkDecoder();
      expect(decoder.push(whole.subarray(0, whole.length - 3))).to.deep.equal([ACK]);
      expect(decoder.pending).to.equal(HELLO_BYTES.length - 3);
      expect(decoder.push(whole.subarray(whole.length - 3))).to.deep.equal([HELLO]);
    });
  });

  describe('malformed input', function () {
    it('refuses an unknown message type', function () {
      expectMalformed(() => decodeMessage(hex('00000001 63')), 'unknown message type 99');
    });

    it('refuses a frame with no type byte', function () {
      expectMalformed(() => decodeMessage(hex('00000000 00')), 'no type byte');
      expectMalformed(() => new LinkDecoder().push(hex('00000000')), 'no type byte');
    });

    it('refuses fewer bytes than a frame header', function () {
      expectMalformed(() => decodeMessage(hex('000000')), 'shorter than a frame header');
    });

    it('refuses a whole message whose length field disagrees with its size', function () {
      expectMalformed(() => decodeMessage(Buffer.concat([ACK_BYTES, hex('00')])), 'the frame says 29 bytes but the message has 30');
    });

    it('refuses a body that ends inside a field', function () {
      const cut = Buffer.from(ACK_BYTES.subarray(0, ACK_BYTES.length - 2));
      cut.writeUInt32BE(cut.length - 4, 0);
      expectMalformed(() => decodeMessage(cut), 'ack ends inside position.offset');
    });

    it('refuses bytes after the last field', function () {
      const long = Buffer.concat([ACK_BYTES, hex('ff')]);
      long.writeUInt32BE(long.length - 4, 0);
      expectMalformed(() => decodeMessage(long), '1 bytes after the end of ack');
    });

    it('refuses a 64-bit field beyond 2^53', function () {
      const big = Buffer.from(ACK_BYTES);
      big.writeBigUInt64BE(2n ** 60n, 5);
      expectMalformed(() => decodeMessage(big), 'seq 1152921504606846976 is beyond 2^53');
    });

    it('refuses a string that is not UTF-8', function () {
      const bad = Buffer.from(HELLO_BYTES);
      bad[9] = 0xff; // inside the token
      expectMalformed(() => decodeMessage(bad), 'hello token is not UTF-8');
    });

    it('refuses a promotion mode other than SWITCHOVER or FAILOVER', function () {
      const bad = Buffer.from(PROMOTION_BYTES);
      bad[9] = 3; // the mode byte
      expectMalformed(() => decodeMessage(bad), 'promotion mode 3');
    });

    it('refuses a flag byte other than 0 or 1', function () {
      const bad = Buffer.from(HELLO_BYTES);
      bad[bad.length - 1] = 2;
      expectMalformed(() => decodeMessage(bad), 'hello has flags 2');
      const lost = Buffer.from(PROMOTION_BYTES);
      lost[lost.length - 1] = 7;
      expectMalformed(() => decodeMessage(lost), 'promotion has flags 7');
    });

    it('refuses a drain with a body, and a refusal cut before its promotion', function () {
      expectMalformed(() => decodeMessage(hex('00000002 09 00')), '1 bytes after the end of drain');
      const refusal = encodeMessage({ type: 'refusal', code: 'C', message: 'm', region: 'r', generation: 2, promotion: PROMOTED.promotion });
      const cut = Buffer.from(refusal.subarray(0, refusal.length - 10));
      cut.writeUInt32BE(cut.length - 4, 0);
      expectMalformed(() => decodeMessage(cut), 'refusal ends inside promotion.endOfPrevious.offset');
    });

    it('refuses a frame larger than the limit, before buffering it', function () {
      expectMalformed(() => new LinkDecoder(1024).push(hex('00100000')), 'exceeds the limit of 1024');
      expectMalformed(() => decodeMessage(ACK_BYTES, 16), 'exceeds the limit of 16');
    });

    it('stays failed after an error, since the framing is lost', function () {
      const decoder = new LinkDecoder();
      expectMalformed(() => decoder.push(hex('00000001 63')), 'unknown message type');
      expectMalformed(() => decoder.push(ACK_BYTES), 'already failed');
    });
  });
});
