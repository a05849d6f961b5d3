// The replica role, hosted by the brokers themselves: the primary region's active broker ships its
// journal to the replica region's active broker, which holds a byte copy, reports its lag, and
// refuses clients with an ERROR naming the primary's endpoints; the failover client given every
// endpoint of both regions ends up on the primary; and the replica region's standby takes over
// receiving after kill -9 of its active with nothing lost.
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { FailoverClient, type Message } from '@tandem-mq/failover-client';
import { makeTempDir, trackCloser } from './harness/cleanup-registry.js';
import { selfSignedCertificate } from './harness/certificate.js';
import { uniqueName } from './harness/names.js';
import { RawSocket } from './harness/raw-socket.js';
import { journalDifference, produceNumbered, waitForSameJournal } from './harness/replication.js';
import { PRIMARY, REPLICA, regionTests, type RegionMember } from './harness/region.js';
import { StompitSession } from './harness/stompit-client.js';
import { waitFor } from './harness/wait.js';
import { encodeFrame } from './wire/frame-codec.js';

const BODY = Buffer.alloc(1024, 'r');

describe('regions: the replica role hosted by the brokers', function () {
  this.timeout(90000);
  const regions = regionTests();

  const produce = (member: RegionMember, queue: string, from: number, count: number): Promise<void> => produceNumbered(member.ports.stomp, queue, from, count, BODY);
  const caughtUp = waitForSameJournal;

  it('ships to the replica broker, reports lag on both sides, refuses clients there and sends the failover client to the primary', async function () {
    const topology = await regions.create(1);
    const [a] = topology.primary.members;
    const [b] = topology.replica.members;
    await b!.start();
    await a!.start();
    const queue = `/queue/${uniqueName('regions')}`;
    await produce(a!, queue, 0, 200);
    await caughtUp(topology.primary.dataDir, topology.replica.dataDir);

    const primaryView = await a!.waitForView('no lag and shipping', (v) => v.state === 'shipping' && v.lag.bytes === 0);
    expect(primaryView).to.include({ region: PRIMARY, role: 'primary', generation: 1 });
    expect(primaryView.link.up).to.equal(true);
    const replicaView = await b!.waitForView('receiving with no lag', (v) => v.state === 'receiving' && v.lag.bytes === 0);
    expect(replicaView).to.include({ region: REPLICA, role: 'replica', generation: 1 });
    expect(replicaView.position!.journalOffset).to.equal(primaryView.position!.journalOffset);
    expect(replicaView.history).to.deep.equal([]);
    expect(fs.existsSync(path.join(topology.replica.dataDir, 'region.json'))).to.equal(true);
    for (const member of [a!, b!]) {
      const metrics = await member.metrics();
      expect(metrics, member.name).to.match(/^tandem_replication_lag_seconds\{role="(primary|replica)"\} /m);
      expect(metrics, member.name).to.match(/^tandem_replication_link_up\{role="(primary|replica)"\} 1$/m);
      expect(metrics, member.name).to.match(/^tandem_region_generation 1$/m);
    }
    const health = await fetch(`http://127.0.0.1:${b!.ports.admin}/health`);
    expect(health.status, 'a receiving replica is healthy').to.equal(200);
    expect(((await health.json()) as { region: { role: string } }).region.role).to.equal('replica');
    const destinations = await fetch(`http://127.0.0.1:${b!.ports.admin}/destinations`);
    expect(destinations.status, 'a replica holds no destinations it serves').to.equal(503);
    expect(((await destinations.json()) as { error: { message: string } }).error.message).to.contain('replica').and.to.contain('serves no clients');

    // A STOMP client at the replica gets one ERROR naming the primary region and its endpoints.
    const raw = await RawSocket.open(b!.ports.stomp);
    raw.write(encodeFrame('CONNECT', { 'accept-version': '1.2', host: 'localhost' }));
    const error = await raw.nextFrame();
    expect(error.command).to.equal('ERROR');
    expect(error.headers['code']).to.equal('TANDEM_ERR_REPLICA');
    expect(error.headers['message']).to.contain(`replica of region ${PRIMARY}`).and.to.contain(a!.endpoint);
    expect(await raw.waitClosed(5000), 'the replica closes the connection').to.equal(true);

    // The failover client with the replica region listed first still ends up on the primary.
    const uri = `failover:(${b!.endpoint},${a!.endpoint})?randomize=false&initialReconnectDelay=50&maxReconnectDelay=200`;
    const client = new FailoverClient(uri);
    trackCloser(() => void client.close());
    await client.connect();
    expect(client.endpoint).to.equal(a!.endpoint);
    const received: string[] = [];
    await client.subscribe(queue, (m: Message) => void received.push(m.headers['x-index'] ?? ''), { ack: 'auto' });
    await waitFor('the 200 messages from the primary', () => received.length === 200, 20000);
    await client.close();
    expect(received.map(Number)).to.deep.equal(Array.from({ length: 200 }, (_, i) => i));
  });

  it('refuses a switchover with TANDEM_ERR_PROMOTE_NO_LINK while no primary is connected, and promotion on the primary', async function () {
    const topology = await regions.create(1);
    const [a] = topology.primary.members;
    const [b] = topology.replica.members;
    await b!.start();
    const refused = await b!.promote('SWITCHOVER');
    expect(refused.status).to.equal(409);
    expect((refused.body['error'] as { code: string }).code).to.equal('TANDEM_ERR_PROMOTE_NO_LINK');
    const bad = await b!.promote('SIDEWAYS');
    expect(bad.status).to.equal(400);
    expect((bad.body['error'] as { code: string }).code).to.equal('TANDEM_ERR_PROMOTE_MODE');
    await a!.start();
    const onPrimary = await a!.promote('FAILOVER');
    expect(onPrimary.status).to.equal(409);
    expect((onPrimary.body['error'] as { code: string }).code).to.equal('TANDEM_ERR_PROMOTE_NOT_REPLICA');
    expect((await b!.view()).role, 'nothing changed').to.equal('replica');
  });

  it('runs the brokers\' link over TLS when replication.tls is set, and a switchover then promotes over it', async function () {
    const certDir = makeTempDir('region-tls');
    const { cert, key } = selfSignedCertificate(certDir);
    const topology = await regions.create(1, 256 * 1024, { cert, key });
    const [a] = topology.primary.members;
    const [b] = topology.replica.members;
    await b!.start();
    await a!.start();
    expect(a!.link.startsWith('wss://')).to.equal(true);
    const queue = `/queue/${uniqueName('tls')}`;
    await produce(a!, queue, 0, 40);
    await caughtUp(topology.primary.dataDir, topology.replica.dataDir);
    expect((await a!.waitForView('shipping over wss', (v) => v.state === 'shipping' && v.lag.bytes === 0)).link.up).to.equal(true);
    // A plaintext connection to the TLS endpoint is no link.
    const plain = await fetch(`http://127.0.0.1:${b!.ports.replication}/replication`).then(
      (r) => r.status,
      () => 'refused',
    );
    expect(plain).to.not.equal(101);

    const promoted = await b!.promote('SWITCHOVER');
    expect(promoted.status, JSON.stringify(promoted.body)).to.equal(200);
    await a!.waitForView('the old primary receiving over wss', (v) => v.role === 'replica' && v.state === 'receiving');
    const consumer = await StompitSession.connect(b!.ports.stomp);
    const subscription = await consumer.subscribe(queue, { ack: 'auto' });
    const got = await subscription.inbox.take(40);
    expect(got.map((m) => Number(m.headers['x-index']))).to.deep.equal(Array.from({ length: 40 }, (_, i) => i));
    await consumer.disconnect();
  });

  it("keeps receiving through kill -9 of the replica region's active: its standby takes over, nothing lost", async function () {
    const topology = await regions.create(2);
    const [a1, a2] = topology.primary.members;
    const [b1, b2] = topology.replica.members;
    await b1!.start();
    await b2!.start();
    await a1!.start();
    await a2!.start();
    const queue = `/queue/${uniqueName('standby-takes-over')}`;
    await produce(a1!, queue, 0, 100);
    await b1!.waitForView('receiving', (v) => v.state === 'receiving');
    const producing = produce(a1!, queue, 100, 300);
    await b1!.broker.kill();
    await b2!.broker.waitForLog('b2 receiving', (e) => e['event'] === 'replication.link-up', 20000);
    await producing;
    await caughtUp(topology.primary.dataDir, topology.replica.dataDir);
    const view = await b2!.waitForView('receiving with no lag', (v) => v.state === 'receiving' && v.lag.bytes === 0);
    expect(view.role).to.equal('replica');
    const standby = await a2!.view();
    expect(standby.state, "the primary region's standby ships nothing").to.equal('standby');
    // Byte-identical once the primary stops cleanly (its head segment is cut to its last record);
    // its standby goes first, so that it does not take over and write on.
    expect((await a2!.broker.stop()).code).to.equal(0);
    expect((await a1!.broker.stop()).code).to.equal(0);
    await waitFor('a byte-identical replica', () => journalDifference(topology.primary.dataDir, topology.replica.dataDir, true) === undefined, 20000);
  });
});
