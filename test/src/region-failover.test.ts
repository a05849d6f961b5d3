// FAILOVER with the primary killed: the link is cut first (a relay that refuses from then on), so
// the primary holds an unreplicated tail of receipted messages when it dies. The replica becomes
// primary at once: every message up to the recorded RPO position is there. The old primary, when
// it comes back, never serves: it rejoins as a replica, moves exactly the unreplicated messages to
// its quarantine folder, and catches up from the new primary byte for byte.
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { decodeRecord, journalFormat, type JournalRecord } from '@tandem-mq/shared-store';
import { FailoverClient } from '@tandem-mq/failover-client';
import { trackCloser } from './harness/cleanup-registry.js';
import { uniqueName } from './harness/names.js';
import { RawSocket } from './harness/raw-socket.js';
import { journalDifference, TcpRelay } from './harness/replication.js';
import { PRIMARY, REPLICA, regionTests } from './harness/region.js';
import { StompitSession } from './harness/stompit-client.js';
import { waitFor } from './harness/wait.js';
import { encodeFrame } from './wire/frame-codec.js';

const BODY = 'x'.repeat(1000);

/** The message-add records of a quarantine folder, read with the storage engine's codec. */
function quarantinedMessages(folder: string): JournalRecord[] {
  const manifest = JSON.parse(fs.readFileSync(path.join(folder, 'manifest.json'), 'utf8')) as { files: Array<{ file: string; fromOffset: number }> };
  const out: JournalRecord[] = [];
  for (const entry of manifest.files) {
    const bytes = fs.readFileSync(path.join(folder, entry.file));
    // A whole segment starts with its header; a tail starts at a record.
    let at = entry.fromOffset === 0 ? journalFormat.SEGMENT_HEADER_SIZE : 0;
    while (at + journalFormat.RECORD_HEADER_SIZE <= bytes.length) {
      const length = bytes.readUInt32BE(at);
      const type = bytes[at + 8]!;
      if (length === 0 && type === 0) break; // preallocated zeros
      const end = at + journalFormat.RECORD_HEADER_SIZE + length;
      out.push(decodeRecord(type, bytes, at + journalFormat.RECORD_HEADER_SIZE, end));
      at = end;
    }
  }
  return out.filter((r) => r.type === 'message-add');
}

describe('regions: FAILOVER with the primary killed, and its rejoin with a quarantine', function () {
  this.timeout(120000);
  const regions = regionTests();
  const relays: TcpRelay[] = [];

  afterEach(function () {
    for (const r of relays.splice(0)) r.close();
  });

  it('keeps everything up to the RPO, quarantines exactly the unreplicated tail, and the old primary never serves again', async function () {
    const topology = await regions.create(1);
    const [a] = topology.primary.members;
    const [b] = topology.replica.members;
    await b!.start();
    const relay = await TcpRelay.start(b!.ports.replication);
    relays.push(relay);
    await a!.start({ linkPorts: [relay.port] });
    const queue = `/queue/${uniqueName('failover')}`;

    // Load through the failover client, every send receipted.
    const producer = new FailoverClient(topology.failoverUri());
    trackCloser(() => void producer.close());
    await producer.connect();
    expect(producer.endpoint).to.equal(a!.endpoint);
    const send = async (from: number, count: number): Promise<void> => {
      for (let i = from; i < from + count; i += 10) {
        await Promise.all(Array.from({ length: Math.min(10, from + count - i) }, (_, k) => producer.send(queue, BODY, { headers: { 'x-index': String(i + k) } })));
      }
    };
    await send(0, 150);
    const replicated = await a!.waitForView('everything replicated', (v) => v.state === 'shipping' && v.lag.bytes === 0);

    // The link goes down for good; the primary keeps confirming sends: an unreplicated tail.
    relay.block();
    await a!.waitForView('the link down', (v) => !v.link.up);
    await send(150, 60);
    await producer.close();
    const behind = await a!.waitForView('the primary to see its lag', (v) => v.lag.bytes > 0);
    expect(behind.lag.records, 'the primary reports records behind').to.be.greaterThan(0);
    await a!.broker.kill();

    const promoted = await b!.promote('FAILOVER');
    expect(promoted.status, JSON.stringify(promoted.body)).to.equal(200);
    const rpo = promoted.body['rpo'] as { position: { journalOffset: number }; time: string | null; lostUnknown: boolean };
    expect(promoted.body).to.include({ mode: 'FAILOVER', region: REPLICA, generation: 2 });
    expect(rpo.position.journalOffset, 'the RPO is where replication stopped').to.equal(replicated.position!.journalOffset);
    process.stdout.write(`      failover took ${String(promoted.body['tookMs'])} ms (printed, not asserted)\n`);
    expect(rpo.lostUnknown, 'no link: what the old primary held beyond is unknown here').to.equal(true);
    expect(Date.parse(rpo.time!)).to.be.a('number').and.to.be.at.most(Date.now());
    const newPrimary = await b!.view();
    expect(newPrimary).to.include({ role: 'primary', generation: 2 });
    const opened = b!.logs().filter((e) => e['event'] === 'journal.recovered');
    expect(opened, 'the replica opened its store once, at the promotion').to.have.length(1);
    expect(opened[0], 'on the state it kept current as the journal arrived').to.have.property('resumedAt');
    expect(opened[0]!['records'], 'records read at the promotion').to.be.below(5);
    expect(newPrimary.history.map((h) => h.mode)).to.deep.equal(['FAILOVER']);

    // Every message up to the RPO is on the new primary, and nothing after it.
    const consumer = await StompitSession.connect(b!.ports.stomp);
    const subscription = await consumer.subscribe(queue, { ack: 'auto' });
    const got = await subscription.inbox.take(150);
    expect(got.map((m) => Number(m.headers['x-index']))).to.deep.equal(Array.from({ length: 150 }, (_, i) => i));
    await consumer.disconnect();

    // The old primary comes back: the counterpart says it was replaced, so it rejoins as a replica.
    relay.unblock();
    const since = Date.now();
    const restarted = await a!.start({ linkPorts: [relay.port] });
    const rejoined = await a!.waitForView('a replica at generation 2', (v) => v.role === 'replica' && v.generation === 2);
    expect(rejoined.history.map((h) => h.generation)).to.deep.equal([2]);
    expect(restarted.logs().some((e) => e['event'] === 'journal.recovered' && Number(e['time']) >= since), 'it never opened its store as primary').to.equal(false);
    const raw = await RawSocket.open(a!.ports.stomp);
    raw.write(encodeFrame('CONNECT', { 'accept-version': '1.2', host: 'localhost' }));
    const refusal = await raw.nextFrame();
    expect(refusal.command).to.equal('ERROR');
    expect(refusal.headers['code']).to.equal('TANDEM_ERR_REPLICA');
    expect(refusal.headers['message']).to.contain(REPLICA).and.to.contain(b!.endpoint);

    // The quarantine holds exactly the messages receipted after the RPO.
    expect(rejoined.quarantine).to.have.length(1);
    const folder = rejoined.quarantine[0]!.folder;
    expect(folder.startsWith(path.join(topology.primary.dataDir, 'quarantine'))).to.equal(true);
    const tail = quarantinedMessages(folder);
    const indexes = tail.map((r) => (r.type === 'message-add' ? Number(r.message.headers['x-index']) : -1));
    expect(indexes).to.deep.equal(Array.from({ length: 60 }, (_, i) => 150 + i));
    expect(rejoined.quarantine[0]!.records).to.be.at.least(60);
    expect(restarted.logs().some((e) => e['event'] === 'replication.quarantined')).to.equal(true);

    // It catches up from the new primary: byte-identical to the new primary's journal.
    const after = await StompitSession.connect(b!.ports.stomp);
    await after.send(queue, Buffer.from('after'), { persistent: 'true', 'x-index': 'after' });
    await after.disconnect();
    await waitFor(
      `the old primary to hold the new primary's journal (${journalDifference(topology.replica.dataDir, topology.primary.dataDir) ?? 'matching'})`,
      () => journalDifference(topology.replica.dataDir, topology.primary.dataDir) === undefined,
      20000,
    );
    await b!.waitForView('shipping to the old primary', (v) => v.state === 'shipping' && v.lag.bytes === 0);
    expect(PRIMARY).to.equal(topology.primary.name);
  });
});
