// The region's pieces without processes: region.json written atomically and read back (and refused
// when damaged), the history entry and the wire promotion as one another, the replica's refusing
// responder (one ERROR naming the primary, then the close), and POST /promote's body check.
import { expect } from 'chai';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@tandem-mq/shared-store';
import type { Promotion } from '@tandem-mq/replicator';
import { promoteRequest } from '../admin/server.js';
import { BrokerError } from '../errors.js';
import { StompParser } from '../protocol/stomp/parser.js';
import type { StompFrame } from '../protocol/stomp/frame.js';
import { refusingAcceptor } from './refusing-listeners.js';
import { historyEntry, promotionAfter, promotionOf, REGION_FILE_NAME, RegionStateFile, type RegionState } from './region-state.js';

const FAILOVER: Promotion = {
  generation: 2,
  mode: 'FAILOVER',
  at: Date.UTC(2026, 0, 2, 3, 4, 5),
  promotedRegion: 'us-west-2',
  endOfPrevious: { segment: 65536, offset: 4096 },
  rpoTime: Date.UTC(2026, 0, 2, 3, 4, 4, 500),
  lostUnknown: true,
};

describe('region state (region.json)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-region-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads nothing from a fresh directory, then what was written, leaving no temporary file', async () => {
    const file = new RegionStateFile(dir);
    expect(await file.read()).to.equal(undefined);
    const state: RegionState = { version: 1, region: 'us-west-2', role: 'primary', generation: 2, counterpart: 'us-east-1', history: [historyEntry(FAILOVER)] };
    await file.write(state);
    await file.write(state);
    expect(await file.read()).to.deep.equal(state);
    expect(readdirSync(dir)).to.deep.equal([REGION_FILE_NAME]);
  });

  it('refuses a damaged file with TANDEM_ERR_REGION_STATE instead of guessing the role', async () => {
    for (const text of ['{"version":1,', '{"version":1,"region":"r","role":"leader","generation":1,"history":[]}', '{"version":1,"region":"r","role":"replica","generation":0,"history":[]}']) {
      writeFileSync(join(dir, REGION_FILE_NAME), text);
      const error = await new RegionStateFile(dir).read().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, text).to.be.instanceOf(BrokerError);
      expect((error as BrokerError).code).to.equal('TANDEM_ERR_REGION_STATE');
    }
  });

  it('keeps a promotion intact through its history entry, with ISO times', () => {
    const entry = historyEntry(FAILOVER);
    expect(entry).to.deep.equal({
      generation: 2,
      mode: 'FAILOVER',
      at: '2026-01-02T03:04:05.000Z',
      promotedRegion: 'us-west-2',
      endOfPrevious: { segment: 65536, offset: 4096, journalOffset: 69632 },
      rpoTime: '2026-01-02T03:04:04.500Z',
      lostUnknown: true,
    });
    expect(promotionOf(entry)).to.deep.equal(FAILOVER);
  });

  it('finds the promotion that ended a generation', () => {
    const second = { ...FAILOVER, generation: 3, mode: 'SWITCHOVER' as const, promotedRegion: 'us-east-1' };
    const state: RegionState = { version: 1, region: 'r', role: 'replica', generation: 3, counterpart: 'c', history: [historyEntry(FAILOVER), historyEntry(second)] };
    expect(promotionAfter(state, 1)?.generation).to.equal(2);
    expect(promotionAfter(state, 2)?.generation).to.equal(3);
    expect(promotionAfter(state, 3)).to.equal(undefined);
  });
});

describe("the replica's refusing responder", () => {
  function connect(): { frames: StompFrame[]; ended: () => boolean; feed: (text: string) => void; counters: { refused: number } } {
    const frames: StompFrame[] = [];
    const parser = new StompParser({ onFrame: (f) => frames.push(f), onError: (e) => expect.fail(e.message) });
    let ended = false;
    const counters = { refused: 0 };
    const accept = refusingAcceptor({ message: () => 'this broker is a replica of region us-east-1; connect to stomp://h:61613' }, silentLogger(), counters);
    const handler = accept({
      remoteAddress: 'test',
      protocol: 'stomp+tcp',
      write: (chunks) => {
        for (const c of chunks) parser.push(c);
        return true;
      },
      pause: () => undefined,
      resume: () => undefined,
      end: () => (ended = true),
    });
    return { frames, ended: () => ended, feed: (text) => handler.onData(Buffer.from(text)), counters };
  }

  it('answers CONNECT (fed a byte at a time) with one ERROR naming the primary, then ends the connection', () => {
    const c = connect();
    for (const ch of 'CONNECT\naccept-version:1.2\nhost:h\n\n\0') c.feed(ch);
    expect(c.frames).to.have.length(1);
    const [error] = c.frames;
    expect(error!.command).to.equal('ERROR');
    expect(error!.headers).to.deep.include(['code', 'TANDEM_ERR_REPLICA']);
    expect(error!.headers).to.deep.include(['message', 'this broker is a replica of region us-east-1; connect to stomp://h:61613']);
    expect(c.ended()).to.equal(true);
    expect(c.counters.refused).to.equal(1);
    c.feed('SEND\ndestination:/queue/x\n\n\0');
    expect(c.frames, 'nothing more after the ERROR').to.have.length(1);
  });

  it('refuses garbage the same way', () => {
    const c = connect();
    c.feed('GET / HTTP/1.1\r\n\r\n');
    expect(c.frames.map((f) => f.command)).to.deep.equal(['ERROR']);
    expect(c.ended()).to.equal(true);
  });
});

describe('POST /promote body', () => {
  it('takes SWITCHOVER or FAILOVER in any case, and a timeout', () => {
    expect(promoteRequest({ mode: 'switchover' })).to.deep.equal({ mode: 'SWITCHOVER' });
    expect(promoteRequest({ mode: 'FAILOVER', timeoutMs: 5000 })).to.deep.equal({ mode: 'FAILOVER', timeoutMs: 5000 });
  });

  it('refuses anything else with TANDEM_ERR_PROMOTE_MODE naming what is wrong', () => {
    const cases: Array<[unknown, string]> = [
      [undefined, 'must be a JSON object'],
      [[], 'must be a JSON object'],
      [{}, 'mode must be SWITCHOVER or FAILOVER (got nothing)'],
      [{ mode: 'sideways' }, 'mode must be SWITCHOVER or FAILOVER (got "sideways")'],
      [{ mode: 'FAILOVER', force: true }, 'Unknown field force'],
      [{ mode: 'SWITCHOVER', timeoutMs: 5 }, 'timeoutMs must be an integer'],
    ];
    for (const [body, fragment] of cases) {
      const result = promoteRequest(body);
      expect(result, JSON.stringify(body)).to.be.instanceOf(BrokerError);
      expect((result as BrokerError).code).to.equal('TANDEM_ERR_PROMOTE_MODE');
      expect((result as BrokerError).message).to.contain(fragment);
    }
  });
});
