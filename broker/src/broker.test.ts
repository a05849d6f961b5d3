// createBroker in-process with the real file store and core: start order and its log lines, a
// message through STOMP and into the admin API, persistence across a restart, and a failed start
// that leaves nothing open.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
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
}

function getJson(port: number, path: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString())));
    })
      .on('error', reject)
      .end();
  });
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
  afterEach(async () => {
    for (const client of clients.splice(0)) client.destroy();
    await broker?.stop();
    broker = undefined;
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
});
