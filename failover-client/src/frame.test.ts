// The client's STOMP 1.2 codec in four directions: parse, serialize, round-trip, and the same bytes
// split across many chunks; plus every malformed input.
import { expect } from 'chai';
import { FailoverClientError } from './errors.js';
import { encodeFrame, header, type Frame } from './frame.js';
import { FrameParser } from './frame-parser.js';

const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');

/** A MESSAGE as the broker sends it. */
const MESSAGE_BYTES = bytes(
  'MESSAGE\n' + //                       command
    'destination:/queue/a\n' + //      where it was sent
    'message-id:ID\\cb-1\n' + //       ':' escaped as \c
    'subscription:sub-1\n' +
    'ack:7\n' + //                     STOMP 1.2 ack id
    'note:line1\\nline2\\\\\n' + //    LF and backslash escaped
    'content-length:5\n' + //          body may hold NUL
    '\n' + //                          end of headers
    'a\u0000b\nc' + //                 5 body bytes
    '\u0000', //                       frame end
);

function parseAll(chunks: Buffer[]): Frame[] {
  const parser = new FrameParser();
  return chunks.flatMap((chunk) => parser.push(chunk));
}

function refuses(input: string | Buffer, fragment: string, maxFrameSize?: number): void {
  const parser = maxFrameSize === undefined ? new FrameParser() : new FrameParser({ maxFrameSize });
  let caught: unknown;
  try {
    parser.push(typeof input === 'string' ? bytes(input) : input);
  } catch (error) {
    caught = error;
  }
  expect(caught).to.be.instanceOf(FailoverClientError);
  expect((caught as FailoverClientError).code).to.equal('TANDEM_ERR_PROTOCOL');
  expect((caught as FailoverClientError).message).to.include(fragment);
}

describe('STOMP frame codec', function () {
  describe('parse', function () {
    it('reads a MESSAGE with escaped headers and a content-length body holding NUL', function () {
      const [frame] = parseAll([MESSAGE_BYTES]);
      expect(frame!.command).to.equal('MESSAGE');
      expect(header(frame!, 'message-id')).to.equal('ID:b-1');
      expect(header(frame!, 'note')).to.equal('line1\nline2\\');
      expect(frame!.body.equals(Buffer.from('a\u0000b\nc'))).to.equal(true);
    });

    it('reads a body up to NUL without content-length, CRLF line ends, and counts heart-beat EOLs', function () {
      const parser = new FrameParser();
      const frames = parser.push(bytes('\n\r\nRECEIPT\r\nreceipt-id:r-1\r\n\r\n\u0000\nERROR\nmessage:bad\n\nwhy\u0000'));
      expect(frames.map((f) => f.command)).to.deep.equal(['RECEIPT', 'ERROR']);
      expect(header(frames[0]!, 'receipt-id')).to.equal('r-1');
      expect(frames[1]!.body.toString()).to.equal('why');
      expect(parser.heartbeats).to.equal(3);
    });

    it('keeps repeated headers in order; the first one counts', function () {
      const [frame] = parseAll([bytes('MESSAGE\nfoo:1\nfoo:2\n\n\u0000')]);
      expect(frame!.headers).to.deep.equal([['foo', '1'], ['foo', '2']]);
      expect(header(frame!, 'foo')).to.equal('1');
    });

    it('does not unescape CONNECTED headers (STOMP 1.2 "Value Encoding")', function () {
      const [frame] = parseAll([bytes('CONNECTED\nserver:a\\cb\n\n\u0000')]);
      expect(header(frame!, 'server')).to.equal('a\\cb');
    });
  });

  describe('serialize', function () {
    it('escapes headers, adds content-length and ends with NUL', function () {
      const out = encodeFrame({ command: 'SEND', headers: [['destination', '/queue/a'], ['k:1', 'v\r\n\\']], body: Buffer.from('hi') });
      expect(out.toString('utf8')).to.equal('SEND\ndestination:/queue/a\nk\\c1:v\\r\\n\\\\\ncontent-length:2\n\nhi\u0000');
    });

    it('leaves an empty body without content-length, and CONNECT headers unescaped', function () {
      const out = encodeFrame({ command: 'CONNECT', headers: [['accept-version', '1.2'], ['passcode', 'a:b']], body: Buffer.alloc(0) });
      expect(out.toString('utf8')).to.equal('CONNECT\naccept-version:1.2\npasscode:a:b\n\n\u0000');
    });

    it('refuses a line break in a CONNECT header, which cannot be escaped', function () {
      expect(() => encodeFrame({ command: 'CONNECT', headers: [['login', 'a\nb']], body: Buffer.alloc(0) })).to.throw(FailoverClientError, 'cannot hold a line break');
    });
  });

  describe('round trip', function () {
    const frames: Frame[] = [
      { command: 'SEND', headers: [['destination', '/queue/x'], ['weird', 'a:b\\c\nd\re']], body: Buffer.from([0, 1, 2, 255]) },
      { command: 'MESSAGE', headers: [['subscription', 's'], ['ünïcode', 'välue']], body: Buffer.from('tëxt') },
      { command: 'RECEIPT', headers: [['receipt-id', 'r-9']], body: Buffer.alloc(0) },
    ];
    for (const frame of frames) {
      it(`${frame.command} parses back to itself`, function () {
        const [parsed] = parseAll([encodeFrame(frame)]);
        expect(parsed!.command).to.equal(frame.command);
        expect(parsed!.headers.filter(([n]) => n !== 'content-length')).to.deep.equal(frame.headers);
        expect(parsed!.body.equals(frame.body)).to.equal(true);
      });
    }
  });

  describe('split across writes', function () {
    it('gives the same frames for every split of two frames, down to one byte per chunk', function () {
      const stream = Buffer.concat([MESSAGE_BYTES, bytes('\n'), encodeFrame({ command: 'RECEIPT', headers: [['receipt-id', 'r-1']], body: Buffer.alloc(0) })]);
      const whole = parseAll([stream]);
      for (let size = 1; size <= stream.length; size++) {
        const chunks: Buffer[] = [];
        for (let i = 0; i < stream.length; i += size) chunks.push(stream.subarray(i, i + size));
        const split = parseAll(chunks);
        expect(split, `chunks of ${size}`).to.deep.equal(whole);
      }
      expect(whole.map((f) => f.command)).to.deep.equal(['MESSAGE', 'RECEIPT']);
    });

    it('collects a large body arriving in many chunks', function () {
      const body = Buffer.alloc(300_000, 7);
      const encoded = encodeFrame({ command: 'MESSAGE', headers: [['subscription', 's']], body });
      const chunks: Buffer[] = [];
      for (let i = 0; i < encoded.length; i += 1000) chunks.push(encoded.subarray(i, i + 1000));
      const [frame] = parseAll(chunks);
      expect(frame!.body.equals(body)).to.equal(true);
    });
  });

  describe('malformed input', function () {
    it('refuses a command that is not upper-case letters', () => refuses('message\n\n\u0000', "'message' is not a STOMP command"));
    it('refuses a header line without a colon', () => refuses('MESSAGE\nnocolon\n\n\u0000', "header line 'nocolon' of MESSAGE has no ':'"));
    it('refuses an undefined escape', () => refuses('MESSAGE\na:\\t\n\n\u0000', "undefined escape '\\t'"));
    it('refuses a bad content-length', () => refuses('MESSAGE\ncontent-length:x\n\n\u0000', "content-length 'x'"));
    it('refuses a body not ended by NUL at content-length', () => refuses('MESSAGE\ncontent-length:1\n\nab\u0000', 'not followed by NUL'));
    it('refuses a lone CR between frames', () => refuses('\rX', 'a CR not followed by LF'));
    it('refuses a content-length above the limit', () => refuses('MESSAGE\ncontent-length:100\n\n', 'announces 100 bytes', 50));
    it('refuses a frame growing past the limit without content-length', () => refuses(`MESSAGE\n\n${'x'.repeat(100)}`, 'exceeds 50 bytes', 50));
  });
});
