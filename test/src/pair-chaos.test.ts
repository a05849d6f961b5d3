// The chaos test: a pair on one data directory, a failover-client producer sending persistent
// messages with receipts while a failover-client consumer acknowledges each one, and at a random
// point a real signal to the active (kill -9; SIGSTOP past the lease, then SIGCONT; SIGTERM), in
// both storage modes. Each run: no receipted message lost, nothing delivered again after its ACK
// was receipted, nothing stored twice, and the journal consistent after restarting both brokers.
// TANDEM_CHAOS_MESSAGES sets the count (2,000 by default; the full run is 20,000).
import { expect } from 'chai';
import { describeChaos, restartBoth, runChaos, type ChaosSignal } from './harness/chaos.js';
import { BrokerPair, usePairCleanup } from './harness/pair.js';

const MESSAGES = Number(process.env['TANDEM_CHAOS_MESSAGES'] ?? 2000);
if (!Number.isInteger(MESSAGES) || MESSAGES < 100) throw new Error(`TANDEM_CHAOS_MESSAGES must be an integer of at least 100, got ${String(process.env['TANDEM_CHAOS_MESSAGES'])}`);

const SIGNALS: Array<[ChaosSignal, string]> = [
  ['SIGKILL', 'kill -9 of the active'],
  ['SIGSTOP', 'SIGSTOP of the active held past the lease, then SIGCONT (it must fence itself)'],
  ['SIGTERM', 'SIGTERM of the active'],
];

for (const mode of ['durability', 'throughput'] as const) {
  describe(`pair chaos, ${mode} mode (${MESSAGES} messages)`, function () {
    this.timeout(120000 + MESSAGES * 20);
    const started = usePairCleanup();

    for (const [signal, what] of SIGNALS) {
      it(`${what}: no receipted message lost, none delivered again after its ACK, the journal consistent after a restart of both`, async function () {
        const pair = await BrokerPair.start({ mode });
        started.add(pair);
        const result = await runChaos(pair, { signal, messages: MESSAGES });
        process.stdout.write(`      ${describeChaos(result, mode)}\n`);

        expect(result.failures, 'sends never fail (unconfirmed ones are resent); ACKs fail only as stale').to.deep.equal([]);
        expect(result.receipted).to.equal(MESSAGES);
        expect(result.lost, 'receipted and never delivered').to.deep.equal([]);
        expect(result.afterAck, 'delivered again after a receipted ACK').to.deep.equal([]);
        expect(result.storedTwice, 'a resent message stored twice').to.deep.equal([]);
        expect(result.failoverMs, 'the producer got a receipt from the new active').to.be.a('number');
        if (signal === 'SIGSTOP') expect(result.victimFenced, 'the paused active fenced itself on waking').to.equal(true);

        const { problems, cleanShutdown, depth } = await restartBoth(pair, result.queue);
        expect(problems, 'journal recovery problems after restarting both').to.equal(0);
        expect(cleanShutdown).to.equal(true);
        expect(depth, 'every message was acknowledged, so none is left').to.equal(0);
      });
    }
  });
}
