// The STOMP parser against byte fixtures: whole, split at every position, byte by byte, and every
// malformed input with its code and message (STOMP 1.2 "STOMP Frames", "Value Encoding", "Size Limits").
import { expect } from 'chai';
import { BrokerError } from '../../errors.js';
import { FIXTURES, MALFORMED, frame, wire } from './codec-fixtures.js';
import { header, type StompFrame, type StompLimits, type StompVersion } from './frame.js';
import { MAX_COMMAND_LENGTH, StompParser, type PartialFrame } from './parser.js';

interface Parsed {
  frames: StompFrame[];
  errors: BrokerError[];
  heartbeats: number;
}

function newParser(version: StompVersion, limits?: Partial<StompLimits>): { parser: StompParser; out: Parsed } {
  const out: Parsed = { frames: [], errors: [], heartbeats: 0 };
  const parser = new StompParser({
    ...(limits ? { limits } : {}),
    onFrame: (f) => out.frames.push(f),
    onError: (e) => out.errors.push(e),
    onHeartbeat: () => out.heartbeats++,
  });
  parser.version = version;
  return { parser, out };
}

function parse(chunks: Buffer[], version: StompVersion, limits?: Partial<StompLimits>): Parsed {
  const { parser, out } = newParser(version, limits);
  for (const chunk of chunks) parser.push(chunk);
  return out;
}

/** The same bytes cut every way worth trying: whole, in two at every position, byte by byte. */
function splits(bytes: Buffer): Array<{ how: string; chunks: Buffer[] }> {
  const ways = [{ how: 'whole', chunks: [bytes] }];
  for (let at = 1; at < bytes.length; at++) ways.push({ how: `split at ${at}`, chunks: [bytes.subarray(0, at), bytes.subarray(at)] });
  ways.push({ how: 'byte by byte', chunks: [...bytes].map((byte) => Buffer.from([byte])) });
  return ways;
}

/** A plain, diffable view of a frame. */
function view(f: StompFrame): { command: string; headers: Array<[string, string]>; body: string } {
  return { command: f.command, headers: f.headers, body: f.body.toString('hex') };
}

describe('StompParser', () => {
  describe('well-formed frames (STOMP 1.2 "STOMP Frames")', () => {
    for (const fixture of FIXTURES) {
      it(`parses ${fixture.name}, whole and split at every position`, () => {
        for (const { how, chunks } of splits(fixture.bytes)) {
          const out = parse(chunks, fixture.version);
          expect(out.errors, how).to.deep.equal([]);
          expect(out.frames.map(view), how).to.deep.equal([view(fixture.frame)]);
          expect(out.heartbeats, how).to.equal(0);
        }
      });
    }

    for (const version of ['1.0', '1.1', '1.2'] as const) {
      it(`parses every ${version} fixture from one chunk, with heart-beats before, between and after`, () => {
        const fixtures = FIXTURES.filter((f) => f.version === version);
        const eols = ['\n', '\r\n', '\n\n'];
        const bytes = wire('\n\r\n', ...fixtures.flatMap((f, i) => [f.bytes, eols[i % eols.length]!]));
        const expectedBeats = 2 + fixtures.reduce((sum, _f, i) => sum + [1, 1, 2][i % 3]!, 0);
        for (const chunks of [[bytes], [...bytes].map((byte) => Buffer.from([byte]))]) {
          const out = parse(chunks, version);
          expect(out.errors).to.deep.equal([]);
          expect(out.frames.map(view)).to.deep.equal(fixtures.map((f) => view(f.frame)));
          expect(out.heartbeats).to.equal(expectedBeats);
        }
      });
    }

    it('keeps repeated headers in order, and header() reads the first', () => {
      const out = parse([wire('MESSAGE\n', 'foo:World\n', 'foo:Hello\n', '\n', [0])], '1.2');
      expect(out.frames[0]!.headers).to.deep.equal([
        ['foo', 'World'],
        ['foo', 'Hello'],
      ]);
      expect(header(out.frames[0]!, 'foo')).to.equal('World');
    });

    it('parses many small frames fed in chunks of every size from 1 to 64 bytes', () => {
      const one = wire('SEND\n', 'destination:/queue/a\n', 'content-length:5\n', '\n', 'a\0b\0c', [0], '\n');
      const stream = Buffer.concat(Array.from({ length: 50 }, () => one));
      for (let size = 1; size <= 64; size++) {
        const chunks: Buffer[] = [];
        for (let at = 0; at < stream.length; at += size) chunks.push(stream.subarray(at, at + size));
        const out = parse(chunks, '1.2');
        expect(out.errors, `size ${size}`).to.deep.equal([]);
        expect(out.frames, `size ${size}`).to.have.length(50);
        expect(out.heartbeats, `size ${size}`).to.equal(50);
        for (const f of out.frames) expect(f.body.equals(Buffer.from('a\0b\0c'))).to.equal(true);
      }
    });
  });

  describe('heart-beats (STOMP 1.2 "Heart-beating": an EOL between frames)', () => {
    it('reports each LF and each CR LF, before any frame and after the NUL', () => {
      const bytes = wire('\n', '\r\n', '\n', 'DISCONNECT\n', '\n', [0], '\r\n', '\n');
      for (const { how, chunks } of splits(bytes)) {
        const out = parse(chunks, '1.2');
        expect(out.heartbeats, how).to.equal(5);
        expect(out.frames.map((f) => f.command), how).to.deep.equal(['DISCONNECT']);
        expect(out.errors, how).to.deep.equal([]);
      }
    });

    it('works without an onHeartbeat callback', () => {
      const frames: StompFrame[] = [];
      const parser = new StompParser({ onFrame: (f) => frames.push(f), onError: (e) => expect.fail(e.message) });
      parser.push(wire('\n\r\n', 'COMMIT\n', '\n', [0], '\n'));
      expect(frames.map((f) => f.command)).to.deep.equal(['COMMIT']);
    });
  });

  describe('bodies (STOMP 1.2 "Header content-length")', () => {
    it('reads a body of every byte value, NULs included, when content-length is given', () => {
      const body = Buffer.from(Array.from({ length: 512 }, (_v, i) => (i * 7) % 256));
      const bytes = wire('SEND\n', `content-length:${body.length}\n`, '\n', body, [0]);
      for (const chunks of [[bytes], [bytes.subarray(0, 30), bytes.subarray(30, 300), bytes.subarray(300)]]) {
        const out = parse(chunks, '1.2');
        expect(out.frames).to.have.length(1);
        expect(out.frames[0]!.body.equals(body)).to.equal(true);
      }
    });

    it('reads a 1 MiB body arriving in 64 KiB chunks, with and without content-length', () => {
      const body = Buffer.alloc(1024 * 1024, 'x');
      for (const lengthHeader of [[`content-length:${body.length}\n`], []]) {
        const bytes = wire('SEND\n', ...lengthHeader, '\n', body, [0], '\n');
        const chunks: Buffer[] = [];
        for (let at = 0; at < bytes.length; at += 65536) chunks.push(bytes.subarray(at, at + 65536));
        const out = parse(chunks, '1.2');
        expect(out.errors).to.deep.equal([]);
        expect(out.frames).to.have.length(1);
        expect(out.frames[0]!.body.equals(body)).to.equal(true);
        expect(out.heartbeats).to.equal(1);
      }
    });

    it('keeps a body in order when it trickles in, in chunks of mixed sizes', () => {
      const body = Buffer.from(Array.from({ length: 200_000 }, (_v, i) => (i * 31 + (i >> 8)) % 256));
      const sizes = [1, 5000, 3, 4095, 4096, 1, 20000, 7];
      for (const lengthHeader of [[`content-length:${body.length}\n`], []]) {
        const payload = lengthHeader.length > 0 ? body : Buffer.from(body.map((byte) => byte || 1));
        const bytes = wire('SEND\n', ...lengthHeader, '\n', payload, [0]);
        const chunks: Buffer[] = [];
        for (let at = 0, i = 0; at < bytes.length; i++) {
          chunks.push(bytes.subarray(at, at + sizes[i % sizes.length]!));
          at += sizes[i % sizes.length]!;
        }
        const out = parse(chunks, '1.2');
        expect(out.errors).to.deep.equal([]);
        expect(out.frames).to.have.length(1);
        expect(out.frames[0]!.body.equals(payload)).to.equal(true);
      }
    });

    it('hands out a body that does not share memory with the pushed chunk', () => {
      const bytes = wire('SEND\n', 'content-length:3\n', '\n', 'abc', [0]);
      const out = parse([bytes], '1.2');
      bytes.fill(0x7a);
      expect(out.frames[0]!.body.toString()).to.equal('abc');
    });
  });

  describe('header escaping per version (STOMP 1.2 "Value Encoding")', () => {
    const bytes = wire('SEND\n', 'x\\cy:a\\nb\\\\c\n', '\n', [0]);

    it('takes STOMP 1.0 headers literally', () => {
      expect(parse([bytes], '1.0').frames[0]!.headers).to.deep.equal([['x\\cy', 'a\\nb\\\\c']]);
    });

    it('decodes \\c \\n \\\\ in STOMP 1.1 and 1.2, in names as well as values', () => {
      for (const version of ['1.1', '1.2'] as const) {
        expect(parse([bytes], version).frames[0]!.headers, version).to.deep.equal([['x:y', 'a\nb\\c']]);
      }
    });

    it('decodes \\r in STOMP 1.2 only; STOMP 1.1 refuses it', () => {
      const withCR = wire('SEND\n', 'x:a\\rb\n', '\n', [0]);
      expect(parse([withCR], '1.2').frames[0]!.headers).to.deep.equal([['x', 'a\rb']]);
      const out = parse([withCR], '1.1');
      expect(out.frames).to.deep.equal([]);
      expect(out.errors.map((e) => e.code)).to.deep.equal(['TANDEM_ERR_MALFORMED_FRAME']);
    });

    it('never unescapes CONNECTED, whatever the version', () => {
      const connected = wire('CONNECTED\n', 'server:a\\b\n', '\n', [0]);
      expect(parse([connected], '1.2').frames[0]!.headers).to.deep.equal([['server', 'a\\b']]);
    });

    it('applies a version set from onFrame to the next frame in the same chunk', () => {
      const frames: StompFrame[] = [];
      const parser = new StompParser({
        onFrame: (f) => {
          frames.push(f);
          if (f.command === 'CONNECT') parser.version = '1.2';
        },
        onError: (e) => expect.fail(e.message),
      });
      parser.push(wire('SEND\n', 'x:a\\nb\n', '\n', [0], 'CONNECT\n', 'x:a\\nb\n', '\n', [0], 'SEND\n', 'x:a\\nb\n', '\n', [0]));
      expect(frames.map((f) => header(f, 'x'))).to.deep.equal(['a\\nb', 'a\\nb', 'a\nb']);
    });

    it('keeps everything after the first colon as the value, colons included', () => {
      const out = parse([wire('ACK\n', 'id:ID:host-1:2:3\n', '\n', [0])], '1.2');
      expect(out.frames[0]!.headers).to.deep.equal([['id', 'ID:host-1:2:3']]);
    });

    it('keeps spaces around names and values (STOMP 1.2: never trim)', () => {
      const out = parse([wire('SEND\n', ' a : b \n', '\n', [0])], '1.2');
      expect(out.frames[0]!.headers).to.deep.equal([[' a ', ' b ']]);
    });
  });

  it('passes a well-formed lower-case command on, for the session to reject as unknown', () => {
    const result = parse([wire('send\n', 'destination:/queue/a\n', '\n', [0])], '1.2');
    expect(result.errors).to.deep.equal([]);
    expect(result.frames.map((f) => f.command)).to.deep.equal(['send']);
  });

  describe('malformed input', () => {
    for (const fixture of MALFORMED) {
      it(`refuses ${fixture.name} with ${fixture.code}, however the bytes are split`, () => {
        for (const { how, chunks } of splits(fixture.bytes)) {
          const out = parse(chunks, fixture.version, fixture.limits);
          expect(out.frames, how).to.have.length(fixture.framesBefore);
          expect(out.errors, how).to.have.length(1);
          const error = out.errors[0]!;
          expect(error, how).to.be.instanceOf(BrokerError);
          expect(error.code, how).to.equal(fixture.code);
          expect(error.message, how).to.equal(fixture.message);
        }
      });
    }

    it('ignores all input after the first error', () => {
      const { parser, out } = newParser('1.2');
      parser.push(wire('SEND\n', 'nocolon\n', '\n', [0], 'SEND\n', '\n', [0]));
      expect(parser.failed).to.equal(true);
      parser.push(wire('\n', 'SEND\n', '\n', [0], 'bad bad\n'));
      expect(out.errors).to.have.length(1);
      expect(out.frames).to.deep.equal([]);
      expect(out.heartbeats).to.equal(0);
    });

    it('hands onError what was read of the bad frame, so its receipt can be echoed (STOMP 1.2 "ERROR")', () => {
      const cases: Array<{ bytes: Buffer; partial: PartialFrame | undefined }> = [
        {
          bytes: wire('SEND\n', 'destination:/queue/a\n', 'receipt:77\n', 'nocolon\n', '\n', [0]),
          partial: { command: 'SEND', headers: [['destination', '/queue/a'], ['receipt', '77']] },
        },
        {
          bytes: wire('SEND\n', 'receipt:77\n', 'content-length:ten\n', '\n', [0]),
          partial: { command: 'SEND', headers: [['receipt', '77']] },
        },
        {
          bytes: wire('SEND\n', 'receipt:77\n', 'content-length:2\n', '\n', 'abc', [0]),
          partial: { command: 'SEND', headers: [['receipt', '77'], ['content-length', '2']] },
        },
        { bytes: wire('COMMIT\n', '\n', [0], 'SEND2\n', 'receipt:77\n', '\n', [0]), partial: undefined },
        { bytes: wire('\rX'), partial: undefined },
      ];
      for (const { bytes, partial } of cases) {
        for (const { how, chunks } of splits(bytes)) {
          const seen: Array<PartialFrame | undefined> = [];
          const parser = new StompParser({ onFrame: () => {}, onError: (_e, p) => seen.push(p) });
          parser.version = '1.2';
          for (const chunk of chunks) parser.push(chunk);
          expect(seen, how).to.deep.equal([partial]);
        }
      }
    });

    it('gives each error the HTTP status of its code', () => {
      const tooLarge = parse([wire('SEND\n', 'content-length:99\n')], '1.2', { maxFrameSize: 50 }).errors[0]!;
      expect(tooLarge.httpStatus).to.equal(413);
      const malformed = parse([wire('SEND2\n')], '1.2').errors[0]!;
      expect(malformed.httpStatus).to.equal(400);
    });
  });

  describe('limits, at exactly the limit and one past (STOMP 1.2 "Size Limits")', () => {
    /** A SEND of exactly `total` bytes from its first letter through the NUL. */
    function sendOfSize(total: number, withLength: boolean): Buffer {
      if (!withLength) return wire('SEND\n', '\n', 'b'.repeat(total - 7), [0]);
      for (let length = 0; length < total; length++) {
        const head = `SEND\ncontent-length:${length}\n\n`;
        if (head.length + length + 1 === total) return wire(head, 'b'.repeat(length), [0]);
      }
      throw new Error(`no content-length frame of ${total} bytes`);
    }

    for (const withLength of [true, false]) {
      it(`maxFrameSize ${withLength ? 'with' : 'without'} content-length`, () => {
        for (const max of [100, 1000]) {
          const fits = sendOfSize(max, withLength);
          expect(fits.length).to.equal(max);
          for (const { how, chunks } of splits(fits)) {
            const out = parse(chunks, '1.2', { maxFrameSize: max });
            expect(out.errors, how).to.deep.equal([]);
            expect(out.frames, how).to.have.length(1);
          }
          for (const { how, chunks } of splits(sendOfSize(max + 1, withLength))) {
            const out = parse(chunks, '1.2', { maxFrameSize: max });
            expect(out.frames, how).to.have.length(0);
            expect(out.errors.map((e) => e.code), how).to.deep.equal(['TANDEM_ERR_FRAME_TOO_LARGE']);
          }
        }
      });
    }

    it('maxFrameSize: a content-length announcing too much is refused before any body arrives', () => {
      const { parser, out } = newParser('1.2', { maxFrameSize: 1024 });
      parser.push(wire('SEND\n', 'destination:/queue/a\n', 'content-length:2000000000\n', '\n'));
      expect(out.errors.map((e) => e.message)).to.deep.equal([
        'frame 1 (SEND): content-length 2000000000 makes the frame larger than 1024 bytes (maxFrameSize)',
      ]);
    });

    it('maxFrameSize: a body with no NUL is refused once it passes the limit, not at the NUL', () => {
      const { parser, out } = newParser('1.2', { maxFrameSize: 1024 });
      parser.push(wire('SEND\n', '\n'));
      parser.push(Buffer.alloc(1017, 'a')); // 6 + 1017 + the NUL still to come = 1024
      expect(out.errors).to.deep.equal([]);
      parser.push(Buffer.from('a'));
      expect(out.errors.map((e) => e.code)).to.deep.equal(['TANDEM_ERR_FRAME_TOO_LARGE']);
    });

    it('maxHeaders', () => {
      const headers = (n: number) => Array.from({ length: n }, (_v, i) => `h${i}:${i}\n`);
      const fits = parse([wire('SEND\n', ...headers(5), '\n', [0])], '1.2', { maxHeaders: 5 });
      expect(fits.errors).to.deep.equal([]);
      expect(fits.frames[0]!.headers).to.have.length(5);
      const past = parse([wire('SEND\n', ...headers(6), '\n', [0])], '1.2', { maxHeaders: 5 });
      expect(past.frames).to.deep.equal([]);
      expect(past.errors.map((e) => e.message)).to.deep.equal(['frame 1 (SEND) has more than 5 headers (maxHeaders)']);
    });

    it('maxHeaderLength counts name, colon and value, not the EOL', () => {
      const line = (length: number) => 'k:' + 'v'.repeat(length - 2);
      for (const eol of ['\n', '\r\n']) {
        for (const { how, chunks } of splits(wire('SEND\n', line(16), eol, '\n', [0]))) {
          const fits = parse(chunks, '1.2', { maxHeaderLength: 16 });
          expect(fits.errors, how).to.deep.equal([]);
          expect(fits.frames[0]!.headers, how).to.deep.equal([['k', 'v'.repeat(14)]]);
        }
        for (const { how, chunks } of splits(wire('SEND\n', line(17), eol, '\n', [0]))) {
          const past = parse(chunks, '1.2', { maxHeaderLength: 16 });
          expect(past.frames, how).to.deep.equal([]);
          expect(past.errors.map((e) => e.message), how).to.deep.equal([
            'frame 1 (SEND): header line 1 is longer than 16 bytes (maxHeaderLength)',
          ]);
        }
      }
    });

    it(`a command of ${MAX_COMMAND_LENGTH} letters is passed on; one more is refused`, () => {
      const fits = parse([wire('X'.repeat(MAX_COMMAND_LENGTH) + '\r\n', '\n', [0])], '1.2');
      expect(fits.frames.map((f) => f.command)).to.deep.equal(['X'.repeat(MAX_COMMAND_LENGTH)]);
      const past = parse([wire('X'.repeat(MAX_COMMAND_LENGTH + 1) + '\n', '\n', [0])], '1.2');
      expect(past.frames).to.deep.equal([]);
      expect(past.errors.map((e) => e.code)).to.deep.equal(['TANDEM_ERR_MALFORMED_FRAME']);
    });

    it('refuses limits that are not positive integers', () => {
      const make = (limits: Partial<StompLimits>) => () => new StompParser({ limits, onFrame: () => {}, onError: () => {} });
      expect(make({ maxFrameSize: 0 })).to.throw(RangeError, /maxFrameSize/);
      expect(make({ maxHeaders: 1.5 })).to.throw(RangeError, /maxHeaders/);
      expect(make({ maxHeaderLength: Number.NaN })).to.throw(RangeError, /maxHeaderLength/);
    });
  });

  describe('callbacks', () => {
    it('stops the stream when onFrame throws, and lets the exception through', () => {
      let calls = 0;
      const errors: BrokerError[] = [];
      const parser = new StompParser({
        onFrame: () => {
          calls++;
          throw new Error('handler broke');
        },
        onError: (e) => errors.push(e),
      });
      const two = wire('COMMIT\n', '\n', [0], 'COMMIT\n', '\n', [0]);
      expect(() => parser.push(two)).to.throw('handler broke');
      expect(parser.failed).to.equal(true);
      parser.push(two);
      expect(calls).to.equal(1);
      expect(errors).to.deep.equal([]);
    });

    it('gives each frame its own headers array and body', () => {
      const out = parse([wire('SEND\n', 'a:1\n', '\n', 'x', [0], 'SEND\n', 'b:2\n', '\n', 'y', [0])], '1.2');
      expect(out.frames.map(view)).to.deep.equal([view(frame('SEND', [['a', '1']], 'x')), view(frame('SEND', [['b', '2']], 'y'))]);
      expect(out.frames[0]!.headers).to.not.equal(out.frames[1]!.headers);
    });
  });
});
