// Each client command's handler, through a real session and real frames, against a fake core:
// what reaches the core, when RECEIPTs go out, and which ERROR each bad frame earns.
import { expect } from 'chai';
import { BrokerError } from '../../../errors.js';
import type { StompFrame } from '../frame.js';
import { frame, header, SessionHarness, settle } from './test-harness.js';

function commands(h: SessionHarness): string[] {
  return h.received().map((f) => f.command);
}

function expectError(h: SessionHarness, code: string): StompFrame {
  const last = h.lastFrame();
  expect(last?.command, 'an ERROR frame').to.equal('ERROR');
  expect(header(last!, 'code')).to.equal(code);
  expect(h.transport.ended, 'the connection closes after an ERROR').to.equal(true);
  return last!;
}

async function connected(version = '1.2', extra: Array<[string, string]> = []): Promise<SessionHarness> {
  const h = new SessionHarness();
  await h.connect(version === '1.0' ? extra : [['accept-version', version], ...extra]);
  return h;
}

describe('STOMP handlers', () => {
  describe('SEND (STOMP 1.2 "SEND")', () => {
    it('hands the core the destination, flags, body and carried headers, but not frame-level headers', async () => {
      const h = await connected();
      h.send(
        frame(
          'SEND',
          [
            ['destination', '/queue/orders'],
            ['persistent', 'true'],
            ['priority', '9'],
            ['expires', '1800000000000'],
            ['content-type', 'application/json'],
            ['correlation-id', 'c-7'],
            ['JMSXGroupID', 'g-1'],
            ['region', 'eu'],
            ['region', 'us'],
          ],
          '{"n":1}',
        ),
      );
      await settle();
      const [[request, transaction]] = h.connection.argsOf('send') as [[Record<string, unknown>, unknown]];
      expect(transaction).to.equal(undefined);
      expect(request).to.deep.include({ destination: '/queue/orders', persistent: true, priority: 9, expires: 1_800_000_000_000 });
      expect(request['headers']).to.deep.equal({ 'content-type': 'application/json', 'correlation-id': 'c-7', JMSXGroupID: 'g-1', region: 'eu' });
      expect((request['body'] as Buffer).toString()).to.equal('{"n":1}');
    });

    it('takes a bare name as a queue and leaves priority and expires to the core when absent', async () => {
      const h = await connected();
      h.send(frame('SEND', [['destination', 'orders']], 'x'));
      await settle();
      const [[request]] = h.connection.argsOf('send') as [[Record<string, unknown>]];
      expect(request['destination']).to.equal('/queue/orders');
      expect(request['persistent']).to.equal(false);
      expect(request).not.to.have.property('priority');
      expect(request).not.to.have.property('expires');
    });

    it('sends the RECEIPT only after the core has stored the message', async () => {
      const h = await connected();
      let store!: () => void;
      h.connection.next = () => new Promise<void>((resolve) => (store = resolve));
      h.send(frame('SEND', [['destination', '/queue/a'], ['receipt', 'r-1']], 'x'));
      await settle();
      expect(commands(h)).to.deep.equal(['CONNECTED']);
      store();
      await settle();
      expect(h.lastFrame()?.command).to.equal('RECEIPT');
      expect(header(h.lastFrame()!, 'receipt-id')).to.equal('r-1');
    });

    it("maps the failover client's tandem-producer-id and tandem-producer-seq onto the request", async () => {
      const h = await connected();
      h.send(frame('SEND', [['destination', '/queue/a'], ['tandem-producer-id', 'ID:p-1'], ['tandem-producer-seq', '42']], 'x'));
      await settle();
      const [[request]] = h.connection.argsOf('send') as [[Record<string, unknown>]];
      expect(request).to.include({ producerId: 'ID:p-1', producerSeq: 42 });
      expect(request['headers']).to.deep.equal({});
    });

    it('refuses a tandem-producer-seq that is not a sequence number', async () => {
      const h = await connected();
      h.send(frame('SEND', [['destination', '/queue/a'], ['tandem-producer-id', 'p'], ['tandem-producer-seq', 'x']], 'x'));
      await settle();
      expectError(h, 'TANDEM_ERR_INVALID_HEADER');
    });

    it('passes the transaction to the core', async () => {
      const h = await connected();
      h.send(frame('SEND', [['destination', '/queue/a'], ['transaction', 'tx-1']], 'x'));
      await settle();
      expect(h.connection.argsOf('send')[0]?.[1]).to.equal('tx-1');
    });

    it('rewrites a temporary reply-to through the core, and a bare one to a queue', async () => {
      const h = await connected();
      h.send(
        frame('SEND', [['destination', '/queue/a'], ['reply-to', '/temp-queue/replies']], 'x'),
        frame('SEND', [['destination', '/queue/a'], ['reply-to', 'answers']], 'y'),
      );
      await settle();
      const sent = h.connection.argsOf('send').map(([r]) => (r as { headers: Record<string, string> }).headers['reply-to']);
      expect(sent).to.deep.equal([`/temp-queue/${h.connection.id}-replies`, '/queue/answers']);
    });

    it('requires destination: ERROR TANDEM_ERR_MISSING_HEADER naming it', async () => {
      const h = await connected();
      h.send(frame('SEND', [], 'x'));
      await settle();
      expect(header(expectError(h, 'TANDEM_ERR_MISSING_HEADER'), 'message')).to.contain('destination');
    });

    for (const [name, value] of [
      ['priority', '10'],
      ['priority', 'high'],
      ['expires', '-5'],
      ['expires', 'soon'],
    ] as const) {
      it(`refuses ${name}:${value} with TANDEM_ERR_INVALID_HEADER`, async () => {
        const h = await connected();
        h.send(frame('SEND', [['destination', '/queue/a'], [name, value]], 'x'));
        await settle();
        expect(header(expectError(h, 'TANDEM_ERR_INVALID_HEADER'), 'message')).to.contain(name);
        expect(h.connection.argsOf('send')).to.have.length(0);
      });
    }

    for (const destination of ['/bogus/a', '/queue/', '']) {
      it(`refuses destination '${destination}' with TANDEM_ERR_INVALID_DESTINATION`, async () => {
        const h = await connected();
        h.send(frame('SEND', [['destination', destination]], 'x'));
        await settle();
        expectError(h, 'TANDEM_ERR_INVALID_DESTINATION');
      });
    }
  });

  describe('SUBSCRIBE (STOMP 1.2 "SUBSCRIBE")', () => {
    it('maps id, ack, selector and the ActiveMQ headers onto the request', async () => {
      const h = await connected('1.2', [['client-id', 'app']]);
      h.send(
        frame('SUBSCRIBE', [
          ['id', 's-1'],
          ['destination', '/topic/prices.>'],
          ['ack', 'client-individual'],
          ['selector', "region = 'eu'"],
          ['activemq.prefetchSize', '10'],
          ['activemq.subscriptionName', 'dash'],
          ['activemq.noLocal', 'true'],
          ['receipt', 'r-s'],
        ]),
      );
      await settle();
      expect(h.connection.argsOf('subscribe')).to.deep.equal([
        [{ id: 's-1', destination: '/topic/prices.>', ack: 'client-individual', prefetch: 10, selector: "region = 'eu'", durableName: 'dash', noLocal: true }],
      ]);
      expect(header(h.lastFrame()!, 'receipt-id')).to.equal('r-s');
    });

    it('defaults to ack auto and a prefetch of 1000', async () => {
      const h = await connected();
      h.send(frame('SUBSCRIBE', [['id', '1'], ['destination', '/queue/a']]));
      await settle();
      expect(h.connection.argsOf('subscribe')).to.deep.equal([[{ id: '1', destination: '/queue/a', ack: 'auto', prefetch: 1000 }]]);
    });

    it('requires id in STOMP 1.1 and 1.2', async () => {
      for (const version of ['1.1', '1.2']) {
        const h = await connected(version);
        h.send(frame('SUBSCRIBE', [['destination', '/queue/a']]));
        await settle();
        expect(header(expectError(h, 'TANDEM_ERR_MISSING_HEADER'), 'message')).to.contain("'id'");
      }
    });

    it('names a STOMP 1.0 subscription by its destination when id is absent', async () => {
      const h = await connected('1.0');
      h.send(frame('SUBSCRIBE', [['destination', 'work']]));
      await settle();
      expect((h.connection.argsOf('subscribe')[0]?.[0] as { id: string }).id).to.equal('/queue/work');
    });

    it('refuses an unknown ack mode with TANDEM_ERR_INVALID_HEADER', async () => {
      const h = await connected();
      h.send(frame('SUBSCRIBE', [['id', '1'], ['destination', '/queue/a'], ['ack', 'sometimes']]));
      await settle();
      expectError(h, 'TANDEM_ERR_INVALID_HEADER');
    });

    it('refuses a prefetch that is not a positive integer', async () => {
      const h = await connected();
      h.send(frame('SUBSCRIBE', [['id', '1'], ['destination', '/queue/a'], ['activemq.prefetchSize', '0']]));
      await settle();
      expect(header(expectError(h, 'TANDEM_ERR_INVALID_HEADER'), 'message')).to.contain('activemq.prefetchSize');
    });

    it('refuses a durable subscription without a client-id: TANDEM_ERR_CLIENT_ID_REQUIRED', async () => {
      const h = await connected();
      h.send(frame('SUBSCRIBE', [['id', '1'], ['destination', '/topic/a'], ['activemq.subscriptionName', 'd']]));
      await settle();
      expectError(h, 'TANDEM_ERR_CLIENT_ID_REQUIRED');
      expect(h.connection.argsOf('subscribe')).to.have.length(0);
    });

    it('reports the core refusing a subscription with the core code', async () => {
      const h = await connected();
      h.connection.next = () => Promise.reject(new BrokerError('TANDEM_ERR_INVALID_SELECTOR', 'unexpected token'));
      h.send(frame('SUBSCRIBE', [['id', '1'], ['destination', '/queue/a'], ['selector', 'a ==']]));
      await settle();
      expectError(h, 'TANDEM_ERR_INVALID_SELECTOR');
    });
  });

  describe('UNSUBSCRIBE (STOMP 1.2 "UNSUBSCRIBE")', () => {
    it('unsubscribes by id, keeping a durable subscription', async () => {
      const h = await connected();
      h.send(frame('UNSUBSCRIBE', [['id', 's-1'], ['receipt', 'u']]));
      await settle();
      expect(h.connection.argsOf('unsubscribe')).to.deep.equal([['s-1', undefined, undefined]]);
      expect(header(h.lastFrame()!, 'receipt-id')).to.equal('u');
    });

    it('removes the durable subscription when activemq.subscriptionName is given', async () => {
      const h = await connected('1.2', [['client-id', 'app']]);
      h.send(frame('UNSUBSCRIBE', [['id', 's-1'], ['activemq.subscriptionName', 'dash']]));
      await settle();
      expect(h.connection.argsOf('unsubscribe')).to.deep.equal([['s-1', true, 'dash']]);
    });

    it('requires id in STOMP 1.2', async () => {
      const h = await connected();
      h.send(frame('UNSUBSCRIBE', [['destination', '/queue/a']]));
      await settle();
      expectError(h, 'TANDEM_ERR_MISSING_HEADER');
    });

    it('accepts destination instead of id in STOMP 1.0', async () => {
      const h = await connected('1.0');
      h.send(frame('UNSUBSCRIBE', [['destination', 'work']]));
      await settle();
      expect(h.connection.argsOf('unsubscribe')[0]?.[0]).to.equal('/queue/work');
    });

    it('reports an unknown subscription with the core code', async () => {
      const h = await connected();
      h.connection.next = () => Promise.reject(new BrokerError('TANDEM_ERR_UNKNOWN_SUBSCRIPTION', 'no subscription "x"'));
      h.send(frame('UNSUBSCRIBE', [['id', 'x']]));
      await settle();
      expectError(h, 'TANDEM_ERR_UNKNOWN_SUBSCRIPTION');
    });
  });

  describe('ACK and NACK (STOMP 1.2 "ACK", "NACK")', () => {
    for (const command of ['ACK', 'NACK'] as const) {
      const method = command.toLowerCase();

      it(`${command} in 1.2 names the message by the MESSAGE's ack header, sent back as id`, async () => {
        const h = await connected();
        h.send(frame(command, [['id', '7'], ['transaction', 'tx'], ['receipt', 'a']]));
        await settle();
        expect(h.connection.argsOf(method)).to.deep.equal([[{ ackId: '7' }, 'tx']]);
        expect(header(h.lastFrame()!, 'receipt-id')).to.equal('a');
      });

      it(`${command} in 1.1 names it by message-id and subscription`, async () => {
        const h = await connected('1.1');
        h.send(frame(command, [['message-id', 'm-1'], ['subscription', 's-1']]));
        await settle();
        expect(h.connection.argsOf(method)).to.deep.equal([[{ messageId: 'm-1', subscriptionId: 's-1' }, undefined]]);
      });

      it(`${command} in 1.0 names it by message-id`, async () => {
        const h = await connected('1.0');
        h.send(frame(command, [['message-id', 'm-1']]));
        await settle();
        expect(h.connection.argsOf(method)).to.deep.equal([[{ messageId: 'm-1' }, undefined]]);
      });

      it(`${command} without its required header is ERROR TANDEM_ERR_MISSING_HEADER`, async () => {
        for (const [version, missing] of [['1.2', "'id'"], ['1.1', "'subscription'"], ['1.0', "'message-id'"]] as const) {
          const h = await connected(version);
          h.send(frame(command, version === '1.1' ? [['message-id', 'm']] : []));
          await settle();
          expect(header(expectError(h, 'TANDEM_ERR_MISSING_HEADER'), 'message')).to.contain(missing);
        }
      });
    }

    it('an ACK without a receipt asks the core for no fdatasync; one with a receipt waits for it', async () => {
      const h = await connected();
      h.send(frame('ACK', [['id', '1']]), frame('ACK', [['id', '2'], ['receipt', 'r']]), frame('ACK', [['id', '3'], ['transaction', 't']]));
      await settle();
      expect(h.connection.argsOf('ack')).to.deep.equal([[{ ackId: '1' }, undefined], [{ ackId: '2' }, undefined], [{ ackId: '3' }, 't']]);
      expect(h.connection.ackOptions).to.deep.equal([{ sync: false }, undefined, { sync: false }]);
      expect(h.received().map((f) => header(f, 'receipt-id'))).to.deep.equal([undefined, 'r']);
    });

    it('reports a message not awaiting acknowledgement with the core code', async () => {
      const h = await connected();
      h.connection.next = () => Promise.reject(new BrokerError('TANDEM_ERR_UNKNOWN_MESSAGE', 'ack id "9" is not pending'));
      h.send(frame('ACK', [['id', '9']]));
      await settle();
      expectError(h, 'TANDEM_ERR_UNKNOWN_MESSAGE');
    });
  });

  describe('BEGIN, COMMIT, ABORT (STOMP 1.2 "BEGIN", "COMMIT", "ABORT")', () => {
    it('begins, commits and aborts with receipts, the commit receipt after the commit is stored', async () => {
      const h = await connected();
      let stored!: () => void;
      h.send(frame('BEGIN', [['transaction', 't1'], ['receipt', 'b']]));
      h.connection.next = () => new Promise<void>((resolve) => (stored = resolve));
      h.send(frame('COMMIT', [['transaction', 't1'], ['receipt', 'c']]));
      await settle();
      expect(h.received().map((f) => header(f, 'receipt-id'))).to.deep.equal([undefined, 'b']);
      stored();
      h.send(frame('ABORT', [['transaction', 't2'], ['receipt', 'x']]));
      await settle();
      expect(h.connection.calls.map((c) => [c.method, ...c.args])).to.deep.equal([
        ['begin', 't1'],
        ['commit', 't1'],
        ['abort', 't2'],
      ]);
      expect(h.received().map((f) => header(f, 'receipt-id')).slice(1).sort()).to.deep.equal(['b', 'c', 'x']);
    });

    for (const command of ['BEGIN', 'COMMIT', 'ABORT']) {
      it(`${command} requires transaction`, async () => {
        const h = await connected();
        h.send(frame(command, []));
        await settle();
        expect(header(expectError(h, 'TANDEM_ERR_MISSING_HEADER'), 'message')).to.contain('transaction');
      });
    }

    it('reports a duplicate BEGIN with the core code', async () => {
      const h = await connected();
      h.connection.syncError = new BrokerError('TANDEM_ERR_DUPLICATE_TRANSACTION', 'transaction "t" is already open');
      h.send(frame('BEGIN', [['transaction', 't']]));
      await settle();
      expectError(h, 'TANDEM_ERR_DUPLICATE_TRANSACTION');
    });

    it('reports a COMMIT of an unknown transaction with the core code', async () => {
      const h = await connected();
      h.connection.next = () => Promise.reject(new BrokerError('TANDEM_ERR_UNKNOWN_TRANSACTION', 'no transaction "t"'));
      h.send(frame('COMMIT', [['transaction', 't'], ['receipt', 'c']]));
      await settle();
      expect(header(expectError(h, 'TANDEM_ERR_UNKNOWN_TRANSACTION'), 'receipt-id')).to.equal('c');
    });
  });

  describe('DISCONNECT (STOMP 1.2 "Graceful Disconnect")', () => {
    it('sends its RECEIPT after every earlier frame has settled, then closes', async () => {
      const h = await connected();
      let store!: () => void;
      h.connection.next = () => new Promise<void>((resolve) => (store = resolve));
      h.send(frame('SEND', [['destination', '/queue/a'], ['receipt', 's']], 'x'), frame('DISCONNECT', [['receipt', 'bye']]));
      await settle();
      expect(commands(h)).to.deep.equal(['CONNECTED']);
      expect(h.transport.ended).to.equal(false);
      store();
      await settle();
      expect(h.received().map((f) => header(f, 'receipt-id'))).to.deep.equal([undefined, 's', 'bye']);
      expect(h.transport.ended).to.equal(true);
      expect(h.connection.closed).to.equal(true);
    });

    it('makes earlier ACKs durable before its RECEIPT: the core is asked to sync once the frames have settled', async () => {
      const h = await connected();
      let stored!: () => void;
      h.connection.next = () => new Promise<void>((resolve) => (stored = resolve));
      h.send(frame('ACK', [['id', '1']]), frame('DISCONNECT', [['receipt', 'bye']]));
      await settle();
      expect(h.connection.calls.map((c) => c.method)).to.deep.equal(['ack']);
      stored();
      await settle();
      expect(h.connection.calls.map((c) => c.method)).to.deep.equal(['ack', 'sync']);
      expect(header(h.lastFrame()!, 'receipt-id')).to.equal('bye');
    });

    it('reads no frame after DISCONNECT', async () => {
      const h = await connected();
      h.send(frame('DISCONNECT', [['receipt', 'bye']]), frame('SEND', [['destination', '/queue/a']], 'x'));
      await settle();
      expect(h.connection.argsOf('send')).to.have.length(0);
      expect(commands(h)).to.deep.equal(['CONNECTED', 'RECEIPT']);
    });

    it('closes without a receipt when none was asked for', async () => {
      const h = await connected();
      h.send(frame('DISCONNECT'));
      await settle();
      expect(commands(h)).to.deep.equal(['CONNECTED']);
      expect(h.transport.ended).to.equal(true);
    });
  });
});
