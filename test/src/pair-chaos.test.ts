// The chaos test: a pair on one data directory, a failover-client producer sending persistent
// messages with receipts while a failover-client consumer acknowledges each one, and at a random
// point a real signal to the active (kill -9; SIGSTOP past the lease, then SIGCONT; SIGTERM), in
// both storage modes. Each run: no receipted message lost, nothing delivered again after its ACK
// was receipted, nothing stored twice, and the journal consistent after restarting both brokers.
// Each takeover, restart and hand-over must leave an epoch record sealing the segment before it.
// TANDEM_CHAOS_MESSAGES sets the count (2,000 by default; the full run is 20,000).
import { expect } from 'chai';
import { describeChaos, handOver, journalEpochs, restartBoth, runChaos, type ChaosSignal, type JournalEpoch } from './harness/chaos.js';
import { BrokerPair, usePairCleanup, type MemberName, type PairMember } from './harness/pair.js';

/**
 * The epoch record `member` wrote when it took the journal over: the first record of a segment,
 * with its pid, sealing the segment right before (so segment names stay contiguous offsets).
 */
async function expectEpochRecord(pair: BrokerPair, member: PairMember, what: string): Promise<JournalEpoch> {
  const { epoch } = await member.role();
  const found = journalEpochs(pair.dataDir).find((e) => e.record.epoch === epoch && e.record.seal !== undefined);
  expect(found, `${what}: an epoch record for epoch ${epoch} with a seal`).to.not.equal(undefined);
  expect(found!.record.pid, `${what}: written by ${member.name}`).to.equal(member.pid);
  expect(found!.offset, `${what}: the first record of its segment`).to.equal(32);
  expect(found!.record.seal!.segment + found!.record.seal!.length, `${what}: the new segment starts where the sealed one ends`).to.equal(Number(found!.segment.slice(0, 20)));
  return found!;
}

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

        const takeover = await expectEpochRecord(pair, pair.member(result.successor as MemberName), 'the takeover');

        const { active, problems, cleanShutdown, depth } = await restartBoth(pair, result.queue);
        expect(problems, 'journal recovery problems after restarting both').to.equal(0);
        expect(cleanShutdown).to.equal(true);
        expect(depth, 'every message was acknowledged, so none is left').to.equal(0);
        const restart = await expectEpochRecord(pair, active, 'the restart');
        expect(restart.record.epoch).to.be.greaterThan(takeover.record.epoch);
        const epochs = journalEpochs(pair.dataDir).map((e) => e.record.epoch);
        expect(epochs, 'epochs only grow along the journal').to.deep.equal([...epochs].sort((a, b) => a - b));

        // The other member recovers the same journal the same way when it takes over in turn.
        const handed = await handOver(pair, result.queue);
        expect(handed.problems, 'journal recovery problems after the hand-over').to.equal(0);
        expect(handed.depth).to.equal(0);
        expect(handed.epoch).to.be.greaterThan(restart.record.epoch);
        await expectEpochRecord(pair, handed.active, 'the hand-over');
      });
    }
  });
}
