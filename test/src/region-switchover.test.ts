// SWITCHOVER under steady load: a failover-client producer (receipted persistent sends) and consumer
// (client-individual acks), both given every endpoint of both regions, keep going while the replica
// region is promoted. Nothing receipted is lost, nothing is stored twice or delivered again after
// its confirmed ACK, the roles are reversed on both sides, and replication then flows back.
import { expect } from 'chai';
import { FailoverClient } from '@tandem-mq/failover-client';
import { trackCloser } from './harness/cleanup-registry.js';
import { AckLedger } from './harness/ack-ledger.js';
import { uniqueName } from './harness/names.js';
import { journalDifference } from './harness/replication.js';
import { PRIMARY, REPLICA, regionTests } from './harness/region.js';
import { waitFor } from './harness/wait.js';

describe('regions: SWITCHOVER under steady load', function () {
  this.timeout(120000);
  const regions = regionTests();

  it('loses nothing, duplicates nothing, reverses the roles and replicates the other way', async function () {
    const topology = await regions.create(1);
    const [a] = topology.primary.members;
    const [b] = topology.replica.members;
    await b!.start();
    await a!.start();
    await b!.waitForView('receiving', (v) => v.state === 'receiving');
    const queue = `/queue/${uniqueName('switchover')}`;
    const producer = new FailoverClient(topology.failoverUri());
    const consumer = new FailoverClient(topology.failoverUri());
    trackCloser(() => void producer.close());
    trackCloser(() => void consumer.close());
    await producer.connect();
    await consumer.connect();

    const failures: unknown[] = [];
    const ledger = await AckLedger.subscribe(consumer, queue, { onAckFailure: (_body, error) => failures.push(error) });

    const total = 500;
    const receipted = new Set<string>();
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < total) {
        const body = `m-${next++}`;
        try {
          await producer.send(queue, body);
          receipted.add(body);
        } catch (error) {
          failures.push(error);
        }
      }
    };
    const lanes = Array.from({ length: 4 }, () => lane());
    await waitFor('150 receipts', () => receipted.size >= 150, 30000);
    const promoted = await b!.promote('switchover');
    expect(promoted.status, JSON.stringify(promoted.body)).to.equal(200);
    expect(promoted.body).to.include({ mode: 'SWITCHOVER', region: REPLICA, generation: 2 });
    const opened = await waitFor('the promoted broker to log its store opening', () => b!.logs().find((e) => e['event'] === 'journal.recovered'));
    expect(opened, 'the replica opened its store on the state it kept current').to.have.property('resumedAt');
    expect(receipted.size, 'the load was still running').to.be.below(total);
    process.stdout.write(`      switchover took ${String(promoted.body['tookMs'])} ms (printed, not asserted)\n`);
    await Promise.all(lanes);
    expect(failures, 'no send fails: unconfirmed ones are resent').to.deep.equal([]);
    expect(receipted.size).to.equal(total);
    expect(producer.endpoint, 'the producer moved to the new primary').to.equal(b!.endpoint);

    await waitFor(
      'every receipted message delivered and acknowledged',
      () => ledger.unsettled === 0 && [...receipted].every((body) => ledger.confirmedAcks.has(body)),
      30000,
      50,
    );
    expect(failures, 'only in-doubt ACKs may fail').to.deep.equal([]);
    const storedTwice = ledger.storedTwice();
    expect(storedTwice, 'a message stored twice').to.deep.equal([]);
    const afterAck = ledger.afterAck();
    expect(afterAck, 'delivered again after a confirmed ACK').to.deep.equal([]);
    expect(ledger.deliveries.size).to.equal(total);

    // Roles reversed, one history on both sides.
    const nowPrimary = await b!.waitForView('shipping', (v) => v.state === 'shipping');
    const nowReplica = await a!.waitForView('receiving', (v) => v.state === 'receiving');
    expect(nowPrimary).to.include({ region: REPLICA, role: 'primary', generation: 2 });
    expect(nowReplica).to.include({ region: PRIMARY, role: 'replica', generation: 2 });
    expect(nowPrimary.history).to.deep.equal(nowReplica.history);
    expect(nowPrimary.history.map((h) => [h.mode, h.promotedRegion])).to.deep.equal([['SWITCHOVER', REPLICA]]);
    expect(nowReplica.quarantine, 'a switchover quarantines nothing').to.deep.equal([]);

    // Replication flows back: what the new primary wrote reaches the old primary's directory.
    await waitFor(
      `the old primary to hold the new primary's journal (${journalDifference(topology.replica.dataDir, topology.primary.dataDir) ?? 'matching'})`,
      () => journalDifference(topology.replica.dataDir, topology.primary.dataDir) === undefined,
      20000,
    );
    await producer.close();
    await consumer.close();
  });
});
