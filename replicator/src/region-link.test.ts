// The link's region messages between a real sender and receiver over 127.0.0.1: a probe learns who
// answers, a newer replica refuses a stale primary with the promotion that replaced it, a
// primary's endpoint refuses every sender, a drain ships the journal's end before `drained`, and
// `promoted` tells the sender its region was replaced. Plus the quarantine of a replaced
// primary's tail: exactly the bytes past the position, the journal cut back, nothing deleted.
import { expect } from 'chai';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { StoredMessage } from '@tandem-mq/shared-store';
import { refuseLink } from './link-refuser.js';
import { LinkServer } from './link-server.js';
import { journalEndPosition } from './journal-dir.js';
import { journalOffset, type Position } from './position.js';
import { probeCounterpart } from './probe.js';
import type { Promotion, RefusalMessage } from './protocol.js';
import { listQuarantine, quarantineTail, type QuarantineManifest } from './quarantine.js';
import { ReplicationReceiver } from './receiver.js';
import { ReplicationSender } from './sender.js';
import { segmentFiles, until } from './testing/journal-files.js';
import { linkFixture } from './testing/link-fixture.js';

const TOKEN = 'secret';
const PROMOTION: Promotion = { generation: 2, mode: 'FAILOVER', at: 1_700_000_000_000, promotedRegion: 'west', endOfPrevious: { segment: 0, offset: 4096 }, lostUnknown: true };

function message(seq: number, size = 700): StoredMessage {
  return { seq, id: `m${seq}`, destination: '/queue/q', headers: { 'x-index': String(seq) }, body: Buffer.alloc(size, seq % 255), priority: 4, expires: 0, timestamp: 1, targets: ['/queue/q'] };
}

describe('replication link: regions', function () {
  this.timeout(20000);
  const fx = linkFixture();

  async function receiver(generation: number, admit?: (g: number) => RefusalMessage | undefined): Promise<{ r: ReplicationReceiver; url: string }> {
    const r = new ReplicationReceiver({
      dir: fx.replica,
      token: TOKEN,
      port: 0,
      lock: false,
      region: 'west',
      generation,
      ...(admit === undefined ? {} : { admit: (hello) => admit(hello.generation) }),
    });
    const address = await r.start();
    fx.cleanups.push(() => r.stop());
    return { r, url: `ws://127.0.0.1:${address.port}/replication` };
  }

  const stale = (g: number): RefusalMessage | undefined =>
    g < 2 ? { type: 'refusal', code: 'TANDEM_ERR_REPLICATION_STALE_PRIMARY', message: 'replaced', region: 'west', generation: 2, promotion: PROMOTION } : undefined;

  it('a probe hears a replica, a stale primary hears the promotion that replaced it, silence is unreachable', async function () {
    const { url } = await receiver(2, stale);
    const probe = (generation: number, urls = [url]) => probeCounterpart({ urls, token: TOKEN, region: 'east', generation, sender: 'test', timeoutMs: 500 });
    expect(await probe(2)).to.deep.equal({ kind: 'replica', url, region: 'west', generation: 2 });
    expect(await probe(1)).to.deep.equal({ kind: 'replaced', url, region: 'west', generation: 2, promotion: PROMOTION, code: 'TANDEM_ERR_REPLICATION_STALE_PRIMARY' });
    const dead = 'ws://127.0.0.1:1/replication';
    expect(await probe(1, [dead])).to.deep.equal({ kind: 'unreachable', tried: [dead] });
    expect((await probe(2, [dead, url])).kind, 'tries the next link').to.equal('replica');
  });

  it("a primary's endpoint refuses every sender, naming its generation, and a newer one replaces the sender", async function () {
    const server = new LinkServer({ host: '127.0.0.1', port: 0 }, (ws, peer) =>
      refuseLink(ws, peer, {
        token: TOKEN,
        refusal: (hello) => ({ type: 'refusal', code: 'TANDEM_ERR_REPLICATION_NOT_REPLICA', message: 'primary', region: 'west', generation: 2, promotion: hello.generation < 2 ? PROMOTION : undefined }),
      }),
    );
    const address = await server.listen();
    fx.cleanups.push(() => server.close());
    const url = `ws://127.0.0.1:${address.port}`;
    const replaced: Array<Promotion | undefined> = [];
    const s = new ReplicationSender({ dir: fx.primary, url, token: TOKEN, region: 'east', generation: 1, onReplaced: (p) => replaced.push(p) });
    s.start();
    fx.cleanups.push(() => s.stop());
    expect(await s.finished).to.equal(undefined);
    expect(s.state).to.equal('replaced');
    expect(replaced).to.deep.equal([PROMOTION]);
    // At the same generation: not replaced, just refused, and it keeps trying.
    const peer = new ReplicationSender({ dir: fx.primary, url, token: TOKEN, region: 'east', generation: 2, backoff: { initialMs: 20, maxMs: 50 } });
    peer.start();
    fx.cleanups.push(() => peer.stop());
    await until('refused as not a replica', () => peer.report().error?.code === 'TANDEM_ERR_REPLICATION_NOT_REPLICA');
    expect(peer.state).to.not.equal('replaced');
  });

  it('a drain ships the journal to its end before drained; promoted tells the sender it was replaced', async function () {
    const { r, url } = await receiver(1);
    let drainedAt: Position | undefined;
    const replaced: Array<Promotion | undefined> = [];
    const s = new ReplicationSender({
      dir: fx.primary,
      url,
      token: TOKEN,
      region: 'east',
      generation: 1,
      pollIntervalMs: 2,
      onDrain: async () => {
        // The broker closes its store here; these are its last records.
        for (let i = 1; i <= 150; i++) await fx.journal.append({ type: 'message-add', txId: 0, message: message(i) });
        await fx.journal.close();
        drainedAt = await journalEndPosition(fx.primary);
      },
      onReplaced: (p) => replaced.push(p),
    });
    s.start();
    fx.cleanups.push(() => s.stop());
    await until('linked', () => r.linked);
    const end = await r.requestDrain(10000);
    expect(journalOffset(end)).to.equal(journalOffset(drainedAt!));
    expect(journalOffset(r.report().position)).to.equal(journalOffset(end));
    expect(segmentFiles(fx.replica)).to.deep.equal(segmentFiles(fx.primary));
    expect(s.state).to.equal('drained');
    const frozen = await r.freeze();
    expect(journalOffset(frozen.position)).to.equal(journalOffset(end));
    expect(frozen.observedAt).to.be.a('number');
    const promotion: Promotion = { generation: 2, mode: 'SWITCHOVER', at: 1, promotedRegion: 'west', endOfPrevious: end };
    r.sendPromoted(promotion);
    await until('the sender replaced', () => replaced.length === 1);
    expect(replaced).to.deep.equal([promotion]);
  });

  it('a drain without a link, or one the sender cannot finish in time, rejects with its reason', async function () {
    const { r, url } = await receiver(1);
    const noLink = await r.requestDrain(100).then(() => undefined, (e: { reason: string }) => e.reason);
    expect(noLink).to.equal('no-link');
    const s = new ReplicationSender({ dir: fx.primary, url, token: TOKEN, onDrain: () => new Promise(() => undefined), backoff: { initialMs: 20, maxMs: 50 } });
    s.start();
    fx.cleanups.push(() => s.stop());
    await until('linked', () => r.linked);
    const slow = await r.requestDrain(200).then(() => undefined, (e: { reason: string }) => e.reason);
    expect(slow).to.equal('timeout');
  });

  it("quarantines exactly the bytes past the position, cuts the journal back, and finds nothing the second time", async function () {
    for (let i = 1; i <= 200; i++) await fx.journal.append({ type: 'message-add', txId: 0, message: message(i) });
    await fx.journal.close();
    const before = segmentFiles(fx.primary);
    const names = [...before.keys()];
    expect(names.length).to.be.greaterThan(2);
    const first = Number(names[0]!.slice(0, 20));
    // The new primary's copy ends after the first ten records.
    const end: Position = { segment: first, offset: 32 + frameSize(before.get(names[0]!)!, 10) };
    const summary = await quarantineTail(fx.primary, end, { generation: 2, now: () => Date.UTC(2026, 0, 1) });
    expect(summary.folder).to.equal(join(fx.primary, 'quarantine', '2026-01-01T00-00-00.000Z-generation-2'));
    const manifest = JSON.parse(readFileSync(join(summary.folder!, 'manifest.json'), 'utf8')) as QuarantineManifest;
    // The journal's clean close left its mark after the last message.
    expect(manifest.recordsByType).to.deep.equal({ MessageAdd: 190, CleanShutdown: 1 });
    expect(manifest.records).to.equal(191);
    expect(manifest.files.map((f) => f.file)).to.deep.equal([`${names[0]}.from-${end.offset}.tail`, ...names.slice(1)]);
    // The tail holds exactly the cut segment's bytes past the position; later segments moved whole.
    const tail = readFileSync(join(summary.folder!, manifest.files[0]!.file));
    expect(tail.equals(before.get(names[0]!)!.subarray(end.offset))).to.equal(true);
    for (const name of names.slice(1)) expect(readFileSync(join(summary.folder!, name)).equals(before.get(name)!)).to.equal(true);
    expect([...segmentFiles(fx.primary).keys()]).to.deep.equal([names[0]]);
    expect(statSync(join(fx.primary, names[0]!)).size).to.equal(end.offset);
    expect(summary.bytes).to.equal(manifest.bytes);
    const again = await quarantineTail(fx.primary, end, { generation: 2 });
    expect(again.folder).to.equal(undefined);
    expect(await listQuarantine(fx.primary)).to.deep.equal([{ folder: summary.folder, bytes: manifest.bytes, records: 191 }]);
    expect(existsSync(summary.folder!) && readdirSync(summary.folder!).length).to.equal(names.length + 1);
  });
});

/** Bytes of the segment header plus the first `n` records of a segment file. */
function frameSize(segment: Buffer, n: number): number {
  let at = 32;
  for (let i = 0; i < n; i++) at += 9 + segment.readUInt32BE(at);
  return at - 32;
}
