// Sender and receiver in one process over a real WebSocket on 127.0.0.1: the replica becomes a
// byte copy of a journal being written, a wrong token is refused before anything is written, a
// second sender waits as a spare, and both sides report lag.
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryDirectoryLock, MemoryLockDirectory, realTimers, segmentFileName, type StoredMessage } from '@tandem-mq/shared-store';
import { ReplicationReceiver, type ReceiverOptions } from './receiver.js';
import { ReplicationSender, type SenderOptions } from './sender.js';
import { segmentFiles, until } from './testing/journal-files.js';
import { linkFixture } from './testing/link-fixture.js';
import { startAdminServer, renderReplicationMetrics } from './admin.js';

function message(seq: number, size = 900): StoredMessage {
  return { seq, id: `m${seq}`, destination: '/queue/link', headers: {}, body: Buffer.alloc(size, seq % 255), priority: 4, expires: 0, timestamp: 1, targets: ['/queue/link'] };
}

/** Whether the replica holds exactly the primary's records (the primary's head may end in zeros). */
function sameJournal(primary: string, replica: string): boolean {
  const p = segmentFiles(primary);
  const r = segmentFiles(replica);
  if (p.size !== r.size) return false;
  for (const [name, bytes] of p) {
    const copy = r.get(name);
    if (copy === undefined || copy.length > bytes.length || !bytes.subarray(0, copy.length).equals(copy)) return false;
    if (bytes.subarray(copy.length).some((b) => b !== 0)) return false;
  }
  return true;
}

describe('replication link (in process)', function () {
  this.timeout(20000);
  const fx = linkFixture();

  async function receiver(token = 'secret', lock: ReceiverOptions['lock'] = false): Promise<{ r: ReplicationReceiver; url: string }> {
    const r = new ReplicationReceiver({ dir: fx.replica, token, port: 0, lock, idleTimeoutMs: 5000 });
    const address = await r.start();
    fx.cleanups.push(() => r.stop());
    return { r, url: `ws://127.0.0.1:${address.port}/replication` };
  }

  function sender(url: string, extra: Partial<SenderOptions> = {}): ReplicationSender {
    const s = new ReplicationSender({ dir: fx.primary, url, token: 'secret', pollIntervalMs: 2, statusIntervalMs: 20, backoff: { initialMs: 20, maxMs: 200 }, ...extra });
    s.start();
    fx.cleanups.push(() => s.stop());
    return s;
  }

  it('copies a journal being written, across segment rolls, and both sides end with no lag', async function () {
    const { r, url } = await receiver();
    const s = sender(url);
    for (let i = 1; i <= 200; i++) await fx.journal.append({ type: 'message-add', txId: 0, message: message(i) });
    await until('the replica to catch up', () => sameJournal(fx.primary, fx.replica) && s.report().lag.bytes === 0 && r.report().lag.bytes === 0, 10000);
    expect(segmentFiles(fx.replica).size).to.be.greaterThan(2);
    const sent = s.report();
    expect(sent).to.include({ role: 'primary', state: 'streaming' });
    expect(sent.lag).to.deep.equal({ records: 0, bytes: 0, seconds: 0 });
    const got = r.report();
    expect(got).to.include({ role: 'replica', state: 'streaming' });
    expect(got.stats).to.include({ gapsDetected: 0, crcFailures: 0, duplicatesIgnored: 0 });
    expect(got.stats.recordsApplied).to.equal(200);
    expect(got.position.journalOffset).to.equal(sent.head);
  });

  it('reports records, bytes and seconds behind while the receiver cannot keep up', async function () {
    const { url } = await receiver();
    const s = sender(url, { windowBytes: 4096 });
    await until('streaming', () => s.state === 'streaming');
    // Many records at once against a window of 4 KiB: the sender runs behind for a while.
    const appends: Array<Promise<void>> = [];
    for (let i = 1; i <= 400; i++) appends.push(fx.journal.append({ type: 'message-add', txId: 0, message: message(i, 2000) }));
    await Promise.all(appends);
    let seen = s.report().lag;
    await until('lag to show', () => (seen = s.report().lag).bytes > 0 || sameJournal(fx.primary, fx.replica));
    expect(seen.bytes, 'the sender saw itself behind').to.be.greaterThan(0);
    expect(seen.records).to.be.greaterThan(0);
    await until('the lag to drain', () => s.report().lag.bytes === 0, 15000);
    expect(s.report().lag.seconds).to.equal(0);
  });

  it('refuses a wrong token with TANDEM_ERR_REPLICATION_AUTH, stops the sender and writes nothing', async function () {
    await fx.journal.append({ type: 'message-add', txId: 0, message: message(1) });
    const { r, url } = await receiver('the-right-one');
    const s = sender(url);
    const error = await s.finished;
    expect(error?.code).to.equal('TANDEM_ERR_REPLICATION_AUTH');
    expect(error?.message).to.contain('token');
    expect(s.state).to.equal('refused');
    expect(s.report().error?.code).to.equal('TANDEM_ERR_REPLICATION_AUTH');
    expect(r.report().stats.refusedAuth).to.equal(1);
    expect(segmentFiles(fx.replica).size).to.equal(0);
  });

  it('lets one sender ship at a time; a second waits as a spare and takes over when the first stops', async function () {
    const { r, url } = await receiver();
    const first = sender(url, { name: 'first' });
    await until('the first streaming', () => first.state === 'streaming');
    const second = sender(url, { name: 'second' });
    await until('the second refused as busy', () => r.report().stats.refusedBusy > 0);
    expect(second.state).to.not.equal('streaming');
    expect(second.report().error?.code).to.equal('TANDEM_ERR_REPLICATION_BUSY');
    await fx.journal.append({ type: 'message-add', txId: 0, message: message(1) });
    await first.stop();
    await until('the second streaming', () => second.state === 'streaming', 5000);
    await fx.journal.append({ type: 'message-add', txId: 0, message: message(2) });
    await until('the replica to catch up', () => sameJournal(fx.primary, fx.replica), 5000);
    expect(r.report().counterpart).to.contain('second');
  });

  it('holds the replica directory lock, so a second receiver on the same directory waits', async function () {
    const locks = new MemoryLockDirectory();
    const { r } = await receiver('secret', new MemoryDirectoryLock({ directory: locks, timers: realTimers }));
    const other = new ReplicationReceiver({ dir: fx.replica, token: 'secret', port: 0, lock: new MemoryDirectoryLock({ directory: locks, timers: realTimers }) });
    const started = other.start();
    started.catch(() => undefined);
    const settled = await Promise.race([started.then(() => true, () => true), new Promise<boolean>((res) => setTimeout(() => res(false), 200))]);
    expect(settled, 'the second receiver must not start while the first holds the lock').to.equal(false);
    await r.stop();
    await started;
    fx.cleanups.push(() => other.stop());
    expect(other.state).to.equal('listening');
  });

  it('stops with TANDEM_ERR_REPLICATION_DIVERGED when the bytes before the replica’s position are not the primary’s', async function () {
    const first = await receiver();
    const s = sender(first.url);
    for (let i = 1; i <= 5; i++) await fx.journal.append({ type: 'message-add', txId: 0, message: message(i) });
    await until('caught up', () => sameJournal(fx.primary, fx.replica));
    await s.stop();
    await first.r.stop();
    // The primary writes other bytes where the replica's last record is, as after losing unsynced
    // writes in a machine crash: the head segment's last record changes under the replica.
    const { position } = first.r.report();
    const head = join(fx.primary, segmentFileName(position.segment));
    const bytes = readFileSync(head);
    bytes[position.offset - 3]! ^= 0xff;
    writeFileSync(head, bytes);
    const again = await receiver();
    const resumed = sender(again.url);
    const error = await resumed.finished;
    expect(error?.code).to.equal('TANDEM_ERR_REPLICATION_DIVERGED');
    expect(error?.message).to.contain('differ from the primary');
    expect(resumed.state).to.equal('refused');
    await until('the receiver to hear of it', () => again.r.report().error?.code === 'TANDEM_ERR_REPLICATION_DIVERGED');
  });

  it('serves GET /replication and the lag metrics', async function () {
    const { r, url } = await receiver();
    const s = sender(url);
    await fx.journal.append({ type: 'message-add', txId: 0, message: message(1) });
    await until('durable at the replica', () => sameJournal(fx.primary, fx.replica) && r.report().position.journalOffset === s.report().head);
    const admin = await startAdminServer({ host: '127.0.0.1', port: 0, report: () => r.report() });
    fx.cleanups.push(() => admin.close());
    const res = await fetch(`http://127.0.0.1:${admin.address.port}/replication`);
    expect(res.status).to.equal(200);
    const body = (await res.json()) as { role: string; state: string; position: { journalOffset: number }; lag: { seconds: number } };
    expect(body).to.include({ role: 'replica', state: 'streaming' });
    expect(body.position.journalOffset).to.be.greaterThan(32);
    const metrics = await (await fetch(`http://127.0.0.1:${admin.address.port}/metrics`)).text();
    expect(metrics).to.match(/^tandem_replication_lag_seconds\{role="replica"\} \d/m);
    expect(metrics).to.match(/^tandem_replication_link_up\{role="replica"\} 1$/m);
    expect(renderReplicationMetrics(s.report())).to.match(/^tandem_replication_lag_bytes\{role="primary"\} 0$/m);
    expect((await fetch(`http://127.0.0.1:${admin.address.port}/nope`)).status).to.equal(404);
    expect((await fetch(`http://127.0.0.1:${admin.address.port}/replication`, { method: 'POST' })).status).to.equal(405);
  });
});
