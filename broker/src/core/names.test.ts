// Destination names, topic wildcards, redelivery delays and the pending list's order: the pure parts.
import { expect } from 'chai';
import { BrokerError } from '../errors.js';
import { parseDestination } from './destination.js';
import { deadLetterQueueFor } from './dead-letter.js';
import type { Entry } from './message.js';
import { PendingList, SKIP, STOP, TAKE } from './pending-list.js';
import { DEFAULT_DEAD_LETTER_POLICY, DEFAULT_REDELIVERY_POLICY } from './policies.js';
import { redeliveryDelay, exceedsMaximum } from './redelivery.js';
import { virtualTopicFeeding } from './virtual-topic.js';
import { compileTopicPattern } from './wildcard.js';

function entry(seq: number, priority = 4): Entry {
  return {
    data: {
      seq, id: `m${seq}`, destination: '/queue/q', headers: {}, body: Buffer.alloc(0), priority, expires: 0, timestamp: 0,
      persistent: false, producerId: undefined, producerSeq: undefined, origin: undefined, groupId: undefined, closesGroup: false, cache: {},
    },
    stored: false,
    redelivered: false,
    redeliveryCount: 0,
  };
}

describe('core: destination names', () => {
  it('canonical forms for /queue/, /topic/, /temp-queue/, /temp-topic/ and a bare name (a queue)', () => {
    expect(parseDestination('/queue/orders')).to.include({ kind: 'queue', path: 'orders', name: '/queue/orders', wildcard: false });
    expect(parseDestination('/topic/prices.eu')).to.include({ kind: 'topic', path: 'prices.eu', name: '/topic/prices.eu' });
    expect(parseDestination('/temp-queue/replies')).to.include({ kind: 'temp-queue', name: '/temp-queue/replies' });
    expect(parseDestination('/temp-topic/t')).to.include({ kind: 'temp-topic', name: '/temp-topic/t' });
    expect(parseDestination('orders')).to.include({ kind: 'queue', name: '/queue/orders' });
    expect(parseDestination('/topic/a.*.>')).to.include({ wildcard: true });
  });

  for (const bad of ['', '/queue/', '/topic/', '/nonsense/x', '/queue/a..b', '/queue/.a', '/topic/a.', '/topic/a.>.b', '/queue/a,b', '/queue/a\nb', '/queue/ a', 'x'.repeat(1025)]) {
    it(`rejects ${JSON.stringify(bad.length > 40 ? `${bad.slice(0, 10)}... (${bad.length} chars)` : bad)} with TANDEM_ERR_INVALID_DESTINATION`, () => {
      let caught: unknown;
      try {
        parseDestination(bad);
      } catch (error) {
        caught = error;
      }
      expect(caught).to.be.instanceOf(BrokerError);
      expect((caught as BrokerError).code).to.equal('TANDEM_ERR_INVALID_DESTINATION');
      expect((caught as BrokerError).message).to.match(/^invalid destination/);
    });
  }

  it('virtual topics: /queue/Consumer.<name>.VirtualTopic.X is fed by /topic/VirtualTopic.X', () => {
    expect(virtualTopicFeeding('Consumer.A.VirtualTopic.Orders')).to.equal('/topic/VirtualTopic.Orders');
    expect(virtualTopicFeeding('Consumer.A.B.VirtualTopic.Orders')).to.equal(undefined);
    expect(virtualTopicFeeding('orders')).to.equal(undefined);
  });
});

describe('core: topic wildcards (`*` one element, `>` one or more trailing elements)', () => {
  const cases: Array<[string, string, boolean]> = [
    ['a.b.c', 'a.b.c', true],
    ['a.*.c', 'a.b.c', true],
    ['a.*.c', 'a.b.d', false],
    ['a.*', 'a.b.c', false],
    ['a.>', 'a.b', true],
    ['a.>', 'a.b.c.d', true],
    ['a.>', 'a', false],
    ['*.b.>', 'x.b.y', true],
    ['*.b.>', 'x.c.y', false],
    ['>', 'anything.at.all', true],
  ];
  for (const [pattern, topic, matches] of cases) {
    it(`${pattern} ${matches ? 'matches' : 'does not match'} ${topic}`, () => {
      expect(compileTopicPattern(pattern)(topic)).to.equal(matches);
    });
  }
});

describe('core: redelivery policy delays', () => {
  it('initialRedeliveryDelay first, then redeliveryDelay', () => {
    const policy = { ...DEFAULT_REDELIVERY_POLICY, initialRedeliveryDelay: 100, redeliveryDelay: 300 };
    expect([1, 2, 3].map((n) => redeliveryDelay(policy, n))).to.deep.equal([100, 300, 300]);
  });

  it('exponential back-off multiplies by backOffMultiplier and is capped by maximumRedeliveryDelay', () => {
    const policy = { ...DEFAULT_REDELIVERY_POLICY, initialRedeliveryDelay: 100, useExponentialBackOff: true, backOffMultiplier: 2, maximumRedeliveryDelay: 500 };
    expect([1, 2, 3, 4, 5].map((n) => redeliveryDelay(policy, n))).to.deep.equal([100, 200, 400, 500, 500]);
  });

  it('an uncapped back-off never exceeds what a timer can hold', () => {
    const policy = { ...DEFAULT_REDELIVERY_POLICY, useExponentialBackOff: true, backOffMultiplier: 5 };
    expect(redeliveryDelay(policy, 1000)).to.equal(2 ** 31 - 1);
  });

  it('maximumRedeliveries: -1 never exceeds; 6 is exceeded by the 7th redelivery', () => {
    expect(exceedsMaximum({ ...DEFAULT_REDELIVERY_POLICY, maximumRedeliveries: -1 }, 1e6)).to.equal(false);
    expect(exceedsMaximum(DEFAULT_REDELIVERY_POLICY, 6)).to.equal(false);
    expect(exceedsMaximum(DEFAULT_REDELIVERY_POLICY, 7)).to.equal(true);
  });
});

describe('core: dead-letter queue choice', () => {
  it('first rule whose prefix matches the original destination, else the default queue', () => {
    const policy = {
      ...DEFAULT_DEAD_LETTER_POLICY,
      rules: [{ prefix: '/queue/orders.', queue: 'DLQ.orders' }, { prefix: '/queue/', queue: 'DLQ.queues' }],
    };
    expect(deadLetterQueueFor(policy, '/queue/orders.eu')).to.equal('/queue/DLQ.orders');
    expect(deadLetterQueueFor(policy, '/queue/billing')).to.equal('/queue/DLQ.queues');
    expect(deadLetterQueueFor(policy, '/topic/prices')).to.equal('/queue/ActiveMQ.DLQ');
  });
});

describe('core: pending list order (priority, then seq)', () => {
  it('higher priority first, FIFO by seq within a priority, returned entries back in their place', () => {
    const list = new PendingList();
    for (const e of [entry(1), entry(2, 9), entry(3), entry(4, 0), entry(5, 9)]) list.insert(e);
    const first: number[] = [];
    list.scan((e) => (first.push(e.data.seq), first.length <= 2 ? TAKE : STOP));
    expect(first).to.deep.equal([2, 5, 1]);
    list.insert(entry(2, 9));
    list.insert(entry(0));
    const order = list.drain().map((e) => e.data.seq);
    expect(order).to.deep.equal([2, 0, 1, 3, 4]);
    expect(list.size).to.equal(0);
  });

  it('SKIP leaves an entry in place while later ones are taken', () => {
    const list = new PendingList();
    for (let seq = 1; seq <= 6; seq++) list.insert(entry(seq));
    list.scan((e) => (e.data.seq % 2 === 0 ? TAKE : SKIP));
    expect(list.drain().map((e) => e.data.seq)).to.deep.equal([1, 3, 5]);
  });

  it('inserts made while a scan runs land after it', () => {
    const list = new PendingList();
    list.insert(entry(10));
    list.scan((e) => {
      if (e.data.seq === 10) list.insert(entry(5));
      return TAKE;
    });
    expect(list.drain().map((e) => e.data.seq)).to.deep.equal([5]);
  });
});
