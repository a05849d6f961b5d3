// The replication benchmark (`BENCH_SUITE=replication npm run bench`): a primary region's broker
// and a replica region's broker in durability mode. First 10,000 msg/s of 1 KiB persistent
// messages for 60 s with receipts, consumed with ACKs: the replication lag as both sides' GET
// /replication report it (sampled every 50 ms) and per message, from its RECEIPT at the primary to
// the replica's cursor covering it. Then promotions under the same load on fresh regions:
// SWITCHOVER and kill -9 + FAILOVER, each timed from the command to the first RECEIPT from the new
// primary, with their message counts. Environment: BENCH_REPLICATION_SECONDS (60),
// BENCH_REPLICATION_RATE (10000), BENCH_PROMOTE_RUNS (5), BENCH_PROMOTE_RATE (the same rate),
// BENCH_PROMOTE_PHASES (switchover,failover).
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { killAllChildren } from '../harness/cleanup-registry.js';
import { SEQ_HEADER, runPacedLoad, type PacedLoadResult } from './paced-load.js';
import { runPromotion, type PromoteRunResult } from './promote-run.js';
import { Regions } from './region-brokers.js';
import { ReplicaTail } from './replica-tail.js';
import { machineInfo } from './report.js';
import { summarize, type LatencySummary } from './stats.js';
import { envInt } from './env.js';

const RESULTS_DIR = fileURLToPath(new URL('../../../bench/results/', import.meta.url));

const SECONDS = envInt('BENCH_REPLICATION_SECONDS', 60);
const RATE = envInt('BENCH_REPLICATION_RATE', 10000);
const PROMOTE_RUNS = envInt('BENCH_PROMOTE_RUNS', 5);
const PROMOTE_RATE = envInt('BENCH_PROMOTE_RATE', RATE);
const PHASES = (process.env['BENCH_PROMOTE_PHASES'] ?? 'switchover,failover').split(',').map((s) => s.trim()).filter((s) => s !== '');
const BODY_SIZE = 1024;
const WINDOW = 1000;
const SAMPLE_MS = 50;
const WARMUP_SECONDS = 2;
const TARGETS = { lagP99Ms: 250, switchoverMs: 5000, failoverMs: 2000 };

interface LagSample {
  at: number;
  side: 'primary' | 'replica';
  seconds: number;
  records: number;
  bytes: number;
}

interface LagReport {
  load: Omit<PacedLoadResult, 'sentAt' | 'receiptAt'>;
  /** lag.seconds in ms, per side, over the samples taken while the load ran. */
  primarySeconds: LatencySummary;
  replicaSeconds: LatencySummary;
  replicaRecords: LatencySummary;
  replicaBytes: LatencySummary;
  /** Per message: RECEIPT at the primary to durable at the replica (ms), and from SEND. */
  receiptToReplica: LatencySummary;
  sendToReplica: LatencySummary;
  unmeasured: number;
  samples: number;
  caughtUpMs: number | undefined;
}

interface PromoteSeries {
  mode: 'SWITCHOVER' | 'FAILOVER';
  runs: PromoteRunResult[];
  failedRuns: string[];
}

const log = (line: string): void => void process.stdout.write(line + '\n');

async function lagPhase(): Promise<LagReport> {
  const regions = await Regions.start('durability');
  try {
    const now = (): number => performance.now();
    const durableAt = new Map<number, number>();
    const destination = `/queue/replication.${randomUUID()}`;
    const tail = new ReplicaTail(regions.replica.dataDir, SEQ_HEADER, (value, at, where) => where === destination && durableAt.set(Number(value), at), now);
    const samples: LagSample[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const at = now();
        const views = await Promise.allSettled([regions.primary.replication(), regions.replica.replication()]);
        views.forEach((view, i) => {
          if (view.status === 'fulfilled') samples.push({ at, side: i === 0 ? 'primary' : 'replica', ...view.value.lag });
        });
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, SAMPLE_MS - (now() - at))));
      }
    })();
    // Warm-up on its own queue, as the other suites do: JIT and the first segments stay out of the numbers.
    await runPacedLoad({ port: regions.primary.ports.stomp, rate: RATE, seconds: WARMUP_SECONDS, window: WINDOW, bodySize: BODY_SIZE, prefetch: 1000, now, timeoutMs: 120000 });
    tail.start();
    let load: PacedLoadResult;
    try {
      load = await runPacedLoad({ port: regions.primary.ports.stomp, destination, rate: RATE, seconds: SECONDS, window: WINDOW, bodySize: BODY_SIZE, prefetch: 1000, now, timeoutMs: 120000 });
    } finally {
      sampling = false;
      await sampler;
    }
    // The tail keeps reading until the replica holds every receipted message, or (when it reclaimed
    // a segment before the tail read it) until the primary sees no lag left.
    const loadEnd = load.startedAt + load.sendPhaseMs;
    let caughtUpMs: number | undefined;
    const deadline = now() + 30000;
    while (now() < deadline) {
      tail.poll();
      const done = durableAt.size >= load.receipted || (tail.segmentsMissed > 0 && (await regions.primary.replication()).lag.bytes === 0);
      if (done) {
        caughtUpMs = now() - loadEnd;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    tail.stop();
    const fromReceipt: number[] = [];
    const fromSend: number[] = [];
    for (let seq = 0; seq < load.planned; seq++) {
      const at = durableAt.get(seq);
      if (at === undefined || Number.isNaN(load.receiptAt[seq]!)) continue;
      fromReceipt.push(at - load.receiptAt[seq]!);
      fromSend.push(at - load.sentAt[seq]!);
    }
    const during = samples.filter((s) => s.at >= load.startedAt && s.at <= loadEnd);
    const series = (side: LagSample['side'], pick: (s: LagSample) => number): LatencySummary =>
      summarize(Float64Array.from(during.filter((s) => s.side === side).map(pick)));
    const { sentAt: _sentAt, receiptAt: _receiptAt, ...loadSummary } = load;
    return {
      load: loadSummary,
      primarySeconds: series('primary', (s) => s.seconds * 1000),
      replicaSeconds: series('replica', (s) => s.seconds * 1000),
      replicaRecords: series('replica', (s) => s.records),
      replicaBytes: series('replica', (s) => s.bytes),
      receiptToReplica: summarize(Float64Array.from(fromReceipt)),
      sendToReplica: summarize(Float64Array.from(fromSend)),
      unmeasured: load.receipted - fromReceipt.length,
      samples: during.filter((s) => s.side === 'replica').length,
      caughtUpMs,
    };
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${regions.tails()}`);
  } finally {
    await regions.dispose();
  }
}

async function promoteRun(mode: PromoteSeries['mode']): Promise<PromoteRunResult> {
  const regions = await Regions.start('durability');
  try {
    return await runPromotion({
      uri: regions.failoverUri(),
      newPrimary: regions.replica.endpoint,
      rate: PROMOTE_RATE,
      window: WINDOW,
      bodySize: BODY_SIZE,
      beforeMs: 3000,
      afterMs: 1000,
      command: async () => {
        if (mode === 'FAILOVER') await regions.primary.process!.kill();
        return regions.replica.promote(mode);
      },
      drained: (queue) => regions.replica.drained(queue),
      timeoutMs: 60000,
    });
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${regions.tails()}`);
  } finally {
    await regions.dispose();
  }
}

/** The RPO time the FAILOVER answer gives (epoch ms), if it does. */
function rpoTime(answer: unknown): number | undefined {
  const time = (answer as { rpo?: { time?: string } } | undefined)?.rpo?.time;
  return time === undefined ? undefined : Date.parse(time);
}

/**
 * Problems with a run's counts. A SWITCHOVER loses nothing and repeats nothing. A FAILOVER gives up
 * what the primary receipted after its RPO time, sends and ACKs alike (an ACK lost that way brings
 * its message again), and nothing receipted before it.
 */
function countProblems(mode: PromoteSeries['mode'], run: PromoteRunResult): string[] {
  const problems: string[] = [];
  const rpo = mode === 'FAILOVER' ? rpoTime(run.answer) : undefined;
  if (mode === 'FAILOVER' && rpo === undefined) problems.push('the FAILOVER answer gives no rpo.time');
  const lost = rpo === undefined ? run.lost.length : run.lost.filter((l) => l.receiptAt <= rpo).length;
  const afterAck = rpo === undefined ? run.afterAck.length : run.afterAck.filter((a) => !(a.ackAt > rpo)).length;
  const beforeRpo = mode === 'FAILOVER' ? ' (receipted before the RPO time)' : '';
  if (lost > 0) problems.push(`${lost} receipted messages lost${beforeRpo}`);
  if (run.storedTwice > 0) problems.push(`${run.storedTwice} stored twice`);
  if (afterAck > 0) problems.push(`${afterAck} delivered again after their ACK${beforeRpo}`);
  if (run.failures.length > 0) problems.push(`${run.failures.length} client failures (${run.failures[0]})`);
  if (run.promoteMs === undefined) problems.push('no receipt from the new primary');
  return problems;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : Math.round((sorted[mid - 1]! + sorted[mid]!) / 2);
}

const ms = (value: number): string => `${value.toFixed(value < 10 ? 1 : 0)} ms`;
const met = (ok: boolean): string => (ok ? 'yes' : 'no');
const int = (value: number): string => Math.round(value).toLocaleString('en-US');

function markdown(lag: LagReport | undefined, lagError: string | undefined, series: PromoteSeries[], date: string, machine: ReturnType<typeof machineInfo>): string {
  const lines = [`## Cross-region replication (${date})`, ''];
  lines.push(
    `One broker per region on one host (loopback, data on ${machine.dataFilesystem}), durability mode, linked by the brokers' own replication. ` +
      `Load: ${int(RATE)} msg/s of ${BODY_SIZE} B persistent messages asked for ${SECONDS} s, each with a receipt (up to ${WINDOW} in flight), one consumer ACKing each.`,
    '',
  );
  if (lag === undefined) {
    lines.push(`Lag run failed: ${lagError ?? 'not run'}`, '');
  } else {
    const l = lag.load;
    lines.push(
      `Achieved ${int(l.achievedRate)} msg/s (${int(l.receipted)} of ${int(l.planned)} receipted in ${(l.sendPhaseMs / 1000).toFixed(1)} s; at most ${int(l.maxBehind)} behind the pace); ` +
        `delivered ${int(l.delivered)}, missing ${l.missing}, duplicated ${l.duplicates}. Replica caught up ${lag.caughtUpMs === undefined ? 'not within 30 s' : `${ms(lag.caughtUpMs)} after the last receipt`}.`,
      '',
      '| lag | p50 | p99 | max | target | met |',
      '| --- | ---: | ---: | ---: | --- | --- |',
      `| replica's GET /replication lag.seconds (${lag.samples} samples, every ${SAMPLE_MS} ms) | ${ms(lag.replicaSeconds.p50)} | ${ms(lag.replicaSeconds.p99)} | ${ms(lag.replicaSeconds.max)} | p99 <= ${TARGETS.lagP99Ms} ms | ${met(lag.replicaSeconds.p99 <= TARGETS.lagP99Ms)} |`,
      `| primary's GET /replication lag.seconds | ${ms(lag.primarySeconds.p50)} | ${ms(lag.primarySeconds.p99)} | ${ms(lag.primarySeconds.max)} | p99 <= ${TARGETS.lagP99Ms} ms | ${met(lag.primarySeconds.p99 <= TARGETS.lagP99Ms)} |`,
      `| per message: RECEIPT at the primary to durable at the replica (${int(lag.receiptToReplica.samples)} messages) | ${ms(lag.receiptToReplica.p50)} | ${ms(lag.receiptToReplica.p99)} | ${ms(lag.receiptToReplica.max)} | p99 <= ${TARGETS.lagP99Ms} ms | ${met(lag.receiptToReplica.p99 <= TARGETS.lagP99Ms)} |`,
      `| per message: SEND to durable at the replica | ${ms(lag.sendToReplica.p50)} | ${ms(lag.sendToReplica.p99)} | ${ms(lag.sendToReplica.max)} | - | - |`,
      `| replica's lag.records | ${int(lag.replicaRecords.p50)} | ${int(lag.replicaRecords.p99)} | ${int(lag.replicaRecords.max)} | - | - |`,
      `| replica's lag.bytes | ${int(lag.replicaBytes.p50)} | ${int(lag.replicaBytes.p99)} | ${int(lag.replicaBytes.max)} | - | - |`,
      '',
      'Per message: the benchmark polls the replica\'s cursor file every 5 ms and reads its segments up to it, so "durable at the replica" is the first poll that found the message behind the cursor ' +
        `(the cursor is written after the bytes are fdatasynced). ${lag.unmeasured} receipted messages went unmeasured (in segments the replica reclaimed before the poll read them).`,
      '',
    );
  }
  if (series.length > 0) {
    lines.push(
      `Promotion: ${PROMOTE_RUNS} runs each on fresh regions, a failover-client producer at ${int(PROMOTE_RATE)} msg/s (URI naming both brokers) and a failover-client consumer with client-individual ACKs; ` +
        'the command comes after 3 s of load. SWITCHOVER: POST /promote on the replica. FAILOVER: kill -9 of the primary, then POST /promote. ' +
        'Time: from the command (the kill, for FAILOVER) to the first RECEIPT from the new primary. Lost: receipted, never delivered. After ACK: delivered again after its ACK was receipted. ' +
        'A FAILOVER may give up sends and ACKs receipted after its RPO time (never before it); a SWITCHOVER neither.',
      '',
      '| promotion | median | max | target | met | lost | stored twice | after ACK | redelivered | failed runs |',
      '| --- | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const s of series) {
      const times = s.runs.flatMap((r) => (r.promoteMs === undefined ? [] : [r.promoteMs]));
      const target = s.mode === 'SWITCHOVER' ? TARGETS.switchoverMs : TARGETS.failoverMs;
      const lost = s.runs.reduce((n, r) => n + r.lost.length, 0);
      const sum = (pick: (r: PromoteRunResult) => number): number => s.runs.reduce((n, r) => n + pick(r), 0);
      lines.push(
        `| ${s.mode} | ${times.length === 0 ? '-' : ms(median(times))} | ${times.length === 0 ? '-' : ms(Math.max(...times))} | <= ${target / 1000} s | ${met(times.length > 0 && Math.max(...times) <= target && s.failedRuns.length === 0)} | ` +
          `${lost} | ${sum((r) => r.storedTwice)} | ${sum((r) => r.afterAck.length)} | ${sum((r) => r.redeliveries)} | ${s.failedRuns.length} |`,
      );
    }
    const failover = series.find((s) => s.mode === 'FAILOVER');
    if (failover !== undefined && failover.runs.length > 0) {
      const windows = failover.runs.flatMap((r) => {
        const rpo = rpoTime(r.answer);
        return rpo === undefined ? [] : [r.commandAt - rpo];
      });
      lines.push(
        '',
        `FAILOVER's RPO: the last replicated record was seen at the primary ${windows.length === 0 ? '(no RPO time in the answer)' : `${ms(median(windows))} (median; max ${ms(Math.max(...windows))})`} before the kill; ` +
          `the messages lost are those receipted after that time.`,
      );
    }
    for (const s of series) for (const failure of s.failedRuns) lines.push('', `${s.mode} run failed: ${failure}`);
    lines.push('');
  }
  lines.push(`Machine: ${machine.nproc} CPUs, ${machine.cpuModel}, ${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}.`, '');
  return lines.join('\n');
}

async function main(): Promise<number> {
  const machine = machineInfo('no Java run');
  log(`replication: ${int(RATE)} msg/s for ${SECONDS} s, then ${PROMOTE_RUNS} runs each of ${PHASES.join(', ')} at ${int(PROMOTE_RATE)} msg/s`);
  let ok = true;
  let lag: LagReport | undefined;
  let lagError: string | undefined;
  try {
    lag = await lagPhase();
    log(`  lag: replica lag.seconds p99 ${ms(lag.replicaSeconds.p99)}, per message p99 ${ms(lag.receiptToReplica.p99)}, achieved ${int(lag.load.achievedRate)} msg/s`);
    if (lag.load.missing > 0 || lag.load.duplicates > 0) ok = false;
  } catch (error) {
    lagError = (error as Error).message;
    log(`  lag run failed: ${lagError}`);
    ok = false;
  }
  const series: PromoteSeries[] = [];
  for (const phase of PHASES) {
    const mode = phase.toUpperCase() as PromoteSeries['mode'];
    if (mode !== 'SWITCHOVER' && mode !== 'FAILOVER') throw new Error(`BENCH_PROMOTE_PHASES: unknown ${phase} (allowed: switchover, failover)`);
    const s: PromoteSeries = { mode, runs: [], failedRuns: [] };
    for (let run = 0; run < PROMOTE_RUNS; run++) {
      try {
        const result = await promoteRun(mode);
        const problems = countProblems(mode, result);
        s.runs.push(result);
        if (problems.length > 0) {
          s.failedRuns.push(problems.join(', '));
          ok = false;
        }
        log(`  ${mode}: ${result.promoteMs ?? '-'} ms to the first receipt from the new primary; ${result.receipted}/${result.sent} receipted, ${result.lost.length} lost${problems.length > 0 ? `; WRONG: ${problems.join(', ')}` : ''}`);
      } catch (error) {
        const message = (error as Error).message;
        s.failedRuns.push(message.split('\n')[0]!);
        ok = false;
        log(`  ${mode} run failed: ${message}`);
      }
    }
    series.push(s);
  }
  const date = new Date().toISOString();
  const table = markdown(lag, lagError, series, date, machine);
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = date.replace(/[:.]/g, '-');
  const json = path.join(RESULTS_DIR, `replication-${stamp}.json`);
  const settings = { seconds: SECONDS, rate: RATE, promoteRuns: PROMOTE_RUNS, promoteRate: PROMOTE_RATE, bodySize: BODY_SIZE, window: WINDOW, sampleMs: SAMPLE_MS };
  const promotions = series.map((s) => ({ ...s, runs: s.runs.map((r) => ({ ...r, lost: r.lost.length, afterAck: r.afterAck.length })) }));
  fs.writeFileSync(json, JSON.stringify({ date, machine, settings, lag, lagError, promotions }, null, 2) + '\n');
  fs.writeFileSync(path.join(RESULTS_DIR, `replication-${stamp}.md`), table);
  fs.copyFileSync(json, path.join(RESULTS_DIR, 'replication-latest.json'));
  fs.writeFileSync(path.join(RESULTS_DIR, 'replication-latest.md'), table);
  log('\n' + table);
  log(`results: ${path.relative(process.cwd(), json)}`);
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`replication bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    killAllChildren();
    process.exit(1);
  },
);
