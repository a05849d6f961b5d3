// The STOMP serializer against the same byte fixtures as the parser, and round trips of random
// frames through serializer and parser for each version (STOMP 1.2 "Value Encoding", "content-length").
import { expect } from 'chai';
import { BrokerError } from '../../errors.js';
import { FIXTURES, frame, wire } from './codec-fixtures.js';
import type { StompFrame, StompVersion } from './frame.js';
import { StompParser } from './parser.js';
import { HEARTBEAT_EOL, escapeHeader, serializeFrame } from './serializer.js';

/** Deterministic pseudo-random numbers (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function parseAll(chunks: Buffer[], version: StompVersion): StompFrame[] {
  const frames: StompFrame[] = [];
  const parser = new StompParser({ onFrame: (f) => frames.push(f), onError: (e) => expect.fail(e.message) });
  parser.version = version;
  for (const chunk of chunks) parser.push(chunk);
  return frames;
}

function view(f: StompFrame): { command: string; headers: Array<[string, string]>; body: string } {
  return { command: f.command, headers: f.headers, body: f.body.toString('hex') };
}

function expectInvalidHeader(run: () => unknown, message: RegExp): void {
  try {
    run();
  } catch (error) {
    expect(error).to.be.instanceOf(BrokerError);
    expect((error as BrokerError).code).to.equal('TANDEM_ERR_INVALID_HEADER');
    expect((error as BrokerError).message).to.match(message);
    return;
  }
  expect.fail('expected TANDEM_ERR_INVALID_HEADER');
}

describe('serializeFrame', () => {
  describe('writes the fixtures byte for byte', () => {
    for (const fixture of FIXTURES.filter((f) => f.canonical)) {
      it(fixture.name, () => {
        const bytes = serializeFrame(fixture.frame, fixture.version);
        expect(bytes.toString('latin1')).to.equal(fixture.bytes.toString('latin1'));
      });
    }
  });

  describe('round trips every fixture through the parser', () => {
    for (const fixture of FIXTURES) {
      it(fixture.name, () => {
        const frames = parseAll([serializeFrame(fixture.frame, fixture.version)], fixture.version);
        const expected = header(fixture.frame) === undefined && fixture.frame.body.length > 0
          ? { ...fixture.frame, headers: [...fixture.frame.headers, ['content-length', String(fixture.frame.body.length)] as [string, string]] }
          : fixture.frame;
        expect(frames.map(view)).to.deep.equal([view(expected)]);
      });
    }

    function header(f: StompFrame): string | undefined {
      return f.headers.find(([name]) => name === 'content-length')?.[1];
    }
  });

  describe('content-length (STOMP 1.2 "Header content-length")', () => {
    it('is added after the other headers when the body is not empty', () => {
      const bytes = serializeFrame(frame('SEND', [['destination', '/queue/a']], 'a\0b'), '1.2');
      expect(bytes.toString('latin1')).to.equal('SEND\ndestination:/queue/a\ncontent-length:3\n\na\0b\0');
    });

    it('counts bytes, not characters', () => {
      const bytes = serializeFrame(frame('SEND', [], 'héllo'), '1.0');
      expect(bytes.toString('utf8')).to.equal('SEND\ncontent-length:6\n\nhéllo\0');
    });

    it('is not added to an empty body', () => {
      expect(serializeFrame(frame('RECEIPT', [['receipt-id', '9']]), '1.2').toString()).to.equal('RECEIPT\nreceipt-id:9\n\n\0');
    });

    it('is kept, once, when the frame already has the right one', () => {
      const bytes = serializeFrame(frame('SEND', [['content-length', '2'], ['x', 'y']], 'hi'), '1.1');
      expect(bytes.toString()).to.equal('SEND\ncontent-length:2\nx:y\n\nhi\0');
    });

    it('refuses a frame whose content-length disagrees with its body', () => {
      expectInvalidHeader(() => serializeFrame(frame('SEND', [['content-length', '5']], 'hi'), '1.2'), /content-length "5" but its body has 2 bytes/);
      expectInvalidHeader(() => serializeFrame(frame('SEND', [['content-length', 'two']], 'hi'), '1.2'), /content-length "two"/);
    });
  });

  describe('header escaping per version (STOMP 1.2 "Value Encoding")', () => {
    const text = 'a:b\\c\nd\re';

    it('STOMP 1.2 escapes colon, backslash, LF and CR', () => {
      expect(escapeHeader(text, '1.2')).to.equal('a\\cb\\\\c\\nd\\re');
    });

    it('STOMP 1.1 escapes colon, backslash and LF, and writes CR as itself', () => {
      expect(escapeHeader(text, '1.1')).to.equal('a\\cb\\\\c\\nd\re');
    });

    it('STOMP 1.0 escapes nothing', () => {
      expect(escapeHeader('a:b\\c', '1.0')).to.equal('a:b\\c');
    });

    it('escapes names as well as values', () => {
      const bytes = serializeFrame(frame('MESSAGE', [['k:1', 'v\n']]), '1.2');
      expect(bytes.toString()).to.equal('MESSAGE\nk\\c1:v\\n\n\n\0');
    });

    it('leaves CONNECT, CONNECTED and STOMP frames unescaped', () => {
      for (const command of ['CONNECT', 'CONNECTED', 'STOMP']) {
        const bytes = serializeFrame(frame(command, [['session', 'ID:a\\b']]), '1.2');
        expect(bytes.toString()).to.equal(`${command}\nsession:ID:a\\b\n\n\0`);
      }
    });

    it('refuses a line break where nothing is escaped: STOMP 1.0, or CONNECTED', () => {
      expectInvalidHeader(() => serializeFrame(frame('MESSAGE', [['x', 'a\nb']]), '1.0'), /header "x" cannot be written in STOMP 1.0.*value holds a line break/);
      expectInvalidHeader(() => serializeFrame(frame('MESSAGE', [['x', 'a\rb']]), '1.0'), /value holds a line break/);
      expectInvalidHeader(() => serializeFrame(frame('MESSAGE', [['a:b', 'c']]), '1.0'), /name holds a line break or a colon/);
      expectInvalidHeader(() => serializeFrame(frame('CONNECTED', [['x', 'a\nb']]), '1.2'), /in a CONNECTED frame/);
    });

    it('refuses an empty header name', () => {
      expectInvalidHeader(() => serializeFrame(frame('SEND', [['', 'v']]), '1.2'), /empty name/);
    });
  });

  it('refuses a command that is not upper-case letters', () => {
    expect(() => serializeFrame(frame('send', []), '1.2')).to.throw(TypeError, /"send"/);
    expect(() => serializeFrame(frame('SEND\nX', []), '1.2')).to.throw(TypeError);
  });

  it('HEARTBEAT_EOL is a single line feed, which the parser reports as a heart-beat', () => {
    expect([...HEARTBEAT_EOL]).to.deep.equal([0x0a]);
    let beats = 0;
    const parser = new StompParser({ onFrame: () => expect.fail('no frame'), onError: (e) => expect.fail(e.message), onHeartbeat: () => beats++ });
    parser.push(HEARTBEAT_EOL);
    parser.push(HEARTBEAT_EOL);
    expect(beats).to.equal(2);
  });

  describe('round trips random frames, serialized, concatenated and split at random', () => {
    // What each version can carry in a header: 1.0 no line breaks (and no colon in a name); 1.1
    // everything but CR, which it cannot escape; 1.2 everything.
    const alphabet: Record<StompVersion, string> = {
      '1.0': 'abcXYZ019 -_/.\\é✓:',
      '1.1': 'abcXYZ019 -_/.\\é✓:\n',
      '1.2': 'abcXYZ019 -_/.\\é✓:\n\r',
    };
    const commands = ['SEND', 'MESSAGE', 'ERROR', 'SUBSCRIBE', 'ACK', 'RECEIPT', 'BEGIN'];

    for (const version of ['1.0', '1.1', '1.2'] as const) {
      it(`STOMP ${version}`, () => {
        const next = random(Number(version.replace('.', '')) * 7919);
        const pick = (chars: string, max: number, min = 0) =>
          Array.from({ length: min + Math.floor(next() * (max - min + 1)) }, () => [...chars][Math.floor(next() * [...chars].length)]).join('');
        const nameChars = version === '1.0' ? alphabet[version].replace(':', '') : alphabet[version];
        const frames: StompFrame[] = [];
        for (let i = 0; i < 300; i++) {
          const headers: Array<[string, string]> = Array.from({ length: Math.floor(next() * 6) }, () => [pick(nameChars, 12, 1), pick(alphabet[version], 30)]);
          const body = Buffer.from(Array.from({ length: next() < 0.3 ? 0 : Math.floor(next() * 300) }, () => Math.floor(next() * 256)));
          frames.push(frame(commands[i % commands.length]!, headers, body));
        }
        const stream = Buffer.concat(frames.flatMap((f) => [serializeFrame(f, version), ...(next() < 0.5 ? [HEARTBEAT_EOL] : [])]));
        const chunks: Buffer[] = [];
        for (let at = 0; at < stream.length; ) {
          const size = 1 + Math.floor(next() * 200);
          chunks.push(stream.subarray(at, at + size));
          at += size;
        }
        const expected = frames.map((f) => (f.body.length > 0 ? { ...f, headers: [...f.headers, ['content-length', String(f.body.length)] as [string, string]] } : f));
        expect(parseAll(chunks, version).map(view)).to.deep.equal(expected.map(view));
      });
    }
  });

  it('writes a frame the wire() fixture helper agrees with', () => {
    const bytes = serializeFrame(frame('ERROR', [['message', 'bad: thing']], 'detail'), '1.2');
    expect(bytes.equals(wire('ERROR\n', 'message:bad\\c thing\n', 'content-length:6\n', '\n', 'detail', [0]))).to.equal(true);
  });
});
