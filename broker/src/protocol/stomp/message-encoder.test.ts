// MESSAGE and RECEIPT encoded straight into the outbox: byte for byte what serializeFrame() writes
// for messageFrame() and receiptFrame() in every version, with the common part of a message shared
// between its deliveries; the outbox's slabs; and a topic fanned out through the real core to
// several sessions, each frame carrying its own subscription and ack (STOMP 1.2 "MESSAGE").
import { expect } from 'chai';
import { MemoryStore, silentLogger } from '@tandem-mq/shared-store';
import { createBrokerCore, type RunningCore } from '../../core/index.js';
import { DEFAULT_DEAD_LETTER_POLICY, DEFAULT_REDELIVERY_POLICY } from '../../core/policies.js';
import type { Delivery, EncodingCache } from '../../core/types.js';
import { wire } from './codec-fixtures.js';
import type { StompVersion } from './frame.js';
import { messageFrame, receiptFrame } from './handlers/outbound.js';
import { FakeCore, FakeTransport, ManualClock, frame, settle, testDelivery as delivery } from './handlers/test-harness.js';
import { encodeMessage, encodeReceipt } from './message-encoder.js';
import { Outbox } from './outbox.js';
import { serializeFrame } from './serializer.js';
import { StompSession } from './session.js';

const VERSIONS: StompVersion[] = ['1.0', '1.1', '1.2'];


/** What the session wrote before MESSAGE had its own encoder: serializeFrame, and for 1.0 its fallback. */
function reference(d: Delivery, version: StompVersion): Buffer {
  const f = messageFrame(d);
  try {
    return serializeFrame(f, version);
  } catch {
    return serializeFrame({ ...f, headers: f.headers.filter(([n]) => !/[\r\n:]/.test(n)).map(([n, v]) => [n, v.replace(/[\r\n]+/g, ' ')]) }, version);
  }
}

function encoded(d: Delivery, version: StompVersion): Buffer {
  const out = new Outbox();
  encodeMessage(out, d, version);
  return Buffer.concat(out.take());
}

/** Deliveries with every kind of header the encoder treats differently. */
const CASES: Array<[string, Partial<Delivery>]> = [
  ['plain', {}],
  ['persistent, redelivered, with expiry and a priority', { persistent: true, redelivered: true, expires: 1_800_000_000_000, priority: 9 }],
  ['header values with colons, backslashes, LF and CR', { headers: { note: 'a:b\\c', lines: 'one\ntwo', cr: 'x\ry' } }],
  ['header names with a colon or a line break', { headers: { 'k:1': 'v', 'n\nm': 'w', ok: 'yes' } }],
  ['headers the server sets are not repeated', { headers: { 'message-id': 'forged', subscription: 'other', 'content-length': '99', color: 'blue' } }],
  ['an empty body still gets content-length', { body: Buffer.alloc(0) }],
  ['a body with NULs and non-ASCII text', { body: Buffer.from('a\0b é 😀'), headers: { name: 'Zoë 😀' } }],
  ['a destination, subscription and ack that need escaping', { destination: '/queue/a:b', subscriptionId: 's\\1', ackId: 'x:1', messageId: 'ID:h:1' }],
  ['a large body', { body: Buffer.alloc(40_000, 'z') }],
];

describe('MESSAGE and RECEIPT encoding', () => {
  for (const version of VERSIONS) {
    describe(`STOMP ${version}`, () => {
      for (const [name, overrides] of CASES) {
        it(`${name}: the same bytes as serializeFrame(messageFrame())`, () => {
          const d = delivery(overrides);
          expect(encoded(d, version).toString('latin1')).to.equal(reference(d, version).toString('latin1'));
          // Through a cache: the encoding made, then found there (as text, then as cached bytes).
          const cache: EncodingCache = {};
          for (let i = 0; i < 3; i++) expect(encoded({ ...d, cache }, version).equals(reference(d, version)), `delivery ${i + 1}`).to.equal(true);
        });
      }

      it('a RECEIPT: the same bytes as serializeFrame(receiptFrame()), a line break flattened in 1.0', () => {
        for (const id of ['r-1', 'a:b\\c', 'two\nlines']) {
          const out = new Outbox();
          encodeReceipt(out, id, version);
          const f = receiptFrame(id);
          const expected = version === '1.0' && /[\r\n]/.test(id) ? serializeFrame(frame('RECEIPT', [['receipt-id', id.replace(/[\r\n]+/g, ' ')]]), version) : serializeFrame(f, version);
          expect(Buffer.concat(out.take()).toString('latin1')).to.equal(expected.toString('latin1'));
        }
      });
    });
  }

  it('shares the common part between deliveries and writes each one its own destination, subscription, ack and redelivered', () => {
    const cache: EncodingCache = {};
    const headers = { note: 'n:1' };
    const first = delivery({ cache, headers, destination: '/topic/t', subscriptionId: 'a', ackId: '1' });
    const second = delivery({ cache, headers, destination: '/topic/t', subscriptionId: 'b', ackId: '2', redelivered: true });
    const third = delivery({ cache, headers, destination: '/queue/Consumer.x.VirtualTopic.t', subscriptionId: 'c', ackId: '3' });
    for (const d of [first, second, third]) expect(encoded(d, '1.2').equals(reference(d, '1.2'))).to.equal(true);
    expect(encoded(second, '1.2').toString('latin1')).to.equal(
      'MESSAGE\ndestination:/topic/t\nmessage-id:ID\\cm-1\nsubscription:b\nack:2\nredelivered:true\npriority:4\ntimestamp:1700000000000\nnote:n\\c1\ncontent-length:5\n\nhello\0',
    );
  });

  it('does not reuse an encoding for a copy of the message with other headers or expiry (a dead-lettered copy)', () => {
    const cache: EncodingCache = {};
    const original = delivery({ cache, headers: { a: '1' }, expires: 5 });
    const copy = delivery({ cache, headers: { a: '1', 'original-destination': '/queue/a' }, expires: 0 });
    expect(encoded(original, '1.2').equals(reference(original, '1.2'))).to.equal(true);
    expect(encoded(copy, '1.2').equals(reference(copy, '1.2'))).to.equal(true);
    expect(encoded(original, '1.2').equals(reference(original, '1.2'))).to.equal(true);
  });
});

describe('Outbox', () => {
  it('keeps each outbox in order while several write into the shared slab in turns', () => {
    const a = new Outbox();
    const b = new Outbox();
    a.string('a1,');
    b.string('b1,');
    a.bytes(Buffer.from('a2,'));
    a.byte(0x41);
    b.bytes(Buffer.from('b2'));
    expect(Buffer.concat(a.take()).toString()).to.equal('a1,a2,A');
    expect(Buffer.concat(b.take()).toString()).to.equal('b1,b2');
    expect(a.length).to.equal(0);
    expect(a.take()).to.deep.equal([]);
  });

  it('joins consecutive writes into one buffer, and counts its bytes', () => {
    const out = new Outbox();
    for (let i = 0; i < 100; i++) out.string(`frame ${i}\n`);
    expect(out.length).to.equal(Buffer.byteLength(Array.from({ length: 100 }, (_, i) => `frame ${i}\n`).join('')));
    expect(out.take()).to.have.length(1);
  });

  it('passes a large body on by reference and keeps the bytes around it in order', () => {
    const out = new Outbox();
    const big = Buffer.alloc(20_000, 'b');
    out.string('head');
    out.bytes(big);
    out.byte(0);
    const chunks = out.take();
    expect(chunks).to.have.length(3);
    expect(chunks[1]).to.equal(big);
    expect(Buffer.concat(chunks).equals(Buffer.concat([Buffer.from('head'), big, Buffer.from([0])]))).to.equal(true);
  });

  it('moves to a new slab when one is full, never touching bytes already taken', () => {
    const out = new Outbox();
    const taken: Buffer[] = [];
    const expected: string[] = [];
    for (let i = 0; i < 200; i++) {
      const text = `${i}:`.padEnd(1000, 'x');
      out.string(text);
      expected.push(text);
      if (i % 7 === 0) taken.push(...out.take());
    }
    taken.push(...out.take());
    expect(Buffer.concat(taken).toString()).to.equal(expected.join(''));
  });

  it('hands a message transport one buffer per frame, however the frames lie in the slabs', () => {
    const out = new Outbox({ frames: true });
    const big = Buffer.alloc(20_000, 'b');
    out.string('one');
    out.endFrame();
    out.string('two-');
    out.bytes(big);
    out.byte(0);
    out.endFrame();
    out.byte(0x0a);
    out.endFrame();
    out.string('tail without an end mark');
    const frames = out.takeFrames();
    expect(frames.map((f) => f.length)).to.deep.equal([3, 4 + big.length + 1, 1, 24]);
    expect(frames[1]!.equals(Buffer.concat([Buffer.from('two-'), big, Buffer.from([0])]))).to.equal(true);
    expect(frames[3]!.toString()).to.equal('tail without an end mark');
    expect(out.takeFrames()).to.deep.equal([]);
  });

  it('writes text as UTF-8', () => {
    const out = new Outbox();
    out.string('é😀');
    expect(Buffer.concat(out.take()).equals(Buffer.from('é😀', 'utf8'))).to.equal(true);
  });
});

describe('a session on a message transport (WebSocket)', () => {
  it('writes each frame as a chunk of its own, as before frames shared slabs', async () => {
    const writes: Buffer[][] = [];
    const transport = { remoteAddress: 'x', protocol: 'stomp+ws', write: (chunks: Buffer[]) => (writes.push(chunks), true), pause() {}, resume() {}, end() {} };
    const core = new FakeCore();
    const session = new StompSession({ core, transport, logger: silentLogger(), heartbeat: { send: 0, receive: 0 }, clock: new ManualClock() });
    session.onData(serializeFrame(frame('CONNECT', [['accept-version', '1.2']]), '1.0'));
    await settle();
    const sink = core.last.sink;
    const big = Buffer.alloc(30_000, 'z');
    sink.deliver(delivery({ messageId: 'm-1' }));
    sink.deliver(delivery({ messageId: 'm-2', body: big }));
    sink.deliver(delivery({ messageId: 'm-3' }));
    await settle();
    const last = writes.at(-1)!;
    expect(last).to.have.length(3);
    expect(last[0]!.equals(reference(delivery({ messageId: 'm-1' }), '1.2'))).to.equal(true);
    expect(last[1]!.equals(reference(delivery({ messageId: 'm-2', body: big }), '1.2'))).to.equal(true);
    expect(last[2]!.equals(reference(delivery({ messageId: 'm-3' }), '1.2'))).to.equal(true);
    session.onTransportClose();
  });
});

describe('topic fan-out through the core to STOMP sessions', () => {
  let core: RunningCore | undefined;
  let store: MemoryStore | undefined;
  afterEach(async () => {
    await core?.close();
    await store?.close();
    core = store = undefined;
  });

  /** A session on the real core, connected in `version`; returns its transport. */
  async function connect(version: StompVersion): Promise<{ session: StompSession; transport: FakeTransport; connectedBytes: number }> {
    const transport = new FakeTransport();
    const session = new StompSession({ core: core!, transport, logger: silentLogger(), heartbeat: { send: 0, receive: 0 }, clock: new ManualClock() });
    session.onData(serializeFrame(frame('CONNECT', [['accept-version', version], ['host', 'x']]), '1.0'));
    await settle();
    return { session, transport, connectedBytes: transport.bytes.length };
  }

  it('gives every subscriber a byte-exact frame with its own subscription and ack, the rest shared (STOMP 1.2 "MESSAGE")', async () => {
    store = new MemoryStore();
    core = createBrokerCore({
      store,
      recovered: await store.open(),
      logger: silentLogger(),
      redelivery: DEFAULT_REDELIVERY_POLICY,
      deadLetter: DEFAULT_DEAD_LETTER_POLICY,
      now: () => 1_700_000_000_000,
      brokerId: 'b',
    });
    const early = await connect('1.2');
    const late = await connect('1.2');
    const old = await connect('1.0');
    const producer = await connect('1.2');
    early.session.onData(serializeFrame(frame('SUBSCRIBE', [['id', 'early'], ['destination', '/topic/prices'], ['ack', 'client-individual']]), '1.2'));
    old.session.onData(serializeFrame(frame('SUBSCRIBE', [['id', 'old'], ['destination', '/topic/prices']]), '1.0'));
    await settle();
    producer.session.onData(serializeFrame(frame('SEND', [['destination', '/topic/prices'], ['note', 'a:b']], 'one'), '1.2'));
    await settle();
    late.session.onData(serializeFrame(frame('SUBSCRIBE', [['id', 'late'], ['destination', '/topic/prices']]), '1.2'));
    await settle();
    producer.session.onData(serializeFrame(frame('SEND', [['destination', '/topic/prices'], ['note', 'a:b']], 'two'), '1.2'));
    await settle();

    const written = (peer: { transport: FakeTransport; connectedBytes: number }): string => peer.transport.bytes.subarray(peer.connectedBytes).toString('latin1');
    const message = (seq: number, subscription: string, ack: string, body: string): Buffer =>
      wire(
        'MESSAGE\n', //                      command
        'destination:/topic/prices\n', //    the topic sent to
        `message-id:ID\\cb-${seq}\n`, //     ID:<broker>-<seq>, its colon escaped (1.2)
        `subscription:${subscription}\n`, // this subscriber's id
        `ack:${ack}\n`, //                   unique on this subscriber's connection
        'redelivered:false\n',
        'priority:4\n',
        'timestamp:1700000000000\n',
        'note:a\\cb\n', //                   the sender's header, escaped
        `content-length:${body.length}\n`,
        '\n',
        body,
        [0x00],
      );
    expect(written(early)).to.equal(Buffer.concat([message(1, 'early', '1', 'one'), message(2, 'early', '2', 'two')]).toString('latin1'));
    expect(written(late)).to.equal(message(2, 'late', '1', 'two').toString('latin1'));
    // STOMP 1.0 has no escaping: the same message, written as it is.
    expect(written(old)).to.equal(
      wire(
        'MESSAGE\ndestination:/topic/prices\nmessage-id:ID:b-1\nsubscription:old\nack:1\nredelivered:false\npriority:4\ntimestamp:1700000000000\nnote:a:b\ncontent-length:3\n\none',
        [0x00],
        'MESSAGE\ndestination:/topic/prices\nmessage-id:ID:b-2\nsubscription:old\nack:2\nredelivered:false\npriority:4\ntimestamp:1700000000000\nnote:a:b\ncontent-length:3\n\ntwo',
        [0x00],
      ).toString('latin1'),
    );
    for (const peer of [early, late, old, producer]) peer.session.onTransportClose();
  });
});
