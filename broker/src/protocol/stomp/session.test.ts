// The STOMP session against a fake core, driven with real parser and serializer bytes: connecting
// and version negotiation, heart-beats, the ERROR contract, MESSAGE frames, flow control, closing.
import { expect } from 'chai';
import { StoreError } from '@tandem-mq/shared-store';
import { BrokerError } from '../../errors.js';
import { negotiateHeartbeat, parseHeartbeat } from './handlers/heartbeat.js';
import { frame, header, SessionHarness, settle } from './handlers/test-harness.js';
import type { StompFrame } from './frame.js';

function expectError(f: StompFrame | undefined, code: string): StompFrame {
  expect(f?.command, 'an ERROR frame').to.equal('ERROR');
  expect(header(f!, 'code')).to.equal(code);
  return f!;
}

describe('StompSession', () => {
  describe('STOMP 1.2 "Connecting" and "Protocol Negotiation"', () => {
    it('answers CONNECT with CONNECTED carrying version, heart-beat, server and session', async () => {
      const h = new SessionHarness();
      const connected = await h.connect([
        ['accept-version', '1.0,1.1,1.2'],
        ['host', 'broker'],
        ['heart-beat', '0,0'],
      ]);
      expect(header(connected, 'version')).to.equal('1.2');
      expect(header(connected, 'heart-beat')).to.equal('10000,10000');
      expect(header(connected, 'server')).to.equal('TandemMQ/0.1.0');
      expect(header(connected, 'session')).to.equal(h.connection.id);
      expect(h.transport.ended).to.equal(false);
    });

    it('accepts the STOMP command as CONNECT', async () => {
      const h = new SessionHarness();
      h.send(frame('STOMP', [['accept-version', '1.2'], ['host', 'x']]));
      await settle();
      expect(h.received()[0]?.command).to.equal('CONNECTED');
    });

    it('picks the highest version both sides speak', async () => {
      const h = new SessionHarness();
      const connected = await h.connect([['accept-version', '1.0,1.1']]);
      expect(header(connected, 'version')).to.equal('1.1');
    });

    it('speaks 1.0 when accept-version is absent, with no heart-beats', async () => {
      const h = new SessionHarness();
      const connected = await h.connect([['heart-beat', '1000,1000']]);
      expect(header(connected, 'version')).to.equal('1.0');
      expect(header(connected, 'heart-beat')).to.equal('0,0');
      expect(h.clock.liveTimers).to.equal(0);
    });

    it('refuses a CONNECT with no common version: ERROR TANDEM_ERR_UNSUPPORTED_VERSION listing ours in `version`', async () => {
      const h = new SessionHarness();
      h.send(frame('CONNECT', [['accept-version', '2.0,3.1']]));
      await settle();
      const error = expectError(h.lastFrame(), 'TANDEM_ERR_UNSUPPORTED_VERSION');
      expect(header(error, 'version')).to.equal('1.0,1.1,1.2');
      expect(h.core.connections).to.have.length(0);
      expect(h.transport.ended).to.equal(true);
    });

    it('gives the core client-id, login, remote address and protocol', async () => {
      const h = new SessionHarness();
      await h.connect([
        ['accept-version', '1.2'],
        ['client-id', 'app-1'],
        ['login', 'alice'],
        ['passcode', 'secret'],
      ]);
      expect(h.connection.info).to.deep.equal({ clientId: 'app-1', login: 'alice', remoteAddress: '127.0.0.1:40000', protocol: 'stomp+test' });
    });

    it('answers any frame before CONNECT with ERROR TANDEM_ERR_NOT_CONNECTED, echoing its receipt', async () => {
      const h = new SessionHarness();
      h.send(frame('SEND', [['destination', '/queue/a'], ['receipt', 'r-1']], 'x'));
      await settle();
      const error = expectError(h.lastFrame(), 'TANDEM_ERR_NOT_CONNECTED');
      expect(header(error, 'receipt-id')).to.equal('r-1');
      expect(h.transport.ended).to.equal(true);
      expect(h.core.connections).to.have.length(0);
    });

    it('refuses a second CONNECT with ERROR TANDEM_ERR_ALREADY_CONNECTED and releases the core connection', async () => {
      const h = new SessionHarness();
      await h.connect();
      h.send(frame('CONNECT', [['accept-version', '1.2']]));
      await settle();
      expectError(h.lastFrame(), 'TANDEM_ERR_ALREADY_CONNECTED');
      expect(h.connection.closed).to.equal(true);
    });

    it('reports a core refusal of the connection with its own code', async () => {
      const h = new SessionHarness();
      h.core.openError = new BrokerError('TANDEM_ERR_STORE_UNAVAILABLE', 'the store is not open');
      h.send(frame('CONNECT', [['accept-version', '1.2']]));
      await settle();
      expectError(h.lastFrame(), 'TANDEM_ERR_STORE_UNAVAILABLE');
    });

    it('refuses a malformed heart-beat header with TANDEM_ERR_INVALID_HEADER', async () => {
      const h = new SessionHarness();
      h.send(frame('CONNECT', [['accept-version', '1.2'], ['heart-beat', 'often']]));
      await settle();
      const error = expectError(h.lastFrame(), 'TANDEM_ERR_INVALID_HEADER');
      expect(header(error, 'message')).to.contain('heart-beat');
    });

    it('closes a connection that sends no CONNECT in time', async () => {
      const h = new SessionHarness({ connectTimeoutMs: 5000 });
      h.clock.advance(5000);
      await settle();
      expectError(h.lastFrame(), 'TANDEM_ERR_NOT_CONNECTED');
      expect(h.transport.ended).to.equal(true);
    });

    it('does not time out a connection that did CONNECT', async () => {
      const h = new SessionHarness({ connectTimeoutMs: 5000 });
      await h.connect([['accept-version', '1.2'], ['heart-beat', '0,0']]);
      h.clock.advance(60_000);
      await settle();
      expect(h.received().map((f) => f.command)).to.deep.equal(['CONNECTED']);
    });
  });

  describe('STOMP 1.2 "Heart-beating"', () => {
    it('negotiates each direction as the larger of the two offers, or none when either is 0', () => {
      expect(negotiateHeartbeat({ send: 1000, receive: 2000 }, { send: 500, receive: 3000 })).to.deep.equal({ sendEvery: 2000, expectEvery: 3000 });
      expect(negotiateHeartbeat({ send: 0, receive: 2000 }, { send: 500, receive: 3000 })).to.deep.equal({ sendEvery: 2000, expectEvery: 0 });
      expect(negotiateHeartbeat({ send: 1000, receive: 0 }, { send: 500, receive: 0 })).to.deep.equal({ sendEvery: 0, expectEvery: 0 });
    });

    it('reads an absent heart-beat header as 0,0 and refuses a malformed one', () => {
      expect(parseHeartbeat(undefined)).to.deep.equal({ send: 0, receive: 0 });
      expect(parseHeartbeat('10, 20')).to.deep.equal({ send: 10, receive: 20 });
      expect(() => parseHeartbeat('10')).to.throw(BrokerError).with.property('code', 'TANDEM_ERR_INVALID_HEADER');
      expect(() => parseHeartbeat('-1,5')).to.throw(BrokerError).with.property('code', 'TANDEM_ERR_INVALID_HEADER');
    });

    it('sends an EOL when it has written nothing for the negotiated interval', async () => {
      const h = new SessionHarness({ heartbeat: { send: 500, receive: 0 } });
      await h.connect([['accept-version', '1.2'], ['heart-beat', '0,1000']]);
      const before = h.transport.bytes.length;
      h.clock.advance(1000);
      await settle();
      expect(h.transport.bytes.subarray(before).toString()).to.match(/^\n+$/);
    });

    it('sends no beat when other frames kept the line busy', async () => {
      const h = new SessionHarness({ heartbeat: { send: 1000, receive: 0 } });
      await h.connect([['accept-version', '1.2'], ['heart-beat', '0,1000']]);
      for (let i = 0; i < 6; i++) {
        h.clock.advance(300);
        h.deliver();
      }
      await settle();
      // A beat would be a bare EOL after some frame's NUL.
      expect(h.transport.bytes.includes(Buffer.from('\0\n'))).to.equal(false);
      h.clock.advance(1000);
      await settle();
      expect(h.transport.bytes.includes(Buffer.from('\0\n')), 'a beat once the line went quiet').to.equal(true);
    });

    it('sends no beats when the client asked for none', async () => {
      const h = new SessionHarness({ heartbeat: { send: 500, receive: 0 } });
      await h.connect([['accept-version', '1.2'], ['heart-beat', '0,0']]);
      const before = h.transport.bytes.length;
      h.clock.advance(10_000);
      await settle();
      expect(h.transport.bytes.length).to.equal(before);
    });

    it('closes a silent client after the grace period with ERROR TANDEM_ERR_HEARTBEAT_TIMEOUT', async () => {
      const h = new SessionHarness({ heartbeat: { send: 0, receive: 500 } });
      await h.connect([['accept-version', '1.2'], ['heart-beat', '1000,0']]);
      h.clock.advance(1000);
      await settle();
      expect(h.transport.ended, 'within the grace period').to.equal(false);
      h.clock.advance(1000);
      await settle();
      expectError(h.lastFrame(), 'TANDEM_ERR_HEARTBEAT_TIMEOUT');
      expect(h.transport.ended).to.equal(true);
      expect(h.connection.closed).to.equal(true);
    });

    it('keeps a client whose heart-beats keep coming', async () => {
      const h = new SessionHarness({ heartbeat: { send: 0, receive: 500 } });
      await h.connect([['accept-version', '1.2'], ['heart-beat', '1000,0']]);
      for (let i = 0; i < 10; i++) {
        h.clock.advance(900);
        h.sendBytes('\n');
      }
      await settle();
      expect(h.transport.ended).to.equal(false);
      expect(h.received().map((f) => f.command)).to.deep.equal(['CONNECTED']);
    });

    it('stops its timers when the connection closes', async () => {
      const h = new SessionHarness({ heartbeat: { send: 500, receive: 500 } });
      await h.connect([['accept-version', '1.2'], ['heart-beat', '500,500']]);
      expect(h.clock.liveTimers).to.equal(2);
      h.session.onTransportClose();
      h.clock.advance(0);
      expect(h.clock.liveTimers).to.equal(0);
    });
  });

  describe('STOMP 1.2 "ERROR"', () => {
    it('carries a one-line message, the code, receipt-id, text/plain and a body, then closes', async () => {
      const h = new SessionHarness();
      await h.connect();
      h.send(frame('SEND', [['receipt', 'r-9']], 'x'));
      await settle();
      const error = expectError(h.lastFrame(), 'TANDEM_ERR_MISSING_HEADER');
      expect(header(error, 'message')).to.contain("'destination'").and.not.contain('\n');
      expect(header(error, 'receipt-id')).to.equal('r-9');
      expect(header(error, 'content-type')).to.equal('text/plain');
      expect(error.body.toString()).to.contain('TANDEM_ERR_MISSING_HEADER').and.contain('SEND');
      expect(h.transport.ended).to.equal(true);
      expect(h.connection.closed).to.equal(true);
    });

    it('answers an unknown command with TANDEM_ERR_UNKNOWN_COMMAND', async () => {
      const h = new SessionHarness();
      await h.connect();
      h.send(frame('PUBLISH', [['destination', '/queue/a']]));
      await settle();
      expect(header(expectError(h.lastFrame(), 'TANDEM_ERR_UNKNOWN_COMMAND'), 'message')).to.contain('PUBLISH');
    });

    it('turns a parser error into an ERROR with the parser code', async () => {
      const h = new SessionHarness({ limits: { maxFrameSize: 2048 } });
      await h.connect();
      h.send(frame('SEND', [['destination', '/queue/a']], Buffer.alloc(4096, 0x61)));
      await settle();
      expectError(h.lastFrame(), 'TANDEM_ERR_FRAME_TOO_LARGE');
      expect(h.connection.argsOf('send')).to.have.length(0);
    });

    it('names TANDEM_ERR_JOURNAL_FAILED when the store refuses a persistent send', async () => {
      const h = new SessionHarness();
      await h.connect();
      h.connection.next = () => Promise.reject(new StoreError('TANDEM_ERR_JOURNAL_FAILED', 'fdatasync failed: EIO'));
      h.send(frame('SEND', [['destination', '/queue/a'], ['persistent', 'true'], ['receipt', 'p-1']], 'x'));
      await settle();
      const error = expectError(h.lastFrame(), 'TANDEM_ERR_JOURNAL_FAILED');
      expect(header(error, 'receipt-id')).to.equal('p-1');
      expect(h.received().some((f) => f.command === 'RECEIPT')).to.equal(false);
    });

    it('reports an unexpected failure as TANDEM_ERR_INTERNAL without leaking its text', async () => {
      const h = new SessionHarness();
      await h.connect();
      h.connection.next = () => Promise.reject(new TypeError('secret detail'));
      h.send(frame('SEND', [['destination', '/queue/a']], 'x'));
      await settle();
      const error = expectError(h.lastFrame(), 'TANDEM_ERR_INTERNAL');
      expect(header(error, 'message')).not.to.contain('secret');
    });

    it('reads nothing after an ERROR', async () => {
      const h = new SessionHarness();
      await h.connect();
      h.send(frame('BOGUS'), frame('SEND', [['destination', '/queue/a']], 'x'));
      await settle();
      expect(h.connection.argsOf('send')).to.have.length(0);
      expect(h.received().filter((f) => f.command === 'ERROR')).to.have.length(1);
    });
  });

  describe('STOMP 1.2 "MESSAGE"', () => {
    it('carries destination, message-id, subscription, ack, redelivered, persistent, priority, timestamp, expires, the sender headers and content-length', async () => {
      const h = new SessionHarness();
      await h.connect();
      h.deliver({
        persistent: true,
        priority: 7,
        expires: 1_800_000_000_000,
        redelivered: true,
        headers: { 'content-type': 'text/plain', 'reply-to': '/queue/replies', 'correlation-id': 'c-1', JMSXGroupID: 'g', color: 'blue:red' },
        body: Buffer.from('hello\0world'),
      });
      await settle();
      const message = h.lastFrame()!;
      expect(message.command).to.equal('MESSAGE');
      expect(message.headers).to.deep.equal([
        ['destination', '/queue/a'],
        ['message-id', 'ID:m-1'],
        ['subscription', 'sub-1'],
        ['ack', '7'],
        ['redelivered', 'true'],
        ['persistent', 'true'],
        ['priority', '7'],
        ['timestamp', '1700000000000'],
        ['expires', '1800000000000'],
        ['content-type', 'text/plain'],
        ['reply-to', '/queue/replies'],
        ['correlation-id', 'c-1'],
        ['JMSXGroupID', 'g'],
        ['color', 'blue:red'],
        ['content-length', '11'],
      ]);
      expect(message.body.toString()).to.equal('hello\0world');
    });

    it('leaves out persistent and expires when not set, and keeps ack in STOMP 1.0', async () => {
      const h = new SessionHarness();
      await h.connect([]);
      h.deliver();
      await settle();
      const message = h.lastFrame()!;
      expect(header(message, 'persistent')).to.equal(undefined);
      expect(header(message, 'expires')).to.equal(undefined);
      expect(header(message, 'redelivered')).to.equal('false');
      expect(header(message, 'ack')).to.equal('7');
    });

    it('does not let a stored header repeat one the server sets', async () => {
      const h = new SessionHarness();
      await h.connect();
      h.deliver({ headers: { 'message-id': 'forged', subscription: 'other' } });
      await settle();
      const message = h.lastFrame()!;
      expect(message.headers.filter(([n]) => n === 'message-id')).to.deep.equal([['message-id', 'ID:m-1']]);
      expect(message.headers.filter(([n]) => n === 'subscription')).to.deep.equal([['subscription', 'sub-1']]);
    });

    it('makes a header that STOMP 1.0 cannot carry writable instead of dropping the message', async () => {
      const h = new SessionHarness();
      await h.connect([]);
      h.deliver({ headers: { note: 'two\nlines' } });
      await settle();
      expect(header(h.lastFrame()!, 'note')).to.equal('two lines');
    });

    it('writes the RECEIPT a client is waiting on once the running microtasks are done, after the deliveries queued before it', async () => {
      const h = new SessionHarness();
      await h.connect();
      const writesBefore = h.transport.writes.length;
      h.deliver({ messageId: 'm-1' });
      h.send(frame('SEND', [['destination', '/queue/a'], ['receipt', 'r-1']], 'x'));
      for (let i = 0; i < 10; i++) await Promise.resolve(); // microtasks only: the turn has not ended
      expect(h.transport.writes.length - writesBefore, 'one write, before the end of the turn').to.equal(1);
      expect(h.received().slice(1).map((f) => [f.command, header(f, 'message-id') ?? header(f, 'receipt-id')])).to.deep.equal([
        ['MESSAGE', 'm-1'],
        ['RECEIPT', 'r-1'],
      ]);
      await settle();
      expect(h.transport.writes.length - writesBefore, 'nothing was left for the end of the turn').to.equal(1);
    });

    it('gives a client streaming frames its RECEIPTs with the write at the end of the turn', async () => {
      const h = new SessionHarness();
      await h.connect();
      const stores: Array<() => void> = [];
      h.connection.next = () => new Promise<void>((resolve) => stores.push(resolve));
      h.send(frame('SEND', [['destination', '/queue/a'], ['receipt', 'r-1']], 'x'), frame('SEND', [['destination', '/queue/a'], ['receipt', 'r-2']], 'y'));
      const writesBefore = h.transport.writes.length;
      stores[0]!();
      for (let i = 0; i < 10; i++) await Promise.resolve();
      expect(h.transport.writes.length, 'r-2 is still in flight').to.equal(writesBefore);
      stores[1]!();
      for (let i = 0; i < 10; i++) await Promise.resolve();
      expect(h.transport.writes.length, 'r-2 arrived while r-1 was in flight').to.equal(writesBefore);
      await settle();
      expect(h.transport.writes.length - writesBefore).to.equal(1);
      expect(h.received().slice(1).map((f) => header(f, 'receipt-id'))).to.deep.equal(['r-1', 'r-2']);
    });

    it('leaves deliveries alone for the end of the turn', async () => {
      const h = new SessionHarness();
      await h.connect();
      const writesBefore = h.transport.writes.length;
      h.deliver({ messageId: 'm-1' });
      for (let i = 0; i < 10; i++) await Promise.resolve();
      expect(h.transport.writes.length).to.equal(writesBefore);
      await settle();
      expect(h.transport.writes.length - writesBefore).to.equal(1);
    });

    it('batches everything written in one turn into one transport write', async () => {
      const h = new SessionHarness();
      await h.connect();
      const writesBefore = h.transport.writes.length;
      for (let i = 0; i < 5; i++) h.deliver({ messageId: `m-${i}` });
      await settle();
      expect(h.transport.writes.length - writesBefore).to.equal(1);
      expect(h.received().slice(1).map((f) => header(f, 'message-id'))).to.deep.equal(['m-0', 'm-1', 'm-2', 'm-3', 'm-4']);
    });
  });

  describe('flow control', () => {
    it('reports not writable while the transport is full, and calls drained() on drain', async () => {
      const h = new SessionHarness();
      await h.connect();
      expect(h.session.isWritable()).to.equal(true);
      h.transport.accepting = false;
      h.deliver();
      await settle();
      expect(h.session.isWritable()).to.equal(false);
      expect(h.connection.drainedCalls).to.equal(0);
      h.transport.accepting = true;
      h.session.onTransportDrain();
      expect(h.session.isWritable()).to.equal(true);
      expect(h.connection.drainedCalls).to.equal(1);
    });

    it('reports not writable while its own batch is large, and calls drained() once it is written', async () => {
      const h = new SessionHarness();
      await h.connect();
      h.deliver({ body: Buffer.alloc(300 * 1024) });
      expect(h.session.isWritable()).to.equal(false);
      await settle();
      expect(h.session.isWritable()).to.equal(true);
      expect(h.connection.drainedCalls).to.equal(1);
    });

    it('pauses reading while too many frames are pending in the core, and resumes as they settle', async () => {
      const h = new SessionHarness({ maxPendingOperations: 4 });
      await h.connect();
      const resolvers: Array<() => void> = [];
      h.connection.next = () => new Promise<void>((resolve) => resolvers.push(resolve));
      for (let i = 0; i < 4; i++) h.send(frame('SEND', [['destination', '/queue/a']], 'x'));
      expect(h.transport.paused).to.equal(true);
      for (const resolve of resolvers) resolve();
      await settle();
      expect(h.transport.paused).to.equal(false);
    });
  });

  describe('closing', () => {
    it('releases the core connection once when the transport closes, and ignores later deliveries', async () => {
      const h = new SessionHarness();
      await h.connect();
      const connection = h.connection;
      const bytes = h.transport.bytes.length;
      h.session.onTransportClose();
      h.session.onTransportClose();
      expect(connection.closed).to.equal(true);
      expect(h.closedCalls).to.equal(1);
      connection.sink.deliver({
        subscriptionId: 's', ackId: '1', messageId: 'm', destination: '/queue/a', headers: {}, body: Buffer.alloc(0),
        persistent: false, priority: 4, expires: 0, timestamp: 0, redelivered: false, redeliveryCount: 0,
      });
      await settle();
      expect(h.transport.bytes.length).to.equal(bytes);
    });

    it('shutdown() reads no more, writes the receipts already earned, then closes', async () => {
      const h = new SessionHarness();
      await h.connect();
      let store!: () => void;
      h.connection.next = () => new Promise<void>((resolve) => (store = resolve));
      h.send(frame('ACK', [['id', '1'], ['receipt', 'a-1']]));
      const stopped = h.session.shutdown();
      h.send(frame('ACK', [['id', '2'], ['receipt', 'a-2']]));
      await settle();
      expect(h.transport.paused).to.equal(true);
      expect(h.session.isWritable()).to.equal(false);
      expect(h.transport.ended).to.equal(false);
      store();
      await stopped;
      await settle();
      expect(h.connection.argsOf('ack')).to.have.length(1);
      expect(h.received().map((f) => header(f, 'receipt-id'))).to.deep.equal([undefined, 'a-1']);
      expect(h.transport.ended).to.equal(true);
    });

    it('shutdown() closes without an ERROR', async () => {
      const h = new SessionHarness();
      await h.connect();
      h.session.shutdown();
      await settle();
      expect(h.transport.ended).to.equal(true);
      expect(h.connection.closed).to.equal(true);
      expect(h.received().map((f) => f.command)).to.deep.equal(['CONNECTED']);
    });
  });
});
