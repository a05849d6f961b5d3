// The test clients' own STOMP codec, on its own: server frames decoded however the bytes are split
// (LF and CR-LF heads, escapes, heart-beats, bodies with and without content-length), and client
// frames encoded byte for byte.
import { expect } from 'chai';
import { encodeFrame, FrameDecoder, type WireFrame } from './frame-codec.js';

/** Two MESSAGEs, a RECEIPT and heart-beats as one byte stream; each frame described by a comment. */
const STREAM = Buffer.concat([
  // MESSAGE with escaped values (1.2: \c is ':', \n a line feed), a repeated header, a body holding a NUL
  Buffer.from('MESSAGE\ndestination:/queue/a\nmessage-id:ID\\c1\nnote:two\\nlines\nnote:second\ncontent-length:5\n\nab\0cd\0'),
  // two heart-beat EOLs
  Buffer.from('\n\n'),
  // RECEIPT with a CR-LF head
  Buffer.from('RECEIPT\r\nreceipt-id:r-1\r\n\r\n\0'),
  // MESSAGE without content-length: the body runs to the first NUL; it contains a blank line
  Buffer.from('MESSAGE\ndestination:/topic/t\n\nline\n\nmore\0'),
  // CONNECTED is never unescaped
  Buffer.from('CONNECTED\nversion:1.2\nserver:x\\cy\n\n\0'),
]);

function view(frame: WireFrame): unknown {
  return { command: frame.command, headers: frame.headers, list: frame.headerList, body: frame.body.toString('latin1') };
}

const EXPECTED = [
  {
    command: 'MESSAGE',
    headers: { destination: '/queue/a', 'message-id': 'ID:1', note: 'two\nlines', 'content-length': '5' },
    list: [['destination', '/queue/a'], ['message-id', 'ID:1'], ['note', 'two\nlines'], ['note', 'second'], ['content-length', '5']],
    body: 'ab\0cd',
  },
  { command: 'RECEIPT', headers: { 'receipt-id': 'r-1' }, list: [['receipt-id', 'r-1']], body: '' },
  { command: 'MESSAGE', headers: { destination: '/topic/t' }, list: [['destination', '/topic/t']], body: 'line\n\nmore' },
  { command: 'CONNECTED', headers: { version: '1.2', server: 'x\\cy' }, list: [['version', '1.2'], ['server', 'x\\cy']], body: '' },
];

describe('wire codec (test client)', () => {
  it('decodes a stream pushed whole', () => {
    const decoder = new FrameDecoder();
    expect(decoder.push(STREAM).map(view)).to.deep.equal(EXPECTED);
    expect(decoder.heartbeats).to.equal(2);
    expect(decoder.pending).to.equal(0);
  });

  it('decodes the same stream split at every byte, and byte by byte', () => {
    for (let cut = 1; cut < STREAM.length; cut++) {
      const decoder = new FrameDecoder();
      const frames = [...decoder.push(STREAM.subarray(0, cut)), ...decoder.push(STREAM.subarray(cut))];
      expect(frames.map(view), `split at ${cut}`).to.deep.equal(EXPECTED);
    }
    const decoder = new FrameDecoder();
    const frames: WireFrame[] = [];
    for (let i = 0; i < STREAM.length; i++) frames.push(...decoder.push(STREAM.subarray(i, i + 1)));
    expect(frames.map(view)).to.deep.equal(EXPECTED);
    expect(decoder.heartbeats).to.equal(2);
  });

  it('joins a large body that arrives in many pieces, and counts the bytes it waits on', () => {
    const body = Buffer.alloc(200_000, 'z');
    const bytes = encodeFrame('MESSAGE', { destination: '/queue/big' }, body);
    const decoder = new FrameDecoder();
    const frames: WireFrame[] = [];
    for (let at = 0; at < bytes.length; at += 1000) {
      frames.push(...decoder.push(bytes.subarray(at, at + 1000)));
      if (frames.length === 0) expect(decoder.pending).to.equal(Math.min(at + 1000, bytes.length));
    }
    expect(frames).to.have.length(1);
    expect(frames[0]!.body.equals(body)).to.equal(true);
    expect(decoder.pending).to.equal(0);
  });

  it('unescapes a header name as well as a value, and only where a backslash is', () => {
    const decoder = new FrameDecoder();
    const [frame] = decoder.push(Buffer.from('MESSAGE\nplain:v\nna\\cme:a\\\\b\nafter:x:y\n\n\0'));
    expect(frame!.headers).to.deep.equal({ plain: 'v', 'na:me': 'a\\b', after: 'x:y' });
    expect(frame!.headerList).to.deep.equal([['plain', 'v'], ['na:me', 'a\\b'], ['after', 'x:y']]);
  });

  it('reads 1.0 header values as they are, backslashes included', () => {
    const decoder = new FrameDecoder();
    decoder.version = '1.0';
    const [frame] = decoder.push(Buffer.from('MESSAGE\nnote:a\\cb\n\n\0'));
    expect(frame!.headers['note']).to.equal('a\\cb');
  });

  it('refuses a header line without a colon and a body not ended by NUL', () => {
    expect(() => new FrameDecoder().push(Buffer.from('MESSAGE\nbroken\n\n\0'))).to.throw(/without a colon/);
    expect(() => new FrameDecoder().push(Buffer.from('MESSAGE\ncontent-length:1\n\nab\0'))).to.throw(/not followed by NUL/);
  });

  it('encodes headers escaped for the version, adds content-length, and ends with NUL', () => {
    const bytes = encodeFrame('SEND', { destination: '/queue/a', note: 'x:y\nz\r' }, 'hi', { version: '1.2' });
    expect(bytes.toString('latin1')).to.equal('SEND\ndestination:/queue/a\nnote:x\\cy\\nz\\r\ncontent-length:2\n\nhi\0');
    const old = encodeFrame('SEND', { note: 'x:y' }, '', { version: '1.0' });
    expect(old.toString('latin1')).to.equal('SEND\nnote:x:y\n\n\0');
  });

  it('never escapes CONNECT, and leaves content-length out when asked', () => {
    expect(encodeFrame('CONNECT', { login: 'a:b' }).toString('latin1')).to.equal('CONNECT\nlogin:a:b\n\n\0');
    expect(encodeFrame('SEND', { destination: 'q' }, 'x', { contentLength: false }).toString('latin1')).to.equal('SEND\ndestination:q\n\nx\0');
  });

  it('adds the receipt option last, or in the place of a receipt header already there', () => {
    expect(encodeFrame('SEND', { destination: 'q' }, '', { receipt: '7' }).toString('latin1')).to.equal('SEND\ndestination:q\nreceipt:7\n\n\0');
    expect(encodeFrame('ACK', { receipt: 'old', id: '1' }, '', { receipt: '8' }).toString('latin1')).to.equal('ACK\nreceipt:8\nid:1\n\n\0');
  });
});
