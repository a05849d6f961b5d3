// Endpoint ordering: list order, seeded shuffles, priority endpoints first, the lost one last.
import { expect } from 'chai';
import { EndpointPool } from './endpoint-pool.js';
import { parseConnectionUri } from './uri.js';

const LIST = 'failover:(stomp://a:1,stomp://b:2,stomp://c:3,stomp://d:4)';

/** A small deterministic generator (mulberry32), so shuffles repeat run to run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pool(query: string, random: () => number = Math.random): EndpointPool {
  const uri = parseConnectionUri(`${LIST}${query}`);
  return new EndpointPool(uri.endpoints, uri.options, random);
}

const hosts = (p: EndpointPool): string => p.nextPass().map((e) => e.host).join('');

describe('endpoint pool', function () {
  it('keeps list order on every pass with randomize=false', function () {
    const p = pool('?randomize=false');
    expect([hosts(p), hosts(p), hosts(p)]).to.deep.equal(['abcd', 'abcd', 'abcd']);
  });

  it('shuffles each pass with randomize=true, reproducibly from a seed', function () {
    const first = pool('', seeded(42));
    const again = pool('', seeded(42));
    const passes = [hosts(first), hosts(first), hosts(first)];
    expect([hosts(again), hosts(again), hosts(again)]).to.deep.equal(passes);
    for (const pass of passes) expect([...pass].sort().join('')).to.equal('abcd');
    expect(new Set(passes).size, 'three seeded passes should not all be equal').to.be.greaterThan(1);
  });

  it('follows the random source exactly (Fisher-Yates)', function () {
    // random() = 0 swaps each position, from the end, with the first: abcd -> dbca -> cbda -> bcda.
    expect(hosts(pool('', () => 0))).to.equal('bcda');
    // random() just under 1 swaps each position with itself: the list order stays.
    expect(hosts(pool('', () => 0.9999))).to.equal('abcd');
  });

  it('moves the endpoint whose connection was lost to the end of the next pass', function () {
    const p = pool('?randomize=false');
    p.lost(p.endpoints[0]!);
    expect(hosts(p)).to.equal('bcda');
    p.connected(p.endpoints[0]!);
    expect(hosts(p)).to.equal('abcd');
  });

  it('puts the first endpoint first with priorityBackup=true, even when randomized', function () {
    for (let seed = 1; seed <= 5; seed++) {
      const p = pool('?priorityBackup=true', seeded(seed));
      expect(hosts(p)[0]).to.equal('a');
    }
  });

  it('puts every priorityURIs endpoint ahead of the rest, in list order when randomize=false', function () {
    const p = pool('?randomize=false&priorityBackup=true&priorityURIs=stomp://c:3,stomp://b:2');
    expect(hosts(p)).to.equal('bcad');
    expect(p.priorityEndpoints().map((e) => e.host)).to.deep.equal(['b', 'c']);
    expect(p.isPriority(p.endpoints[3]!)).to.equal(false);
  });

  it('has no priority endpoints without priorityBackup', function () {
    const p = pool('?randomize=false');
    expect(p.priorityEndpoints()).to.deep.equal([]);
    expect(p.isPriority(p.endpoints[0]!)).to.equal(false);
  });

  it('tries a lost priority endpoint last until it is back', function () {
    const p = pool('?randomize=false&priorityBackup=true');
    p.lost(p.endpoints[0]!);
    expect(hosts(p)).to.equal('bcda');
  });
});
