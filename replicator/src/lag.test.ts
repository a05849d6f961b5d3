// Lag arithmetic on both sides, the back-off schedule, and the send window's bookkeeping.
import { expect } from 'chai';
import { Backoff } from './backoff.js';
import { ReceiverLag, senderLag } from './lag.js';
import { SendWindow } from './send-window.js';

describe('replication lag', function () {
  it('is zero when the replica is durable up to the primary’s head', function () {
    expect(
      senderLag({ head: 5000, durable: { segment: 0, offset: 5000 }, readPosition: { segment: 0, offset: 5000 }, unackedRecords: 0, oldestUnackedAt: undefined, unreadSince: undefined, averageRecordBytes: 100, now: 10 }),
    ).to.deep.equal({ records: 0, bytes: 0, seconds: 0 });
  });

  it('counts unacknowledged records, estimates unread ones, and ages the oldest', function () {
    const lag = senderLag({
      head: 10_000,
      durable: { segment: 0, offset: 4000 },
      readPosition: { segment: 0, offset: 8000 },
      unackedRecords: 40,
      oldestUnackedAt: 1000,
      unreadSince: 1500,
      averageRecordBytes: 100,
      now: 3500,
    });
    expect(lag).to.deep.equal({ records: 60, bytes: 6000, seconds: 2.5 });
  });

  it('at the receiver, works from the last status and what has become durable since', function () {
    const lag = new ReceiverLag();
    expect(lag.lag({ segment: 0, offset: 0 }, 0)).to.deep.equal({ records: 0, bytes: 0, seconds: 0 });
    lag.onStatus({ type: 'status', head: 9000, records: 12, ageMs: 300, sentAt: 0 }, 1000);
    expect(lag.lag({ segment: 0, offset: 8000 }, 1200)).to.deep.equal({ records: 12, bytes: 1000, seconds: 0.5 });
    expect(lag.lag({ segment: 8000, offset: 1000 }, 1200)).to.deep.equal({ records: 0, bytes: 0, seconds: 0 });
  });
});

describe('reconnect back-off', function () {
  it('doubles up to the ceiling, spreads by the jitter, and starts over after reset', function () {
    const low = new Backoff({ initialMs: 100, maxMs: 1000, factor: 2, jitter: 0.2 }, () => 0);
    expect([low.next(), low.next(), low.next(), low.next(), low.next()]).to.deep.equal([80, 160, 320, 640, 800]);
    low.reset();
    expect(low.next()).to.equal(80);
    const high = new Backoff({ initialMs: 100, maxMs: 1000, factor: 2, jitter: 0.2 }, () => 0.999999);
    for (let i = 0; i < 6; i++) high.next();
    expect(high.next()).to.equal(1000);
  });
});

describe('send window', function () {
  const batch = (segment: number, offset: number, size: number, observedAt: number) =>
    ({ kind: 'batch', position: { segment, offset }, bytes: Buffer.alloc(size), records: 2, observedAt, end: { segment, offset: offset + size } }) as const;

  it('frees entries as acks arrive, and serves a resend from the entry the position names', function () {
    const w = new SendWindow();
    w.push(1, batch(0, 0, 100, 10));
    w.push(2, batch(0, 100, 50, 20));
    w.push(3, { kind: 'segment-deleted', below: 0, from: { segment: 0, offset: 150 }, end: { segment: 0, offset: 150 } });
    w.push(4, batch(150, 0, 70, 30));
    expect([w.size, w.bytes, w.records, w.oldestObservedAt]).to.deep.equal([4, 220, 6, 10]);
    w.ackThrough(1);
    expect([w.size, w.bytes, w.oldestObservedAt]).to.deep.equal([3, 120, 20]);
    // (0, 150) and (150, 0) are the same journal offset: the deletion comes first.
    expect(w.from({ segment: 150, offset: 0 })?.map((e) => e.seq)).to.deep.equal([3, 4]);
    expect([w.size, w.bytes]).to.deep.equal([2, 70]);
    expect(w.from({ segment: 0, offset: 10 })).to.equal(undefined);
  });
});
