// Cross-region replication between real processes: a broker writing its journal, the replicator
// shipping it, the receiver writing the replica. The replica's segments end byte-identical to the
// primary's through a link cut mid-segment, kill -9 of either side, a flipped byte on the wire and
// the primary reclaiming segments; a wrong token is refused; and the replica opens as a store
// holding every message the primary confirmed.
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { openFileStore } from '@tandem-mq/shared-store';
import { BrokerProcess } from './harness/broker-process.js';
import { makeTempDir, removeTempDir } from './harness/cleanup-registry.js';
import { useBrokerCleanup } from './harness/suite.js';
import { StompitSession } from './harness/stompit-client.js';
import { selfSignedCertificate } from './harness/certificate.js';
import { uniqueName } from './harness/names.js';
import { waitFor, sleep } from './harness/wait.js';
import {
  ReplicationProcess,
  TcpRelay,
  copySegments,
  journalDifference,
  produceNumbered,
  segmentFiles,
  waitForSameJournal,
  type ReplicationState,
} from './harness/replication.js';

const TOKEN = 'replication-token-for-tests';
const SEGMENT_SIZE = 64 * 1024;
const BODY = Buffer.alloc(1024, 'x');

describe('cross-region replication link', function () {
  this.timeout(90000);
  const brokers = useBrokerCleanup();
  const processes: ReplicationProcess[] = [];
  const relays: TcpRelay[] = [];
  const dirs: string[] = [];

  afterEach(async function () {
    const failed = this.currentTest?.state === 'failed';
    for (const p of processes.splice(0)) {
      if (failed) process.stderr.write(`\n${p.tail()}\n`);
      await p.kill();
    }
    for (const r of relays.splice(0)) r.close();
    for (const d of dirs.splice(0)) removeTempDir(d);
  });

  async function primary(reclaimIntervalMs = 60_000): Promise<BrokerProcess> {
    const broker = await BrokerProcess.start({ config: { mode: 'durability', journal: { segmentSize: SEGMENT_SIZE, reclaimIntervalMs } } });
    brokers.add(broker);
    return broker;
  }

  function tempDir(prefix: string): string {
    const dir = makeTempDir(prefix);
    dirs.push(dir);
    return dir;
  }

  async function receiver(replicaDir: string, link: Record<string, unknown> = {}): Promise<ReplicationProcess> {
    const p = await ReplicationProcess.start('receiver', {
      dataDir: replicaDir,
      link: { host: '127.0.0.1', port: 0, token: TOKEN, ...link },
      admin: { host: '127.0.0.1', port: 0 },
      primaryEndpoints: ['stomp://127.0.0.1:61613'],
    }, tempDir('receiver-config'));
    processes.push(p);
    return p;
  }

  async function replicator(dataDir: string, url: string, link: Record<string, unknown> = {}): Promise<ReplicationProcess> {
    const p = await ReplicationProcess.start('replicator', {
      dataDir,
      link: { url, token: TOKEN, pollIntervalMs: 5, reconnect: { initialMs: 50, maxMs: 500 }, ...link },
      admin: { host: '127.0.0.1', port: 0 },
    }, tempDir('replicator-config'));
    processes.push(p);
    return p;
  }

  async function relayTo(port: number): Promise<TcpRelay> {
    const relay = await TcpRelay.start(port);
    relays.push(relay);
    return relay;
  }

  const produce = (broker: BrokerProcess, queue: string, from: number, count: number): Promise<void> => produceNumbered(broker.ports.stomp, queue, from, count, BODY);
  const caughtUp = (broker: BrokerProcess, replicaDir: string, timeoutMs?: number): Promise<void> => waitForSameJournal(broker.dataDir, replicaDir, timeoutMs);

  /** Stops the broker (its head segment is cut to its last record) and waits for a byte-identical replica. */
  async function stopAndMatchExactly(broker: BrokerProcess, replicaDir: string): Promise<void> {
    expect((await broker.stop()).code, broker.tail()).to.equal(0);
    await waitFor('a byte-identical replica', () => journalDifference(broker.dataDir, replicaDir, true) === undefined, 20000);
    const p = segmentFiles(broker.dataDir);
    const r = segmentFiles(replicaDir);
    expect([...r.keys()]).to.deep.equal([...p.keys()]);
    for (const [name, bytes] of p) expect(r.get(name)!.equals(bytes), name).to.equal(true);
  }

  /** Waits until the receiver has part of a later segment: the link is then cut mid-segment. */
  async function midSegment(receiverProcess: ReplicationProcess): Promise<ReplicationState['position']> {
    return waitFor('the replica to be inside its second segment or later', async () => {
      const { position } = await receiverProcess.state();
      return position.segment > 0 && position.offset > 2048 && position.offset < SEGMENT_SIZE - 2048 ? position : undefined;
    }, 20000, 5);
  }

  function totalBytes(dir: string): number {
    return [...segmentFiles(dir).values()].reduce((n, b) => n + b.length, 0);
  }

  it('resumes a link cut mid-segment with no gap and no duplicate, and the replica recovers every confirmed message', async function () {
    const broker = await primary();
    const replicaDir = tempDir('replica');
    const rx = await receiver(replicaDir);
    const relay = await relayTo(rx.linkPort);
    const tx = await replicator(broker.dataDir, `ws://127.0.0.1:${relay.port}/replication`);
    const queue = `/queue/${uniqueName('replicated')}`;

    const producing = produce(broker, queue, 0, 300);
    const at = await midSegment(rx);
    relay.cut();
    await producing;
    await caughtUp(broker, replicaDir);

    const state = await rx.state();
    expect(state.stats['linksAccepted'], 'the link came back').to.be.at.least(2);
    expect(state.stats['gapsDetected']).to.equal(0);
    expect(state.stats['duplicatesIgnored']).to.equal(0);
    expect(state.stats['crcFailures']).to.equal(0);
    expect(state.stats['bytesApplied'], 'every byte written once').to.equal(totalBytes(replicaDir));
    expect(state.position.journalOffset).to.be.greaterThan(at.journalOffset);
    expect((await tx.state()).stats['linksOpened']).to.be.at.least(2);
    await waitFor('no lag at the replicator', async () => (await tx.state()).lag.bytes === 0, 5000);
    expect((await tx.state()).lag).to.deep.equal({ records: 0, bytes: 0, seconds: 0 });
    await waitFor('no lag at the receiver', async () => /^tandem_replication_lag_bytes\{role="replica"\} 0$/m.test(await rx.metrics()), 5000);

    await stopAndMatchExactly(broker, replicaDir);
    expect((await tx.stop()).code, 'SIGTERM stops the replicator cleanly').to.equal(0);
    expect((await rx.stop()).code, 'SIGTERM stops the receiver cleanly').to.equal(0);
    expect(fs.existsSync(path.join(replicaDir, 'tandem.lock')), 'the receiver released the directory lock').to.equal(false);

    // The replica opens as a store: every message the primary confirmed is there.
    const copy = copySegments(replicaDir);
    dirs.push(copy);
    const { store, recovered } = await openFileStore({ dir: copy, mode: 'durability', segmentSize: SEGMENT_SIZE });
    try {
      const messages = recovered.queues.get(queue) ?? [];
      expect(messages.map((m) => Number(m.headers['x-index']))).to.deep.equal(Array.from({ length: 300 }, (_, i) => i));
      expect(messages.every((m) => m.body.equals(BODY))).to.equal(true);
    } finally {
      await store.close();
    }
  });

  it('resumes from the durable position after kill -9 of the receiver and then of the replicator', async function () {
    const broker = await primary();
    const replicaDir = tempDir('replica');
    let rx = await receiver(replicaDir);
    const relay = await relayTo(rx.linkPort);
    let tx = await replicator(broker.dataDir, `ws://127.0.0.1:${relay.port}/replication`);
    const queue = `/queue/${uniqueName('crash')}`;

    const producing = produce(broker, queue, 0, 400);
    await midSegment(rx);
    await rx.kill();
    rx = await rx.restart();
    processes.push(rx);
    relay.retarget(rx.linkPort);
    const opened = await rx.waitForLog('replication.replica-opened', (e) => e['event'] === 'replication.replica-opened');
    await waitFor('the link back up', async () => (await rx.state()).state === 'streaming', 20000);

    await sleep(100);
    await tx.kill();
    tx = await tx.restart();
    processes.push(tx);
    await producing;
    await caughtUp(broker, replicaDir);

    const state = await rx.state();
    expect(state.stats['gapsDetected']).to.equal(0);
    expect(state.stats['duplicatesIgnored']).to.equal(0);
    expect(state.stats['linksAccepted'], 'a link before and after the replicator restarted').to.be.at.least(2);
    expect(state.stats['bytesAtOpen'], `the restarted receiver kept what was durable (${String(opened['position'])})`).to.be.greaterThan(0);
    expect(state.stats['bytesAtOpen']! + state.stats['bytesApplied']!, 'no byte written twice since the restart').to.equal(totalBytes(replicaDir));
    await stopAndMatchExactly(broker, replicaDir);
  });

  it('follows the primary through its own kill -9 and restart', async function () {
    const broker = await primary();
    const replicaDir = tempDir('replica');
    const rx = await receiver(replicaDir);
    await replicator(broker.dataDir, `ws://127.0.0.1:${rx.linkPort}/replication`);
    const queue = `/queue/${uniqueName('primary-crash')}`;
    await produce(broker, queue, 0, 100);
    await caughtUp(broker, replicaDir);
    await broker.kill();
    const restarted = await broker.restart();
    brokers.add(restarted);
    await produce(restarted, queue, 100, 100);
    await caughtUp(restarted, replicaDir);
    const state = await rx.state();
    expect(state.stats['gapsDetected']).to.equal(0);
    expect(state.stats['crcFailures']).to.equal(0);
    expect(state.stats['bytesApplied']).to.equal(totalBytes(replicaDir));
    await stopAndMatchExactly(restarted, replicaDir);
    const copy = copySegments(replicaDir);
    dirs.push(copy);
    const { store, recovered } = await openFileStore({ dir: copy, mode: 'durability', segmentSize: SEGMENT_SIZE });
    try {
      expect((recovered.queues.get(queue) ?? []).length).to.equal(200);
    } finally {
      await store.close();
    }
  });

  it('detects a byte flipped on the link, asks again, and ends byte-identical', async function () {
    const broker = await primary();
    const replicaDir = tempDir('replica');
    const rx = await receiver(replicaDir);
    const relay = await relayTo(rx.linkPort);
    const tx = await replicator(broker.dataDir, `ws://127.0.0.1:${relay.port}/replication`);
    await waitFor('the link up', async () => (await rx.state()).state === 'streaming', 20000);
    relay.flipOnce();
    await produce(broker, `/queue/${uniqueName('flip')}`, 0, 100);
    await caughtUp(broker, replicaDir);

    expect(relay.flipped, 'the relay flipped one bit').to.equal(1);
    const state = await rx.state();
    expect(state.stats['crcFailures']).to.equal(1);
    expect(state.stats['resendsRequested']).to.equal(1);
    expect(state.stats['gapsDetected']).to.equal(0);
    expect(state.stats['bytesApplied']).to.equal(totalBytes(replicaDir));
    const sent = await tx.state();
    expect(sent.stats['resendsServed']).to.equal(1);
    expect(sent.stats['resendsFromWindow'], 'served from the unacknowledged window').to.equal(1);
    expect(rx.logs().some((e) => e['event'] === 'replication.batch-corrupt')).to.equal(true);
    await stopAndMatchExactly(broker, replicaDir);
  });

  it('refuses a wrong token with TANDEM_ERR_REPLICATION_AUTH and writes nothing', async function () {
    const broker = await primary();
    await produce(broker, `/queue/${uniqueName('refused')}`, 0, 5);
    const replicaDir = tempDir('replica');
    const rx = await receiver(replicaDir);
    const tx = await replicator(broker.dataDir, `ws://127.0.0.1:${rx.linkPort}/replication`, { token: 'not-the-token' });
    const status = await tx.exited;
    expect(status.code, tx.tail()).to.equal(1);
    const refused = await tx.waitForLog('replication.refused', (e) => e['event'] === 'replication.refused');
    expect(refused['code']).to.equal('TANDEM_ERR_REPLICATION_AUTH');
    await rx.waitForLog('replication.auth-refused', (e) => e['event'] === 'replication.auth-refused');
    const state = await rx.state();
    expect(state.stats['refusedAuth']).to.equal(1);
    expect(state.stats['linksAccepted']).to.equal(0);
    expect(segmentFiles(replicaDir).size).to.equal(0);
    expect(fs.existsSync(path.join(replicaDir, 'replication.cursor.json'))).to.equal(false);
  });

  it('deletes on the replica the segments the primary reclaims', async function () {
    const broker = await primary(200);
    const replicaDir = tempDir('replica');
    const rx = await receiver(replicaDir);
    await replicator(broker.dataDir, `ws://127.0.0.1:${rx.linkPort}/replication`);
    const queue = `/queue/${uniqueName('reclaimed')}`;
    await produce(broker, queue, 0, 200);
    const consumer = await StompitSession.connect(broker.ports.stomp);
    const subscription = await consumer.subscribe(queue, { ack: 'auto' });
    await subscription.inbox.take(200);
    await consumer.disconnect();
    // More traffic rolls the head on, so the consumed segments are finished and can go.
    await produce(broker, `/queue/${uniqueName('after')}`, 0, 80);
    await waitFor('the primary to reclaim its first segment', () => !segmentFiles(broker.dataDir).has('00000000000000000000.seg'), 20000);
    await caughtUp(broker, replicaDir);
    expect(segmentFiles(replicaDir).has('00000000000000000000.seg')).to.equal(false);
    expect((await rx.state()).stats['segmentsDeleted']).to.be.at.least(1);
    await stopAndMatchExactly(broker, replicaDir);
  });

  it('runs the link over TLS when configured', async function () {
    const broker = await primary();
    const certDir = tempDir('link-tls');
    const { cert, key } = selfSignedCertificate(certDir);
    const replicaDir = tempDir('replica');
    const rx = await receiver(replicaDir, { tls: { cert, key } });
    // A plaintext replicator cannot talk to it.
    const plain = await replicator(broker.dataDir, `ws://127.0.0.1:${rx.linkPort}/replication`);
    await waitFor('the plaintext replicator to fail to connect', () => plain.logs().some((e) => e['event'] === 'replication.link-error'), 10000);
    await plain.kill();
    await replicator(broker.dataDir, `wss://127.0.0.1:${rx.linkPort}/replication`, { tls: { ca: cert, servername: 'localhost' } });
    await produce(broker, `/queue/${uniqueName('tls')}`, 0, 30);
    await caughtUp(broker, replicaDir);
    expect((await rx.state()).stats['linksAccepted']).to.equal(1);
    await stopAndMatchExactly(broker, replicaDir);
  });
});
