// The failover client against a scripted STOMP server on 127.0.0.1: reconnection through the
// list, resends with the same producer sequence, restored subscriptions, stale acks, rolled-back
// transactions, timeouts, giving up, heart-beats and priority backup.
import { expect } from 'chai';
import { FailoverClient, type ClientOptions } from './client.js';
import { FailoverClientError } from './errors.js';
import { header, type Frame } from './frame.js';
import { PRODUCER_ID_HEADER, PRODUCER_SEQ_HEADER } from './producer.js';
import type { Status } from './status.js';
import type { Message } from './subscriptions.js';
import { closedPort, FakeServer, messageFrame, until } from './testing/fake-server.js';

const FAST = 'initialReconnectDelay=10&maxReconnectDelay=40&randomize=false';

describe('failover client (scripted server)', function () {
  const servers: FakeServer[] = [];
  const clients: FailoverClient[] = [];

  async function server(options: ConstructorParameters<typeof FakeServer>[0] = {}): Promise<FakeServer> {
    const s = await new FakeServer(options).start();
    servers.push(s);
    return s;
  }

  function client(uri: string, options: ClientOptions = {}): { c: FailoverClient; statuses: Status[] } {
    const c = new FailoverClient(uri, { heartbeat: { send: 0, receive: 0 }, ...options });
    const statuses: Status[] = [];
    c.onStatus((s) => statuses.push(s));
    clients.push(c);
    return { c, statuses };
  }

  afterEach(async function () {
    for (const c of clients.splice(0)) await c.close();
    for (const s of servers.splice(0)) await s.stop();
  });

  async function rejection(promise: Promise<unknown>): Promise<FailoverClientError> {
    try {
      await promise;
    } catch (error) {
      expect(error).to.be.instanceOf(FailoverClientError);
      return error as FailoverClientError;
    }
    throw new Error('expected a rejection');
  }

  const seqs = (frames: Frame[]): number[] => frames.map((f) => Number(header(f, PRODUCER_SEQ_HEADER)));

  it('connects through a failover URI whose first endpoint is a closed port', async function () {
    const dead = await closedPort();
    const s = await server();
    const { c, statuses } = client(`failover:(stomp://127.0.0.1:${dead},${s.uri})?${FAST}`);
    await c.connect();
    expect(c.endpoint).to.equal(s.uri);
    expect(statuses).to.deep.equal([{ type: 'connected', endpoint: s.uri }]);
    expect(header(s.latest!.connect!, 'accept-version')).to.equal('1.2');
    expect(header(s.latest!.connect!, 'host')).to.equal('127.0.0.1');
  });

  it('numbers every SEND with its producer id and 1, 2, 3, ... and resolves on the receipt', async function () {
    const s = await server();
    const { c } = client(s.uri);
    await c.connect();
    await Promise.all([c.send('/queue/a', 'one'), c.send('/queue/a', 'two'), c.send('/queue/a', Buffer.from([1, 2]))]);
    const sends = s.framesOf('SEND');
    expect(seqs(sends)).to.deep.equal([1, 2, 3]);
    expect(new Set(sends.map((f) => header(f, PRODUCER_ID_HEADER)))).to.deep.equal(new Set([c.producerId]));
    expect(header(sends[0]!, 'persistent')).to.equal('true');
    expect(header(sends[0]!, 'content-type')).to.equal('text/plain;charset=utf-8');
    expect(header(sends[2]!, 'content-type')).to.equal(undefined);
  });

  it('resends unconfirmed sends with the same sequence after a failover, then numbers new ones after them', async function () {
    const s = await server();
    let withhold = true;
    s.options.receipt = (frame) => !(withhold && frame.command === 'SEND');
    const { c, statuses } = client(`failover:(${s.uri})?${FAST}`);
    await c.connect();
    const settled: string[] = [];
    const first = [c.send('/queue/a', 'a'), c.send('/queue/a', 'b')].map((p, i) => p.then(() => settled.push(`sent ${i}`)));
    await until('two SENDs', () => s.framesOf('SEND').length === 2);
    expect(settled).to.deep.equal([]);
    withhold = false;
    s.dropConnections();
    // Sent while no connection is up: it waits, and is numbered after the resent ones.
    await until('interrupted', () => statuses.some((x) => x.type === 'interrupted'));
    const later = c.send('/queue/a', 'c');
    await Promise.all([...first, later]);
    const second = s.connections.at(-1)!.frames.filter((f) => f.command === 'SEND');
    expect(seqs(second)).to.deep.equal([1, 2, 3]);
    expect(second.map((f) => f.body.toString())).to.deep.equal(['a', 'b', 'c']);
    const types = statuses.map((x) => x.type);
    expect(types).to.deep.equal(['connected', 'interrupted', 'reconnecting', 'resumed']);
    expect(statuses[2]).to.deep.include({ type: 'reconnecting', attempt: 1 });
    expect(statuses[3]).to.deep.equal({ type: 'resumed', from: s.uri, to: s.uri });
  });

  it('restores subscriptions (a durable one by name, with the same client-id) before resending', async function () {
    const s = await server();
    const { c } = client(`failover:(${s.uri})?${FAST}`, { clientId: 'app-1' });
    await c.connect();
    await c.subscribe('/topic/t', () => undefined, { durableName: 'd1', ack: 'client-individual', selector: "kind = 'x'" });
    await c.subscribe('/queue/q', () => undefined);
    s.dropConnections();
    await until('two CONNECTs with subscriptions', () => s.connections.length === 2 && s.connections[1]!.frames.filter((f) => f.command === 'SUBSCRIBE').length === 2);
    const [before, after] = s.connections;
    expect(header(after!.connect!, 'client-id')).to.equal('app-1');
    const strip = (f: Frame) => f.headers.filter(([n]) => n !== 'receipt');
    expect(after!.frames.filter((f) => f.command === 'SUBSCRIBE').map(strip)).to.deep.equal(before!.frames.filter((f) => f.command === 'SUBSCRIBE').map(strip));
    const durable = after!.frames.find((f) => header(f, 'destination') === '/topic/t')!;
    expect(header(durable, 'activemq.subscriptionName')).to.equal('d1');
    expect(header(durable, 'ack')).to.equal('client-individual');
    expect(header(durable, 'selector')).to.equal("kind = 'x'");
  });

  it('unsubscribes (removing a durable one by name on request) and does not restore it afterwards', async function () {
    const s = await server();
    const { c, statuses } = client(`failover:(${s.uri})?${FAST}`, { clientId: 'app-2' });
    await c.connect();
    const plain = await c.subscribe('/queue/q', () => undefined);
    const durable = await c.subscribe('/topic/t', () => undefined, { durableName: 'd2' });
    await plain.unsubscribe();
    await durable.unsubscribe({ removeDurable: true });
    const unsubscribes = s.framesOf('UNSUBSCRIBE').map((f) => f.headers.filter(([n]) => n !== 'receipt'));
    expect(unsubscribes).to.deep.equal([[['id', plain.id]], [['id', durable.id], ['activemq.subscriptionName', 'd2']]]);
    s.dropConnections();
    await until('resumed', () => statuses.some((x) => x.type === 'resumed'));
    expect(s.connections.at(-1)!.frames.filter((f) => f.command === 'SUBSCRIBE')).to.deep.equal([]);
  });

  it('acknowledges inside a transaction and NACKs outside one; auto mode needs no ACK', async function () {
    const s = await server();
    const { c } = client(s.uri);
    await c.connect();
    const received: Message[] = [];
    await c.subscribe('/queue/q', (m) => void received.push(m), { ack: 'client' });
    await c.subscribe('/queue/auto', (m) => void received.push(m));
    s.latest!.send(messageFrame('sub-1', 'a1', 'one'));
    s.latest!.send(messageFrame('sub-1', 'a2', 'two'));
    s.latest!.send(messageFrame('sub-2', 'a3', 'three'));
    await until('three messages', () => received.length === 3);
    const tx = await c.begin();
    await tx.ack(received[0]!);
    await received[1]!.nack();
    await received[2]!.ack();
    await tx.commit();
    const acks = s.framesOf('ACK').concat(s.framesOf('NACK')).map((f) => [f.command, header(f, 'id'), header(f, 'transaction')]);
    expect(acks).to.deep.equal([['ACK', 'a1', tx.id], ['NACK', 'a2', undefined]]);
    expect((await rejection(tx.commit())).code).to.equal('TANDEM_ERR_TRANSACTION_FINISHED');
  });

  it('rejects subscribe() with TANDEM_ERR_TIMEOUT when no connection comes within timeout', async function () {
    const s = await server();
    const { c, statuses } = client(`failover:(${s.uri})?${FAST}&timeout=200`);
    await c.connect();
    await s.stop();
    await until('interrupted', () => statuses.some((x) => x.type === 'interrupted'));
    const error = await rejection(c.subscribe('/queue/q', () => undefined));
    expect(error.code).to.equal('TANDEM_ERR_TIMEOUT');
    expect(error.message).to.include('could not subscribe to /queue/q within 200 ms');
  });

  it('refuses a durable subscription without a client id', async function () {
    const s = await server();
    const { c } = client(s.uri);
    await c.connect();
    const error = await rejection(c.subscribe('/topic/t', () => undefined, { durableName: 'd' }));
    expect(error.code).to.equal('TANDEM_ERR_CLIENT_ID_REQUIRED');
  });

  it('acknowledges on the delivering connection and drops an ACK for a message of a lost one', async function () {
    const s = await server();
    const { c, statuses } = client(`failover:(${s.uri})?${FAST}`);
    await c.connect();
    const received: Message[] = [];
    await c.subscribe('/queue/q', (m) => void received.push(m), { ack: 'client-individual' });
    s.latest!.send(messageFrame('sub-1', '11', 'first'));
    s.latest!.send(messageFrame('sub-1', '12', 'second'));
    await until('two messages', () => received.length === 2);
    await received[0]!.ack();
    expect(s.framesOf('ACK').map((f) => header(f, 'id'))).to.deep.equal(['11']);
    s.dropConnections();
    await until('resumed', () => statuses.some((x) => x.type === 'resumed'));
    const error = await rejection(received[1]!.ack());
    expect(error.code).to.equal('TANDEM_ERR_DELIVERY_STALE');
    expect(error.message).to.include('m-12');
    expect(s.connections.at(-1)!.frames.filter((f) => f.command === 'ACK')).to.deep.equal([]);
    // The broker redelivers it on the new connection; that copy can be acknowledged.
    s.latest!.send(messageFrame('sub-1', '1', 'second', [['redelivered', 'true']]));
    await until('redelivery', () => received.length === 3);
    expect(received[2]!.redelivered).to.equal(true);
    await received[2]!.ack();
    expect(s.connections.at(-1)!.frames.filter((f) => f.command === 'ACK').map((f) => header(f, 'id'))).to.deep.equal(['1']);
  });

  it('fails an open transaction with TANDEM_ERR_TRANSACTION_ROLLED_BACK after a failover', async function () {
    const s = await server();
    const { c, statuses } = client(`failover:(${s.uri})?${FAST}`);
    await c.connect();
    const tx = await c.begin();
    await tx.send('/queue/a', 'in tx');
    const sent = s.framesOf('SEND');
    expect(header(sent[0]!, 'transaction')).to.equal(tx.id);
    expect(header(sent[0]!, PRODUCER_SEQ_HEADER)).to.equal('1');
    s.dropConnections();
    await until('resumed', () => statuses.some((x) => x.type === 'resumed'));
    expect(tx.open).to.equal(false);
    const onSend = await rejection(tx.send('/queue/a', 'more'));
    expect(onSend.code).to.equal('TANDEM_ERR_TRANSACTION_ROLLED_BACK');
    const onCommit = await rejection(tx.commit());
    expect(onCommit.code).to.equal('TANDEM_ERR_TRANSACTION_ROLLED_BACK');
    expect(onCommit.message).to.include('run it again');
    await tx.abort();
    // Nothing of the transaction went out on the new connection, and a retry works there.
    expect(s.connections.at(-1)!.frames.map((f) => f.command)).to.deep.equal(['CONNECT']);
    const retry = await c.begin();
    await retry.send('/queue/a', 'in tx');
    await retry.commit();
    expect(s.connections.at(-1)!.frames.map((f) => f.command)).to.deep.equal(['CONNECT', 'BEGIN', 'SEND', 'COMMIT']);
    expect(header(s.connections.at(-1)!.frames[2]!, PRODUCER_SEQ_HEADER)).to.equal('2');
  });

  it('reports a COMMIT lost before its receipt as TANDEM_ERR_TRANSACTION_IN_DOUBT', async function () {
    const s = await server({ receipt: (frame) => frame.command !== 'COMMIT' });
    const { c } = client(`failover:(${s.uri})?${FAST}`);
    await c.connect();
    const tx = await c.begin();
    const commit = rejection(tx.commit());
    await until('COMMIT', () => s.framesOf('COMMIT').length === 1);
    s.dropConnections();
    const error = await commit;
    expect(error.code).to.equal('TANDEM_ERR_TRANSACTION_IN_DOUBT');
  });

  it('rejects a send with TANDEM_ERR_TIMEOUT when no broker answers within timeout', async function () {
    const dead = await closedPort();
    const { c } = client(`failover:(stomp://127.0.0.1:${dead})?${FAST}&timeout=150`);
    c.connect().catch(() => undefined);
    const error = await rejection(c.send('/queue/a', 'x'));
    expect(error.code).to.equal('TANDEM_ERR_TIMEOUT');
    expect(error.message).to.include('never written to a broker');
  });

  it('rejects a written but unconfirmed send after timeout, saying it may be stored', async function () {
    const s = await server({ receipt: (frame) => frame.command !== 'SEND' });
    const { c } = client(`failover:(${s.uri})?${FAST}&timeout=150`);
    await c.connect();
    const error = await rejection(c.send('/queue/a', 'x'));
    expect(error.code).to.equal('TANDEM_ERR_TIMEOUT');
    expect(error.message).to.include('may or may not be stored');
  });

  it('gives up after maxReconnectAttempts passes: failed status, pending sends rejected', async function () {
    const s = await server({ receipt: (frame) => frame.command !== 'SEND' });
    const { c, statuses } = client(`failover:(${s.uri})?${FAST}&maxReconnectAttempts=2`);
    await c.connect();
    const pending = rejection(c.send('/queue/a', 'x'));
    await until('SEND', () => s.framesOf('SEND').length === 1);
    await s.stop();
    const error = await pending;
    expect(error.code).to.equal('TANDEM_ERR_CONNECTION_FAILED');
    expect(error.message).to.include('after 2 reconnect pass(es)');
    expect(statuses.map((x) => (x.type === 'reconnecting' ? `reconnecting ${x.attempt}` : x.type))).to.deep.equal([
      'connected', 'interrupted', 'reconnecting 1', 'reconnecting 2', 'failed',
    ]);
    expect((await rejection(c.send('/queue/a', 'y'))).code).to.equal('TANDEM_ERR_CONNECTION_FAILED');
  });

  it('does not reconnect at all with maxReconnectAttempts=0, or for a plain URI', async function () {
    for (const make of [(s: FakeServer) => `failover:(${s.uri})?maxReconnectAttempts=0`, (s: FakeServer) => s.uri]) {
      const s = await server();
      const { c, statuses } = client(make(s));
      await c.connect();
      s.dropConnections();
      await until('failed', () => statuses.some((x) => x.type === 'failed'));
      expect(statuses.map((x) => x.type)).to.deep.equal(['connected', 'interrupted', 'failed']);
      expect(s.connections).to.have.length(1);
    }
  });

  it('stops trying at startup after startupMaxReconnectAttempts passes', async function () {
    const dead = await closedPort();
    const { c, statuses } = client(`failover:(stomp://127.0.0.1:${dead})?${FAST}&startupMaxReconnectAttempts=1`);
    const error = await rejection(c.connect());
    expect(error.code).to.equal('TANDEM_ERR_CONNECTION_FAILED');
    expect(statuses.map((x) => x.type)).to.deep.equal(['reconnecting', 'failed']);
  });

  it('notices a silent server by its heart-beats and fails over', async function () {
    const silent = await server({ heartbeat: '50,0' });
    const { c, statuses } = client(`failover:(${silent.uri})?${FAST}`, { heartbeat: { send: 0, receive: 50 } });
    await c.connect();
    await until('interrupted', () => statuses.some((x) => x.type === 'interrupted'), 3000);
    const interrupted = statuses.find((x) => x.type === 'interrupted') as Extract<Status, { type: 'interrupted' }>;
    expect(interrupted.reason).to.match(/no heart-beat from the server for \d+ ms/);
  });

  it('writes heart-beats when it has nothing else to say', async function () {
    const s = await server({ heartbeat: '0,30' });
    const { c } = client(s.uri, { heartbeat: { send: 30, receive: 0 } });
    await c.connect();
    let bytes = 0;
    s.latest!.socket.on('data', (chunk: Buffer) => (bytes += chunk.length));
    await until('three beats', () => bytes >= 3, 3000);
    expect(header(s.latest!.connect!, 'heart-beat')).to.equal('30,0');
  });

  it('rejects a send the broker refuses with ERROR, keeping its code, and does not resend it', async function () {
    const s = await server({
      receipt: (frame, connection) => {
        if (frame.command !== 'SEND' || header(frame, 'destination') !== '/queue/') return true;
        connection.send({
          command: 'ERROR',
          headers: [['message', 'bad destination'], ['code', 'TANDEM_ERR_INVALID_DESTINATION'], ['receipt-id', header(frame, 'receipt')!]],
          body: Buffer.from('detail'),
        });
        connection.socket.end();
        return false;
      },
    });
    const { c, statuses } = client(`failover:(${s.uri})?${FAST}`);
    await c.connect();
    const error = await rejection(c.send('/queue/', 'x'));
    expect(error.code).to.equal('TANDEM_ERR_BROKER_ERROR');
    expect(error.brokerCode).to.equal('TANDEM_ERR_INVALID_DESTINATION');
    await until('resumed', () => statuses.some((x) => x.type === 'resumed'));
    expect(statuses.find((x) => x.type === 'broker-error')).to.deep.include({ brokerCode: 'TANDEM_ERR_INVALID_DESTINATION', message: 'bad destination' });
    expect(s.framesOf('SEND')).to.have.length(1);
  });

  it('rejects connect() when the broker answers CONNECT with ERROR, after the allowed passes', async function () {
    const s = await server({ refuseConnect: () => ({ command: 'ERROR', headers: [['message', 'no'], ['code', 'TANDEM_ERR_TOO_MANY_CONNECTIONS']], body: Buffer.alloc(0) }) });
    const { c } = client(`failover:(${s.uri})?${FAST}&startupMaxReconnectAttempts=0`);
    const error = await rejection(c.connect());
    expect(error.code).to.equal('TANDEM_ERR_CONNECTION_FAILED');
    expect(error.message).to.include('TANDEM_ERR_TOO_MANY_CONNECTIONS');
  });

  it('moves back to the priority endpoint when it returns (priorityBackup)', async function () {
    const primary = await server();
    const primaryPort = primary.port;
    await primary.stop();
    const backup = await server();
    const { c, statuses } = client(`failover:(stomp://127.0.0.1:${primaryPort},${backup.uri})?${FAST}&priorityBackup=true`);
    await c.connect();
    expect(c.endpoint).to.equal(backup.uri);
    await c.subscribe('/queue/q', () => undefined);
    await primary.start(primaryPort);
    await until('resumed on the primary', () => c.endpoint === primary.uri, 5000);
    expect(statuses.map((x) => x.type)).to.deep.equal(['connected', 'interrupted', 'reconnecting', 'resumed']);
    expect(statuses.at(-1)).to.deep.equal({ type: 'resumed', from: backup.uri, to: primary.uri });
    expect(backup.framesOf('DISCONNECT')).to.have.length(1);
    expect(primary.latest!.frames.filter((f) => f.command === 'SUBSCRIBE')).to.have.length(1);
  });

  it('closes with DISCONNECT and refuses work afterwards', async function () {
    const s = await server();
    const { c, statuses } = client(s.uri);
    await c.connect();
    await c.close();
    expect(s.framesOf('DISCONNECT')).to.have.length(1);
    expect(statuses.at(-1)).to.deep.equal({ type: 'closed' });
    expect((await rejection(c.send('/queue/a', 'x'))).code).to.equal('TANDEM_ERR_CLIENT_CLOSED');
  });

  it('refuses operations before connect()', async function () {
    const { c } = client('stomp://127.0.0.1:1');
    expect((await rejection(c.send('/queue/a', 'x'))).message).to.include('call connect() first');
  });

  it('serves statuses as an async iterator ending at close', async function () {
    const s = await server();
    const { c } = client(s.uri);
    const seen: string[] = [];
    const reading = (async () => {
      for await (const status of c.statuses()) seen.push(status.type);
    })();
    await c.connect();
    await c.close();
    await reading;
    expect(seen).to.deep.equal(['connected', 'closed']);
  });
});
