// Frames on the wire: header escaping per version, content-length and binary bodies, receipts, and
// an ERROR frame (then a closed connection) for every kind of bad frame.
import { expect } from 'chai';
import { useBroker } from './harness/suite.js';
import { StompitSession } from './harness/stompit-client.js';
import { RawSocket } from './harness/raw-socket.js';
import { uniqueName } from './harness/names.js';
import { encodeFrame } from './wire/frame-codec.js';

describe('frames: header escaping (STOMP 1.2 "Value Encoding")', function () {
  const env = useBroker();

  it('carries a 1.2 header value with colon, newline, carriage return and backslash intact', async function () {
    const session = await StompitSession.connect(env.stompPort);
    const queue = `/queue/${uniqueName('escape')}`;
    const subscription = await session.subscribe(queue);
    const tricky = 'a:b\nc\\d\re';
    await session.send(queue, 'x', { 'x-tricky': tricky });
    const message = await subscription.inbox.next();
    expect(message.headers['x-tricky']).to.equal(tricky);
    await session.disconnect();
  });

  it('decodes escaped header values written by hand and delivers their meaning', async function () {
    const producer = await RawSocket.connectStomp(env.stompPort);
    const consumer = await RawSocket.connectStomp(env.stompPort);
    const queue = `/queue/${uniqueName('escape-wire')}`;
    consumer.send('SUBSCRIBE', { id: 's1', destination: queue, receipt: 'r1' });
    await consumer.nextFrame('RECEIPT');
    // Written by hand: the escaped forms \c \n \\ must arrive decoded in meaning and re-escaped in form.
    producer.write('SEND\ndestination:' + queue + '\nx-colon:one\\ctwo\nx-newline:l1\\nl2\nx-backslash:b\\\\s\n\nbody\0');
    const message = await consumer.nextFrame('MESSAGE');
    expect(message.headers['x-colon']).to.equal('one:two');
    expect(message.headers['x-newline']).to.equal('l1\nl2');
    expect(message.headers['x-backslash']).to.equal('b\\s');
  });

  it('takes 1.0 header values literally (no escaping in 1.0) and re-escapes them for a 1.2 receiver', async function () {
    const producer = await RawSocket.connectStomp(env.stompPort, { 'accept-version': '1.0' });
    const consumer = await RawSocket.connectStomp(env.stompPort);
    const queue = `/queue/${uniqueName('escape-10')}`;
    consumer.send('SUBSCRIBE', { id: 's1', destination: queue, receipt: 'r1' });
    await consumer.nextFrame('RECEIPT');
    producer.write('SEND\ndestination:' + queue + '\nx-literal:back\\cslash\n\nbody\0');
    const message = await consumer.nextFrame('MESSAGE');
    expect(message.headers['x-literal']).to.equal('back\\cslash');
  });

  it('keeps the first of repeated headers (1.2 "Repeated Header Entries")', async function () {
    const producer = await RawSocket.connectStomp(env.stompPort);
    const queue = `/queue/${uniqueName('repeat')}`;
    const session = await StompitSession.connect(env.stompPort);
    const subscription = await session.subscribe(queue);
    producer.write(`SEND\ndestination:${queue}\nx-repeat:first\nx-repeat:second\n\nbody\0`);
    const message = await subscription.inbox.next();
    expect(message.headers['x-repeat']).to.equal('first');
    await session.disconnect();
  });
});

describe('frames: bodies and receipts', function () {
  const env = useBroker();

  it('carries a binary body with NUL bytes when content-length is given', async function () {
    const session = await StompitSession.connect(env.stompPort);
    const queue = `/queue/${uniqueName('binary')}`;
    const subscription = await session.subscribe(queue);
    const body = Buffer.alloc(1024);
    for (let i = 0; i < body.length; i++) body[i] = i % 256;
    await session.send(queue, body, { 'content-length': String(body.length), 'content-type': 'application/octet-stream' });
    const message = await subscription.inbox.next();
    expect(Buffer.compare(message.body, body)).to.equal(0);
    expect(String(message.headers['content-length'])).to.equal(String(body.length));
    expect(message.headers['content-type']).to.equal('application/octet-stream');
    await session.disconnect();
  });

  it('reads a body without content-length up to the NUL', async function () {
    const raw = await RawSocket.connectStomp(env.stompPort);
    const queue = `/queue/${uniqueName('nul-terminated')}`;
    raw.send('SUBSCRIBE', { id: 's', destination: queue, receipt: 'sub' });
    await raw.nextFrame('RECEIPT');
    raw.write(`SEND\ndestination:${queue}\n\nno length here\0`);
    const message = await raw.nextFrame('MESSAGE');
    expect(message.body.toString()).to.equal('no length here');
    expect(message.headers['content-length']).to.equal('14');
  });

  it('accepts frames split across many writes and several frames in one write', async function () {
    const raw = await RawSocket.connectStomp(env.stompPort);
    const queue = `/queue/${uniqueName('split')}`;
    raw.send('SUBSCRIBE', { id: 's', destination: queue, receipt: 'sub' });
    await raw.nextFrame('RECEIPT');
    const bytes = Buffer.concat([1, 2, 3].map((n) => encodeFrame('SEND', { destination: queue }, `part ${n}`)));
    for (let i = 0; i < 40; i++) raw.write(bytes.subarray(i, i + 1));
    raw.write(bytes.subarray(40));
    const bodies = [];
    for (let i = 0; i < 3; i++) bodies.push((await raw.nextFrame('MESSAGE')).body.toString());
    expect(bodies).to.deep.equal(['part 1', 'part 2', 'part 3']);
  });

  it('accepts CRLF line endings (1.2 "Augmented BNF")', async function () {
    const raw = await RawSocket.connectStomp(env.stompPort);
    const queue = `/queue/${uniqueName('crlf')}`;
    raw.write(`SUBSCRIBE\r\nid:s\r\ndestination:${queue}\r\nreceipt:sub\r\n\r\n\0`);
    await raw.nextFrame('RECEIPT');
    raw.write(`SEND\r\ndestination:${queue}\r\n\r\ncrlf\0`);
    expect((await raw.nextFrame('MESSAGE')).body.toString()).to.equal('crlf');
  });

  it('answers every receipt request with a RECEIPT carrying its id, and closes after DISCONNECT', async function () {
    const raw = await RawSocket.connectStomp(env.stompPort);
    const queue = `/queue/${uniqueName('receipts')}`;
    const frames: Array<[string, Record<string, string>]> = [
      ['SUBSCRIBE', { id: 's', destination: queue, ack: 'client-individual' }],
      ['SEND', { destination: queue }],
      ['BEGIN', { transaction: 't1' }],
      ['COMMIT', { transaction: 't1' }],
      ['UNSUBSCRIBE', { id: 's' }],
    ];
    for (const [index, [command, headers]] of frames.entries()) {
      raw.send(command, { ...headers, receipt: `r-${index}` });
    }
    const ids: string[] = [];
    for (let i = 0; i < frames.length; i++) ids.push((await raw.nextFrame('RECEIPT')).headers['receipt-id'] ?? '');
    // Receipts may overtake each other (a SEND's waits for storage); each must come exactly once.
    expect(ids.sort()).to.deep.equal(frames.map((_, index) => `r-${index}`));
    raw.send('DISCONNECT', { receipt: 'bye' });
    expect((await raw.nextFrame('RECEIPT')).headers['receipt-id']).to.equal('bye');
    expect(await raw.waitClosed()).to.equal(true);
  });
});

interface BadFrame {
  name: string;
  /** Frames written after CONNECTED (or instead of CONNECT when `connect` is false). */
  bytes: string;
  codes: string[];
  connect?: boolean;
  /** A CONNECT header set, e.g. without client-id. */
  connectHeaders?: Record<string, string>;
  /** The frame cannot be parsed, so the server need not trust its receipt header. */
  unparsable?: boolean;
}

const q = '/queue/bad-frames';
const BAD_FRAMES: BadFrame[] = [
  { name: 'an unknown command', bytes: 'FROB\nreceipt:77\n\n\0', codes: ['TANDEM_ERR_UNKNOWN_COMMAND'] },
  { name: 'a lower-case command (commands are case-sensitive)', bytes: 'send\ndestination:/queue/x\nreceipt:77\n\n\0', codes: ['TANDEM_ERR_UNKNOWN_COMMAND', 'TANDEM_ERR_MALFORMED_FRAME'], unparsable: true },
  { name: 'SEND without destination', bytes: 'SEND\nreceipt:77\n\nbody\0', codes: ['TANDEM_ERR_MISSING_HEADER'] },
  { name: 'SUBSCRIBE without id (required in 1.2)', bytes: `SUBSCRIBE\ndestination:${q}\nreceipt:77\n\n\0`, codes: ['TANDEM_ERR_MISSING_HEADER'] },
  { name: 'SUBSCRIBE without destination', bytes: 'SUBSCRIBE\nid:s1\nreceipt:77\n\n\0', codes: ['TANDEM_ERR_MISSING_HEADER'] },
  { name: 'SUBSCRIBE with an unknown ack mode', bytes: `SUBSCRIBE\nid:s1\ndestination:${q}\nack:sometimes\nreceipt:77\n\n\0`, codes: ['TANDEM_ERR_INVALID_HEADER'] },
  { name: 'SUBSCRIBE with a selector that does not parse', bytes: `SUBSCRIBE\nid:s1\ndestination:${q}\nselector:color = = 'red'\nreceipt:77\n\n\0`, codes: ['TANDEM_ERR_INVALID_SELECTOR'] },
  {
    name: 'a second SUBSCRIBE with the same id',
    bytes: `SUBSCRIBE\nid:s1\ndestination:${q}\n\n\0SUBSCRIBE\nid:s1\ndestination:${q}\nreceipt:77\n\n\0`,
    codes: ['TANDEM_ERR_DUPLICATE_SUBSCRIPTION'],
  },
  { name: 'UNSUBSCRIBE of an unknown id', bytes: 'UNSUBSCRIBE\nid:nope\nreceipt:77\n\n\0', codes: ['TANDEM_ERR_UNKNOWN_SUBSCRIPTION'] },
  { name: 'ACK without id (1.2)', bytes: 'ACK\nreceipt:77\n\n\0', codes: ['TANDEM_ERR_MISSING_HEADER'] },
  { name: 'ACK of an unknown message', bytes: 'ACK\nid:no-such-ack\nreceipt:77\n\n\0', codes: ['TANDEM_ERR_UNKNOWN_MESSAGE'] },
  { name: 'BEGIN without transaction', bytes: 'BEGIN\nreceipt:77\n\n\0', codes: ['TANDEM_ERR_MISSING_HEADER'] },
  { name: 'BEGIN of a transaction already open', bytes: 'BEGIN\ntransaction:t\n\n\0BEGIN\ntransaction:t\nreceipt:77\n\n\0', codes: ['TANDEM_ERR_DUPLICATE_TRANSACTION'] },
  { name: 'COMMIT of an unknown transaction', bytes: 'COMMIT\ntransaction:nope\nreceipt:77\n\n\0', codes: ['TANDEM_ERR_UNKNOWN_TRANSACTION'] },
  { name: 'ABORT of an unknown transaction', bytes: 'ABORT\ntransaction:nope\nreceipt:77\n\n\0', codes: ['TANDEM_ERR_UNKNOWN_TRANSACTION'] },
  { name: 'SEND in an unknown transaction', bytes: `SEND\ndestination:${q}\ntransaction:nope\nreceipt:77\n\nx\0`, codes: ['TANDEM_ERR_UNKNOWN_TRANSACTION'] },
  { name: 'SEND to an unknown destination type', bytes: 'SEND\ndestination:/bogus/x\nreceipt:77\n\nx\0', codes: ['TANDEM_ERR_INVALID_DESTINATION'] },
  { name: 'SEND to an empty queue name', bytes: 'SEND\ndestination:/queue/\nreceipt:77\n\nx\0', codes: ['TANDEM_ERR_INVALID_DESTINATION'] },
  { name: 'a durable subscription without client-id', bytes: 'SUBSCRIBE\nid:d\ndestination:/topic/t\nactivemq.subscriptionName:n\nreceipt:77\n\n\0', codes: ['TANDEM_ERR_CLIENT_ID_REQUIRED'] },
  { name: 'a header line without a colon', bytes: `SEND\ndestination:${q}\nreceipt:77\nno-colon-here\n\nx\0`, codes: ['TANDEM_ERR_MALFORMED_FRAME'], unparsable: true },
  { name: 'an undefined escape sequence (1.2: a fatal protocol error)', bytes: `SEND\ndestination:${q}\nreceipt:77\nx-bad:tab\\there\n\nx\0`, codes: ['TANDEM_ERR_MALFORMED_FRAME', 'TANDEM_ERR_INVALID_HEADER'], unparsable: true },
  { name: 'a content-length that is not a number', bytes: `SEND\ndestination:${q}\nreceipt:77\ncontent-length:ten\n\nx\0`, codes: ['TANDEM_ERR_MALFORMED_FRAME', 'TANDEM_ERR_INVALID_HEADER'], unparsable: true },
  { name: 'a body longer than its content-length (no NUL after it)', bytes: `SEND\ndestination:${q}\nreceipt:77\ncontent-length:2\n\nabc\0`, codes: ['TANDEM_ERR_MALFORMED_FRAME'], unparsable: true },
  { name: 'a second CONNECT', bytes: 'CONNECT\naccept-version:1.2\nhost:localhost\nreceipt:77\n\n\0', codes: ['TANDEM_ERR_ALREADY_CONNECTED'] },
  { name: 'SEND before CONNECT', bytes: `SEND\ndestination:${q}\nreceipt:77\n\nx\0`, codes: ['TANDEM_ERR_NOT_CONNECTED'], connect: false },
  { name: 'SUBSCRIBE before CONNECT', bytes: `SUBSCRIBE\nid:s\ndestination:${q}\nreceipt:77\n\n\0`, codes: ['TANDEM_ERR_NOT_CONNECTED'], connect: false },
];

describe('frames: an ERROR frame for every bad frame, then the connection closes (STOMP 1.2 "ERROR")', function () {
  const env = useBroker();

  for (const bad of BAD_FRAMES) {
    it(`rejects ${bad.name}`, async function () {
      const raw = bad.connect === false ? await RawSocket.open(env.stompPort) : await RawSocket.connectStomp(env.stompPort, bad.connectHeaders);
      raw.write(bad.bytes);
      const error = await raw.nextFrame();
      expect(error.command, `got ${error.command} ${JSON.stringify(error.headers)}`).to.equal('ERROR');
      expect(error.headers['code']).to.be.oneOf(bad.codes);
      expect(error.headers['message']).to.be.a('string').and.not.equal('');
      expect(error.headers['message']).to.not.include('\n');
      expect(error.headers['content-type']).to.match(/^text\/plain/);
      if (!bad.unparsable) expect(error.headers['receipt-id']).to.equal('77');
      expect(await raw.waitClosed(), 'the server must close the connection after ERROR').to.equal(true);
    });
  }

  it('still serves well-behaved clients after all of the above', async function () {
    const session = await StompitSession.connect(env.stompPort);
    const queue = `/queue/${uniqueName('after-errors')}`;
    const subscription = await session.subscribe(queue);
    await session.send(queue, 'fine');
    expect((await subscription.inbox.next()).text).to.equal('fine');
    await session.disconnect();
  });
});
