// The failover client against a real broker process that is killed with SIGKILL mid-stream and
// restarted on the same ports and data dir: unconfirmed sends are resent without duplicates, every
// receipted message arrives, nothing comes again after a confirmed ACK, subscriptions (durable ones
// too) resume, status events come in order, and an open transaction fails with a clear code.
import { expect } from 'chai';
import net from 'node:net';
import { FailoverClient, FailoverClientError, type ClientOptions, type Message, type Status } from '@tandem-mq/failover-client';
import { adminRequest, type DestinationRow } from './harness/admin-client.js';
import { BrokerProcess } from './harness/broker-process.js';
import { trackCloser } from './harness/cleanup-registry.js';
import { AckLedger } from './harness/ack-ledger.js';
import { useBrokerCleanup } from './harness/suite.js';
import { sleep, waitFor } from './harness/wait.js';
import { uniqueName } from './harness/names.js';

/** A port nothing listens on: bound for a moment by this process, then released. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A TCP relay to the broker that can swallow what the broker says (so a SEND is stored but its
 * RECEIPT never reaches the client) and cut every connection, like a network failure.
 */
class Relay {
  swallow = false;
  private readonly sockets = new Set<net.Socket>();
  private constructor(
    private readonly server: net.Server,
    public target: number,
  ) {}

  static async start(target: number): Promise<Relay> {
    const server = net.createServer();
    const relay = new Relay(server, target);
    server.on('connection', (client) => relay.accept(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    trackCloser(() => relay.close());
    return relay;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  cut(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  close(): void {
    this.cut();
    this.server.close();
  }

  private accept(client: net.Socket): void {
    const upstream = net.connect(this.target, '127.0.0.1');
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        this.sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk) => {
      if (!this.swallow) client.write(chunk);
    });
  }
}

/** Status types with repeated 'reconnecting' runs folded, for order checks. */
function statusPath(statuses: Status[]): string[] {
  const path: string[] = [];
  for (const status of statuses) if (path.at(-1) !== status.type || status.type !== 'reconnecting') path.push(status.type);
  return path;
}

describe('failover client against a broker killed with SIGKILL and restarted', function () {
  this.timeout(60000);
  const started = useBrokerCleanup();

  async function startBroker(): Promise<BrokerProcess> {
    const broker = await BrokerProcess.start();
    started.add(broker);
    return broker;
  }

  /** kill -9 (a no-op if the test already did it), a pause with nothing listening, then a new process on the same ports and data. */
  async function crashAndRestart(broker: BrokerProcess, downMs = 300): Promise<BrokerProcess> {
    await broker.kill();
    await sleep(downMs);
    const { stomp, websocket, admin } = broker.ports;
    const restarted = await broker.restart({
      config: { stomp: { host: '127.0.0.1', port: stomp }, websocket: { host: '127.0.0.1', port: websocket ?? 0 }, admin: { host: '127.0.0.1', port: admin } },
    });
    started.add(restarted);
    return restarted;
  }

  function client(uri: string, options: ClientOptions = {}): { c: FailoverClient; statuses: Status[] } {
    const c = new FailoverClient(uri, options);
    const statuses: Status[] = [];
    c.onStatus((s) => statuses.push(s));
    trackCloser(() => void c.close());
    return { c, statuses };
  }

  it('resends unconfirmed sends, delivers every receipted message, none again after its ACK, and resumes the subscription', async function () {
    const broker = await startBroker();
    const dead = await closedPort();
    const queue = `/queue/${uniqueName('failover')}`;
    const options = 'randomize=false&initialReconnectDelay=50&maxReconnectDelay=400';
    // The producer over STOMP/TCP, the consumer over STOMP/WebSocket; each list starts with a closed port.
    const producer = client(`failover:(stomp://127.0.0.1:${dead},stomp://127.0.0.1:${broker.ports.stomp})?${options}`);
    const consumer = client(`failover:(ws://127.0.0.1:${dead},ws://127.0.0.1:${broker.ports.websocket})?${options}`, { clientId: uniqueName('consumer') });
    await producer.c.connect();
    await consumer.c.connect();
    expect(producer.c.endpoint).to.equal(`stomp://127.0.0.1:${broker.ports.stomp}`);
    expect(consumer.c.endpoint).to.equal(`ws://127.0.0.1:${broker.ports.websocket}/`);

    const failures: unknown[] = [];
    const ledger = await AckLedger.subscribe(consumer.c, queue, { onAckFailure: (_body, error) => failures.push(error) });

    const total = 400;
    const receipted = new Set<string>();
    let next = 0;
    // Eight sends in flight at all times, so some are always unconfirmed when the broker dies.
    const lane = async (): Promise<void> => {
      while (next < total) {
        const body = `m-${next++}`;
        try {
          await producer.c.send(queue, body);
          receipted.add(body);
        } catch (error) {
          failures.push(error);
        }
      }
    };
    const lanes = Array.from({ length: 8 }, () => lane());
    await waitFor('100 receipts', () => receipted.size >= 100, 20000);
    const restarted = await crashAndRestart(broker);
    const unconfirmedAtCrash = next - receipted.size;
    await Promise.all(lanes);
    expect(failures, 'no send may fail: unconfirmed ones are resent').to.deep.equal([]);
    expect(receipted.size).to.equal(total);
    expect(unconfirmedAtCrash, 'sends were in flight when the broker died').to.be.greaterThan(0);

    const drained = async (): Promise<boolean> => {
      if (ledger.unsettled > 0 || [...receipted].some((body) => !ledger.deliveries.has(body))) return false;
      const rows = (await adminRequest(restarted.ports.admin, '/destinations')).json<{ destinations: DestinationRow[] }>().destinations;
      const row = rows.find((r) => r.destination === queue);
      return row !== undefined && row.depth === 0 && row.inFlight === 0;
    };
    await waitFor('every receipted message delivered and the queue drained', drained, 30000, 100);
    expect(failures, 'only in-doubt ACKs may fail').to.deep.equal([]);
    const missing = [...receipted].filter((body) => !ledger.deliveries.has(body));
    expect(missing, 'receipted but never delivered').to.deep.equal([]);
    const storedTwice = ledger.storedTwice();
    expect(storedTwice, 'a resend stored as a second message').to.deep.equal([]);
    const afterAck = ledger.afterAck();
    expect(afterAck, 'delivered again after a confirmed ACK').to.deep.equal([]);

    const port = restarted.ports.stomp;
    expect(statusPath(producer.statuses)).to.deep.equal(['connected', 'interrupted', 'reconnecting', 'resumed']);
    expect(producer.statuses.at(-1)).to.deep.equal({ type: 'resumed', from: `stomp://127.0.0.1:${port}`, to: `stomp://127.0.0.1:${port}` });
    expect(statusPath(consumer.statuses)).to.deep.equal(['connected', 'interrupted', 'reconnecting', 'resumed']);
  });

  it('keeps a durable topic subscription by name and client-id across the restart', async function () {
    const broker = await startBroker();
    const topic = `/topic/${uniqueName('durable')}`;
    const uri = `failover:(stomp://127.0.0.1:${broker.ports.stomp})?initialReconnectDelay=50&maxReconnectDelay=400`;
    const producer = client(uri);
    const consumer = client(uri, { clientId: uniqueName('durable-client') });
    await producer.c.connect();
    await consumer.c.connect();
    const received: string[] = [];
    await consumer.c.subscribe(topic, (m) => void m.ack().then(() => received.push(m.text())).catch(() => undefined), { durableName: 'orders', ack: 'client-individual' });
    await producer.c.send(topic, 'before');
    await waitFor('the first message', () => received.includes('before'), 10000);

    await broker.kill();
    // Sent while the broker is down: queued in the client, resent once it is back.
    const during = producer.c.send(topic, 'during');
    await sleep(300);
    const restarted = await crashAndRestart(broker, 0);
    await during;
    await producer.c.send(topic, 'after');
    await waitFor('both later messages', () => received.includes('during') && received.includes('after'), 15000);
    expect(received.filter((body) => body === 'during')).to.have.length(1);
    expect(statusPath(consumer.statuses)).to.deep.equal(['connected', 'interrupted', 'reconnecting', 'resumed']);
    expect(restarted.alive).to.equal(true);
  });

  it('fails an open transaction with TANDEM_ERR_TRANSACTION_ROLLED_BACK; the retried one commits once', async function () {
    const broker = await startBroker();
    const queue = `/queue/${uniqueName('tx')}`;
    const uri = `failover:(stomp://127.0.0.1:${broker.ports.stomp})?initialReconnectDelay=50&maxReconnectDelay=400`;
    const { c, statuses } = client(uri);
    await c.connect();
    const tx = await c.begin();
    await tx.send(queue, 'in-tx');
    await crashAndRestart(broker);
    await waitFor('resumed', () => statuses.some((s) => s.type === 'resumed'), 15000);
    let caught: unknown;
    try {
      await tx.commit();
    } catch (error) {
      caught = error;
    }
    expect(caught).to.be.instanceOf(FailoverClientError);
    expect((caught as FailoverClientError).code).to.equal('TANDEM_ERR_TRANSACTION_ROLLED_BACK');

    const retry = await c.begin();
    await retry.send(queue, 'in-tx');
    await retry.commit();
    const received: string[] = [];
    await c.subscribe(queue, (m) => void received.push(m.text()));
    await waitFor('the committed message', () => received.length >= 1, 10000);
    await sleep(200);
    expect(received).to.deep.equal(['in-tx']);
  });

  it('drops an ACK for a message of the dead connection; the message comes again flagged redelivered', async function () {
    const broker = await startBroker();
    const queue = `/queue/${uniqueName('redelivery')}`;
    const { c, statuses } = client(`failover:(stomp://127.0.0.1:${broker.ports.stomp})?initialReconnectDelay=50&maxReconnectDelay=400`);
    await c.connect();
    const received: Message[] = [];
    await c.subscribe(queue, (m) => void received.push(m), { ack: 'client-individual' });
    await c.send(queue, 'held');
    await waitFor('the delivery', () => received.length === 1, 10000);
    expect(received[0]!.redelivered).to.equal(false);
    await crashAndRestart(broker);
    await waitFor('resumed', () => statuses.some((s) => s.type === 'resumed'), 15000);
    let caught: unknown;
    try {
      await received[0]!.ack();
    } catch (error) {
      caught = error;
    }
    expect((caught as FailoverClientError).code).to.equal('TANDEM_ERR_DELIVERY_STALE');
    await waitFor('the redelivery', () => received.length === 2, 10000);
    expect(received[1]!.text()).to.equal('held');
    expect(received[1]!.messageId).to.equal(received[0]!.messageId);
    expect(received[1]!.redelivered, 'the broker flags a message delivered before the crash').to.equal(true);
    await received[1]!.ack();
  });

  async function depth(broker: BrokerProcess, destination: string): Promise<number> {
    const rows = (await adminRequest(broker.ports.admin, '/destinations')).json<{ destinations: DestinationRow[] }>().destinations;
    return rows.find((r) => r.destination === destination)?.depth ?? 0;
  }

  async function duplicatesDropped(broker: BrokerProcess): Promise<number> {
    const text = (await adminRequest(broker.ports.admin, '/metrics')).text;
    const line = text.split('\n').find((l) => l.startsWith('tandem_messages_duplicates_dropped_total'));
    return line === undefined ? NaN : Number(line.split(' ').at(-1));
  }

  async function drainBodies(broker: BrokerProcess, queue: string): Promise<string[]> {
    const reader = client(`stomp://127.0.0.1:${broker.ports.stomp}`);
    await reader.c.connect();
    const bodies: string[] = [];
    await reader.c.subscribe(queue, (m) => void bodies.push(m.text()));
    await waitFor('a message', () => bodies.length > 0, 10000);
    await sleep(300);
    await reader.c.close();
    return bodies;
  }

  for (const restart of [false, true]) {
    it(`resends a stored send whose receipt was lost; the broker drops the copy ${restart ? 'after a SIGKILL restart' : 'on the same broker'}`, async function () {
      let broker = await startBroker();
      const relay = await Relay.start(broker.ports.stomp);
      const queue = `/queue/${uniqueName('dedupe')}`;
      const { c, statuses } = client(`failover:(stomp://127.0.0.1:${relay.port})?initialReconnectDelay=50&maxReconnectDelay=400`);
      await c.connect();
      relay.swallow = true;
      let confirmed = false;
      const sending = c.send(queue, 'once').then(() => (confirmed = true));
      await waitFor('the message stored', async () => (await depth(broker, queue)) === 1, 10000);
      expect(confirmed, 'the receipt was swallowed').to.equal(false);
      if (restart) broker = await crashAndRestart(broker);
      relay.swallow = false;
      relay.cut();
      await sending;
      expect(statusPath(statuses)).to.deep.equal(['connected', 'interrupted', 'reconnecting', 'resumed']);
      expect(await duplicatesDropped(broker)).to.equal(1);
      expect(await drainBodies(broker, queue)).to.deep.equal(['once']);
    });
  }
});
