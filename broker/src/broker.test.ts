// createBroker in-process with the real file store and core: start order and its log lines, a
// message through STOMP and into the admin API, persistence across a restart, a failed start that
// leaves nothing open, and the HA wiring: a second broker on the same folder waits as standby and
// takes over, and a broker that loses its lock fences at once and comes back on a fresh store.
import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '@tandem-mq/shared-store';
import { createBroker, type Broker, type ListeningAddresses } from './broker.js';
import { validateConfig, type BrokerConfig } from './config/schema.js';
import { header, type StompFrame } from './protocol/stomp/frame.js';
import { StompParser } from './protocol/stomp/parser.js';
import { serializeFrame } from './protocol/stomp/serializer.js';
import { ScriptedLock } from './ha/testing/scripted-lock.js';

class LogLines extends Writable {
  readonly entries: Array<Record<string, unknown>> = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    for (const line of chunk.toString().split('\n')) if (line.trim() !== '') this.entries.push(JSON.parse(line) as Record<string, unknown>);
    done();
  }
  events(): unknown[] {
    return this.entries.map((e) => e['event']);
  }
}

/** A STOMP 1.2 client over a raw socket: enough to drive the broker. */
class Client {
  readonly frames: StompFrame[] = [];
  private readonly parser = new StompParser({ onFrame: (f) => this.frames.push(f), onError: (e) => this.frames.push({ command: 'PARSE-ERROR', headers: [['message', e.message]], body: Buffer.alloc(0) }) });

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.parser.push(chunk);
      this.parser.version = '1.2';
    });
  }

  static async open(port: number): Promise<Client> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
      s.once('error', reject);
    });
    const client = new Client(socket);
    client.send('CONNECT', { 'accept-version': '1.2', host: 'localhost' });
    await client.next('CONNECTED');
    return client;
  }

  send(command: string, headers: Record<string, string>, body = ''): void {
    this.socket.write(serializeFrame({ command, headers: Object.entries(headers), body: Buffer.from(body) }, command === 'CONNECT' ? '1.0' : '1.2'));
  }

  async next(command: string, timeoutMs = 5000): Promise<StompFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.frames.findIndex((f) => f.command === command || f.command === 'ERROR');
      if (index >= 0) {
        const [found] = this.frames.splice(index, 1);
        if (found!.command !== command) throw new Error(`expected ${command}, got ERROR ${header(found!, 'message') ?? ''}`);
        return found!;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${command}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  destroy(): void {
    this.socket.destroy();
  }

  get closed(): boolean {
    return this.socket.destroyed || this.socket.readableEnded;
  }
}

function getJson(port: number, path: string): Promise<unknown> {
  return getReply(port, path).then((reply) => reply.body);
}

function getReply(port: number, path: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) }));
    })
      .on('error', reject)
      .end();
  });
}

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('createBroker', function () {
  this.timeout(20000);
  let dir: string;
  let broker: Broker | undefined;
  const clients: Client[] = [];

  function config(overrides: Partial<BrokerConfig> = {}): BrokerConfig {
    const { config: base } = validateConfig({ stomp: { port: 0 }, websocket: { port: 0 }, admin: { port: 0 }, mode: 'throughput', journal: { syncIntervalMs: 5 } }, dir);
    return { ...base, ...overrides };
  }

  async function start(logs = new LogLines(), overrides: Partial<BrokerConfig> = {}): Promise<ListeningAddresses> {
    broker = createBroker(config(overrides), { logger: createLogger({ level: 'info', destination: logs }) });
    return broker.start();
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-broker-'));
  });
  const others: Broker[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.destroy();
    await broker?.stop();
    broker = undefined;
    for (const other of others.splice(0)) await other.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('recovers the journal, then listens, logging broker.listening once with every address', async () => {
    const logs = new LogLines();
    const addresses = await start(logs);
    const events = logs.events();
    expect(events.indexOf('journal.recovered')).to.be.within(0, events.indexOf('broker.listening'));
    const listening = logs.entries.filter((e) => e['event'] === 'broker.listening');
    expect(listening).to.have.length(1);
    for (const name of ['stomp', 'websocket', 'admin'] as const) {
      expect(listening[0]![name]).to.deep.equal(addresses[name]);
      expect(addresses[name]!.host).to.equal('127.0.0.1');
      expect(addresses[name]!.port).to.be.greaterThan(0);
    }
    expect(listening[0]).not.to.have.property('tls');
  });

  it('moves a message from producer to consumer and shows the queue in the admin API', async () => {
    const addresses = await start();
    const consumer = await Client.open(addresses.stomp.port);
    const producer = await Client.open(addresses.stomp.port);
    clients.push(consumer, producer);
    consumer.send('SUBSCRIBE', { id: 's', destination: '/queue/work', ack: 'client', receipt: 'sub' });
    await consumer.next('RECEIPT');
    producer.send('SEND', { destination: 'work', persistent: 'true', receipt: 'sent', 'content-type': 'text/plain' }, 'hello');
    expect(header(await producer.next('RECEIPT'), 'receipt-id')).to.equal('sent');
    const message = await consumer.next('MESSAGE');
    expect(message.body.toString()).to.equal('hello');
    expect(header(message, 'destination')).to.equal('/queue/work');
    expect(header(message, 'persistent')).to.equal('true');
    const { destinations } = (await getJson(addresses.admin.port, '/destinations')) as { destinations: Array<{ destination: string; inFlight: number }> };
    expect(destinations.find((d) => d.destination === '/queue/work')).to.include({ inFlight: 1 });
  });

  it('keeps a persistent message across a stop and a start on the same data dir', async () => {
    let addresses = await start();
    const producer = await Client.open(addresses.stomp.port);
    clients.push(producer);
    producer.send('SEND', { destination: '/queue/kept', persistent: 'true', receipt: 'r' }, 'survives');
    await producer.next('RECEIPT');
    await broker!.stop();
    addresses = await start();
    const consumer = await Client.open(addresses.stomp.port);
    clients.push(consumer);
    consumer.send('SUBSCRIBE', { id: 's', destination: '/queue/kept' });
    expect((await consumer.next('MESSAGE')).body.toString()).to.equal('survives');
  });

  it('undoes a failed start: the error names the listener and every port and the journal are released', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const logs = new LogLines();
      const failing = createBroker(config({ admin: { host: '127.0.0.1', port } }), { logger: createLogger({ destination: logs }) });
      try {
        await failing.start();
        expect.fail('started with the admin port taken');
      } catch (error) {
        expect(error).to.have.property('code', 'TANDEM_ERR_LISTEN_FAILED');
        expect((error as Error).message).to.contain('admin');
      }
      expect(logs.events()).to.include('broker.stopped');
      // The journal was closed, so a new broker opens the same folder.
      const addresses = await start();
      expect(addresses.stomp.port).to.be.greaterThan(0);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('a second broker on the same data dir waits as standby with the admin API up, and takes over when the first stops', async () => {
    const first = await start();
    const logs = new LogLines();
    const second = createBroker(config(), { logger: createLogger({ level: 'info', destination: logs }) });
    others.push(second);
    const ready = await second.ready();
    expect(ready.role).to.equal('standby');
    if (ready.role !== 'standby') return;
    expect(ready.holder).to.include({ pid: process.pid, epoch: 1 });
    expect(logs.entries.find((e) => e['event'] === 'ha.standby')).to.deep.include({ admin: ready.admin });
    expect(await getReply(ready.admin.port, '/health')).to.deep.equal({ status: 503, body: { status: 'standby', role: 'standby' } });

    const producer = await Client.open(first.stomp.port);
    clients.push(producer);
    producer.send('SEND', { destination: '/queue/handed-over', persistent: 'true', receipt: 'r' }, 'kept');
    await producer.next('RECEIPT');
    const takeover = second.start();
    await broker!.stop();
    const addresses = await takeover;
    expect(second.status()).to.include({ role: 'active', epoch: 2 });
    expect(addresses.admin).to.deep.equal(ready.admin);
    const consumer = await Client.open(addresses.stomp.port);
    clients.push(consumer);
    consumer.send('SUBSCRIBE', { id: 's', destination: '/queue/handed-over' });
    expect((await consumer.next('MESSAGE')).body.toString()).to.equal('kept');
  });

  it('fences at once when the lock is lost: clients cut off, writes refused; then back to standby and active again on a fresh store', async () => {
    const lock = new ScriptedLock();
    const logs = new LogLines();
    broker = createBroker(config(), { lock, logger: createLogger({ level: 'info', destination: logs }) });
    const starting = broker.start();
    await until('the broker to contend for the lock', () => lock.contending);
    lock.grant();
    const addresses = await starting;
    const client = await Client.open(addresses.stomp.port);
    clients.push(client);
    client.send('SEND', { destination: '/queue/fenced', persistent: 'true', receipt: 'before' }, 'stored');
    await client.next('RECEIPT');

    lock.lose('lease-expired', 'the lease was last renewed 1900 ms ago');
    await until('the connection to be dropped', () => client.closed);
    expect(client.frames, 'nothing was sent after the fence').to.deep.equal([]);
    await until('standby again', () => broker!.status().role === 'standby' && lock.contending);
    const moves = logs.entries.filter((e) => e['event'] === 'ha.transition').map((e) => `${String(e['from'])}->${String(e['to'])}`);
    expect(moves).to.deep.equal(['standby->activating', 'activating->active', 'active->fenced', 'fenced->standby']);
    expect(logs.entries.find((e) => e['to'] === 'fenced')).to.have.property('reason', 'lost the lock (lease-expired): the lease was last renewed 1900 ms ago');
    expect((await getReply(addresses.admin.port, '/health')).status).to.equal(503);

    lock.grant('stale');
    await until('active again', () => broker!.status().role === 'active');
    expect(broker.status().epoch).to.equal(2);
    const listening = logs.entries.filter((e) => e['event'] === 'broker.listening');
    expect(listening).to.have.length(2);
    const recovered = logs.entries.filter((e) => e['event'] === 'journal.recovered');
    expect(recovered, 'every activation recovers the journal anew').to.have.length(2);
    const consumer = await Client.open((listening[1]!['stomp'] as { port: number }).port);
    clients.push(consumer);
    consumer.send('SUBSCRIBE', { id: 's', destination: '/queue/fenced' });
    expect((await consumer.next('MESSAGE')).body.toString()).to.equal('stored');
  });

  it('a broker whose lease has gone stale writes nothing: the SEND gets no RECEIPT', async () => {
    const lock = new ScriptedLock();
    broker = createBroker(config({ mode: 'durability' }), { lock, logger: createLogger({ level: 'silent' }) });
    const starting = broker.start();
    await until('the broker to contend for the lock', () => lock.contending);
    lock.grant();
    const addresses = await starting;
    const client = await Client.open(addresses.stomp.port);
    clients.push(client);
    // The lease ran out by this broker's clock, and nobody has told the controller yet.
    lock.held = false;
    client.send('SEND', { destination: '/queue/stale', persistent: 'true', receipt: 'refused' }, 'never confirmed');
    const error = await client.next('ERROR');
    expect(header(error, 'code')).to.equal('TANDEM_ERR_FENCED');
    expect(header(error, 'receipt-id')).to.equal('refused');
    expect(client.frames.some((f) => f.command === 'RECEIPT')).to.equal(false);
  });

  it('with ha.enabled false takes no lock and is active at once, at epoch 0', async () => {
    const base = config();
    const addresses = await start(new LogLines(), { ha: { ...base.ha, enabled: false } });
    expect(addresses.stomp.port).to.be.greaterThan(0);
    expect(broker!.status()).to.include({ role: 'active', epoch: 0 });
    expect(existsSync(join(base.dataDir, 'tandem.lock'))).to.equal(false);
    expect(await getReply(addresses.admin.port, '/health')).to.deep.equal({ status: 200, body: { status: 'ok', role: 'active' } });
  });
});
