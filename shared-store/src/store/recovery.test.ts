// Model-based recovery: random operations against the file store and an expected model, with
// restarts, crashes, reclaims, a torn transaction at the tail and a flipped byte in the middle;
// after each restart the recovered state must equal the model.
import { expect } from 'chai';
import { appendFile, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreError, StoreErrorCodes } from '../errors.js';
import { FaultyFileIO } from '../journal/file-io.js';
import { SEGMENT_HEADER_SIZE } from '../journal/constants.js';
import { FrameScanner } from '../journal/records/frame.js';
import { decodeRecord, encodeRecord } from '../journal/records/index.js';
import { segmentFileName } from '../journal/segment.js';
import { rng, tempDir } from '../testing/helpers.js';
import { FileStore } from './file-store.js';
import type { DurableSubscriptionInfo, RecoveredMessage, RecoveredState, StoredMessage, TransactionOp } from './types.js';
import { durableKey } from './types.js';

const QUEUES = ['/queue/a', '/queue/b', '/queue/c'];

/** The expected state, kept independently of the store's own model. */
class Expected {
  readonly messages = new Map<number, { message: StoredMessage; remaining: Set<string> }>();
  readonly durables = new Map<string, DurableSubscriptionInfo>();
  readonly producers = new Map<string, number>();
  readonly marks = new Map<string, number>();
  maxSeq = 0;

  add(m: StoredMessage): void {
    this.maxSeq = Math.max(this.maxSeq, m.seq);
    if (m.producerId !== undefined) this.producers.set(m.producerId, Math.max(this.producers.get(m.producerId) ?? 0, m.producerSeq!));
    if (m.targets.length > 0) this.messages.set(m.seq, { message: m, remaining: new Set(m.targets) });
  }
  ack(target: string, seq: number): void {
    const live = this.messages.get(seq);
    if (live === undefined) return;
    live.remaining.delete(target);
    if (live.remaining.size === 0) this.messages.delete(seq);
  }
  removeDurable(key: string): void {
    this.durables.delete(key);
    this.marks.delete(key);
    for (const seq of [...this.messages.keys()]) this.ack(key, seq);
  }
  liveTargets(): Array<[string, number]> {
    const out: Array<[string, number]> = [];
    for (const [seq, live] of this.messages) for (const t of live.remaining) out.push([t, seq]);
    return out;
  }
}

function view(list: RecoveredMessage[] | undefined): unknown[] {
  return (list ?? []).map((m) => ({ ...m, body: m.body.toString('hex'), targets: [...m.targets].sort() }));
}

function expectMatches(state: RecoveredState, model: Expected): void {
  const queues = new Map<string, RecoveredMessage[]>();
  const pending = new Map<string, RecoveredMessage[]>();
  for (const key of model.durables.keys()) pending.set(key, []);
  for (const seq of [...model.messages.keys()].sort((a, b) => a - b)) {
    const live = model.messages.get(seq)!;
    for (const target of live.remaining) {
      const m: RecoveredMessage = { ...live.message, targets: [...live.remaining], redelivered: seq <= (model.marks.get(target) ?? 0) };
      if (target.startsWith('durable:')) pending.get(target)!.push(m);
      else {
        if (!queues.has(target)) queues.set(target, []);
        queues.get(target)!.push(m);
      }
    }
  }
  expect([...state.queues.keys()].sort(), 'queues').to.deep.equal([...queues.keys()].sort());
  for (const [target, list] of queues) expect(view(state.queues.get(target)), target).to.deep.equal(view(list));
  const gotDurables = new Map(state.durableSubscriptions.map((d) => [durableKey(d.info.clientId, d.info.name), d]));
  expect([...gotDurables.keys()].sort(), 'durables').to.deep.equal([...model.durables.keys()].sort());
  for (const [key, info] of model.durables) {
    expect(gotDurables.get(key)!.info, key).to.deep.equal(info);
    expect(view(gotDurables.get(key)!.pending), key).to.deep.equal(view(pending.get(key)));
  }
  expect(new Map(state.producerSeqs), 'producer sequences').to.deep.equal(model.producers);
}

describe('FileStore recovery (model-based)', function () {
  this.timeout(60_000);
  let dir: string;
  let remove: () => Promise<void>;
  let stores: FileStore[] = [];

  /** Whether the stores of the running test preallocate their segments, as over the real file system. */
  let preallocate = false;
  /** Whether each store opens in a new epoch, with a zombie writing into the sealed segment after each restart. */
  let epochs = false;
  let epoch = 0;

  beforeEach(async function () {
    ({ dir, remove } = await tempDir('tandem-recovery-'));
    preallocate = false;
    epochs = false;
    epoch = 0;
  });
  afterEach(async function () {
    for (const s of stores) await s.close().catch(() => undefined);
    stores = [];
    await remove();
  });

  function start(io = new FaultyFileIO(undefined, { preallocate }), repair = false): { store: FileStore; io: FaultyFileIO } {
    const store = new FileStore({
      dir, mode: 'durability', segmentSize: 64 * 1024, fileIO: io, repair, compactLiveRatio: 0.5, reclaimIntervalMs: 3_600_000,
      ...(epochs ? { epoch: ++epoch } : {}),
    });
    stores.push(store);
    return { store, io };
  }

  /**
   * The previous epoch's broker, paused and fenced, wakes after the new epoch opened and appends
   * whole records with good CRCs to the segment it was writing, now sealed: a message nobody sent,
   * an ack of a live message, a clean shutdown. Recovery must apply none of them.
   */
  async function zombieWrites(model: Expected, r: { int: (n: number) => number }): Promise<void> {
    if (!epochs) return;
    const names = (await readdir(dir)).filter((n) => n.endsWith('.seg')).sort();
    if (names.length < 2) return;
    const live = model.liveTargets();
    const ghost: StoredMessage = {
      seq: model.maxSeq + 1 + r.int(3), id: 'zombie', destination: '/queue/a', targets: ['/queue/a'], headers: {}, body: Buffer.alloc(r.int(300), 7),
      priority: 4, expires: 0, timestamp: 1, producerId: 'p0', producerSeq: 1e9,
    };
    const frames: Buffer[] = [encodeRecord({ type: 'message-add', txId: 0, message: ghost })];
    if (live.length > 0) frames.push(encodeRecord({ type: 'ack', txId: 0, target: live[0]![0], seq: live[0]![1] }));
    frames.push(encodeRecord({ type: 'clean-shutdown', timestamp: 2 }));
    await appendFile(join(dir, names[names.length - 2]!), Buffer.concat(frames));
  }

  /** Runs `steps` groups of random operations; returns the store still open. */
  async function drive(seed: number, steps: number, model: Expected, first: { store: FileStore; io: FaultyFileIO }) {
    const r = rng(seed);
    let { store, io } = first;
    let seq = model.maxSeq;
    const newMessage = (targets: string[], destination: string): StoredMessage => {
      seq += 1 + r.int(3);
      const m: StoredMessage = {
        seq, id: `id-${seq}`, destination, targets, priority: r.int(10), expires: r.chance(0.2) ? 1_900_000_000_000 : 0,
        timestamp: 1_700_000_000_000 + seq, headers: { n: String(seq), ...(r.chance(0.3) ? { 'reply-to': '/queue/r' } : {}) },
        body: Buffer.alloc(r.int(600), seq & 0xff),
      };
      if (r.chance(0.3)) {
        m.producerId = `p${r.int(4)}`;
        m.producerSeq = seq;
      }
      return m;
    };
    const randomAdd = (): StoredMessage => {
      const keys = [...model.durables.keys()];
      if (keys.length > 0 && r.chance(0.4)) {
        const targets = keys.filter(() => r.chance(0.7));
        return newMessage(targets.length > 0 ? targets : [keys[0]!], '/topic/t');
      }
      const q = r.pick(QUEUES);
      return newMessage([q], q);
    };

    for (let step = 0; step < steps; step++) {
      const waits: Array<Promise<void>> = [];
      const groupSize = 1 + r.int(12);
      for (let i = 0; i < groupSize; i++) {
        const live = model.liveTargets();
        const roll = r.int(100);
        if (roll < 40 || live.length === 0) {
          const m = randomAdd();
          model.add(m);
          waits.push(store.addMessage(m));
        } else if (roll < 70) {
          const [target, s] = r.pick(live);
          model.ack(target, s);
          waits.push(store.ack(target, s));
        } else if (roll < 80) {
          const ops: TransactionOp[] = [];
          for (let k = 1 + r.int(4); k > 0; k--) {
            const liveNow = model.liveTargets();
            if (liveNow.length > 0 && r.chance(0.4)) {
              const [target, s] = r.pick(liveNow);
              ops.push({ op: 'ack', target, seq: s });
              model.ack(target, s);
            } else {
              const m = randomAdd();
              ops.push({ op: 'add', message: m });
              model.add(m);
            }
          }
          waits.push(store.commit(ops));
        } else if (roll < 86) {
          const info: DurableSubscriptionInfo = { clientId: `c${r.int(2)}`, name: `s${r.int(3)}`, destination: '/topic/t' };
          if (r.chance(0.5)) info.selector = `n > ${r.int(100)}`;
          model.durables.set(durableKey(info.clientId, info.name), info);
          waits.push(store.addDurableSubscription(info));
        } else if (roll < 89 && model.durables.size > 0) {
          const key = r.pick([...model.durables.keys()]);
          const info = model.durables.get(key)!;
          model.removeDurable(key);
          waits.push(store.removeDurableSubscription(info.clientId, info.name));
        } else {
          // A mark is never the last call of a group, so an awaited append's batch carries it.
          // A seq the target's mark covers changes nothing; otherwise the mark is written ahead,
          // to the highest seq the store has seen.
          const [target, s] = r.pick(live);
          if (s > (model.marks.get(target) ?? 0)) model.marks.set(target, Math.max(s, model.maxSeq));
          waits.push(store.markDispatched(target, s) ?? Promise.resolve());
          const q = r.pick(QUEUES);
          const m = newMessage([q], q);
          model.add(m);
          waits.push(store.addMessage(m));
        }
      }
      await Promise.all(waits);

      const event = r.int(100);
      if (event < 4) {
        await store.close();
        ({ store, io } = start());
        const state = await store.open();
        await zombieWrites(model, r);
        expect(state.cleanShutdown).to.equal(true);
        expect(state.nextSeq).to.equal(model.maxSeq + 1);
        expectMatches(state, model);
      } else if (event < 7) {
        io.crash();
        await store.close().catch(() => undefined);
        ({ store, io } = start());
        const state = await store.open();
        await zombieWrites(model, r);
        expect(state.cleanShutdown).to.equal(false);
        expectMatches(state, model);
      } else if (event < 20) {
        await store.reclaim();
      }
    }
    return { store, io };
  }

  for (const seed of [1, 2, 3, 4]) {
    it(`recovers exactly the acknowledged state through restarts, crashes and reclaims (seed ${seed})`, async function () {
      const model = new Expected();
      const { store } = await drive(seed, 250, model, await opened());
      await store.reclaim();
      // The run was long enough for the reclaimer to delete (and compact) old segments.
      expect(await readdir(dir)).to.not.include(segmentFileName(0));
      await store.close();
      const again = start();
      const state = await again.store.open();
      expectMatches(state, model);
      expect(state.problems).to.deep.equal([]);
    });
  }

  /** 250 random steps, a reclaim and a clean close; then a reopen must recover exactly the model, with no problem. */
  async function driveReclaimReopen(seed: number): Promise<{ state: RecoveredState; model: Expected; again: ReturnType<typeof start> }> {
    const model = new Expected();
    const { store } = await drive(seed, 250, model, await opened());
    await store.reclaim();
    await store.close();
    const again = start();
    const state = await again.store.open();
    expectMatches(state, model);
    expect(state.problems).to.deep.equal([]);
    return { state, model, again };
  }

  for (const seed of [5, 6]) {
    it(`recovers exactly the acknowledged state over preallocated segments, with zero tails after each crash (seed ${seed})`, async function () {
      preallocate = true;
      await driveReclaimReopen(seed);
    });
  }

  for (const [seed, prealloc] of [[7, false], [8, true]] as const) {
    it(`recovers exactly the acknowledged state with a new epoch per restart and a zombie writing past each seal (seed ${seed})`, async function () {
      preallocate = prealloc;
      epochs = true;
      const { state, model, again } = await driveReclaimReopen(seed);
      expect(state.nextSeq).to.equal(model.maxSeq + 1);
      expect(again.store.epoch).to.equal(epoch);
    });
  }

  async function opened(): Promise<{ store: FileStore; io: FaultyFileIO }> {
    const s = start();
    await s.store.open();
    return s;
  }

  it('drops a transaction torn at the tail, truncates it, and keeps everything acknowledged before', async function () {
    for (const tearAt of [1, 9, 40, 120, 300]) {
      const model = new Expected();
      await remove();
      ({ dir, remove } = await tempDir('tandem-recovery-'));
      const { store, io } = await drive(10 + tearAt, 40, model, await opened());
      const tx: TransactionOp[] = [
        { op: 'add', message: { seq: model.maxSeq + 1, id: 'tx1', destination: '/queue/a', targets: ['/queue/a'], headers: {}, body: Buffer.alloc(200, 1), priority: 4, expires: 0, timestamp: 1 } },
        { op: 'add', message: { seq: model.maxSeq + 2, id: 'tx2', destination: '/queue/b', targets: ['/queue/b'], headers: {}, body: Buffer.alloc(200, 2), priority: 4, expires: 0, timestamp: 1 } },
      ];
      const live = model.liveTargets();
      if (live.length > 0) tx.push({ op: 'ack', target: live[0]![0], seq: live[0]![1] });
      io.tearNextWriteAt(tearAt);
      let error: unknown;
      await store.commit(tx).catch((err: unknown) => (error = err));
      expect((error as StoreError).code, `tear at ${tearAt}`).to.equal(StoreErrorCodes.JOURNAL_FAILED);
      expect(store.state).to.equal('failed');
      await store.close();
      const again = start();
      const state = await again.store.open();
      expect(state.cleanShutdown).to.equal(false);
      expect(state.problems).to.have.length(1);
      expect(state.problems[0]).to.include({ action: 'truncated' });
      expectMatches(state, model);
      await again.store.close();
    }
  });

  it('refuses a flipped byte in the middle, and with repair reports it and skips only that record', async function () {
    const model = new Expected();
    const { store } = await drive(77, 120, model, await opened());
    await store.close();

    // Find a message-add of a live message that appears exactly once and is not the newest.
    const names = (await readdir(dir)).filter((n) => n.endsWith('.seg')).sort();
    const found = new Map<number, Array<{ name: string; offset: number; length: number }>>();
    for (const name of names) {
      const scanner = new FrameScanner(SEGMENT_HEADER_SIZE);
      scanner.push((await readFile(join(dir, name))).subarray(SEGMENT_HEADER_SIZE));
      scanner.finish();
      for (let e = scanner.next(); e !== undefined; e = scanner.next()) {
        if (e.kind !== 'frame') continue;
        const record = decodeRecord(e.typeId, e.payload);
        if (record.type !== 'message-add') continue;
        const list = found.get(record.message.seq) ?? [];
        list.push({ name, offset: e.offset, length: e.length });
        found.set(record.message.seq, list);
      }
    }
    const victimSeq = [...model.messages.keys()].find(
      (seq) => found.get(seq)?.length === 1 && seq !== model.maxSeq && model.messages.get(seq)!.message.producerId === undefined,
    );
    expect(victimSeq, 'a live message to corrupt').to.not.equal(undefined);
    const where = found.get(victimSeq!)![0]!;
    const path = join(dir, where.name);
    const bytes = await readFile(path);
    bytes[where.offset + where.length - 1] ^= 0x5a;
    await writeFile(path, bytes);

    const strict = start();
    let error: unknown;
    await strict.store.open().catch((err: unknown) => (error = err));
    expect(error).to.be.instanceOf(StoreError);
    expect((error as StoreError).code).to.equal(StoreErrorCodes.JOURNAL_CORRUPT);
    expect((error as StoreError).message).to.include(`${where.name} is corrupt at offset ${where.offset}`);
    expect(strict.store.state).to.equal('closed');

    const repaired = start(new FaultyFileIO(), true);
    const state = await repaired.store.open();
    expect(state.problems).to.deep.equal([{ segment: where.name, offset: where.offset, reason: 'CRC mismatch', action: 'skipped' }]);
    model.messages.delete(victimSeq!);
    expectMatches(state, model);
  });
});
