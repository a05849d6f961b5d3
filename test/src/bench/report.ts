// Benchmark reporting: the machine it ran on, results as JSON, and the Markdown table for BENCHMARKS.md.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { WorkloadResult } from './workloads.js';

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memoryGiB: number;
  /** The filesystem holding the brokers' data (fsync costs depend on it). */
  dataFilesystem: string;
  node: string;
  java: string;
  os: string;
}

export type BrokerName = 'tandem' | 'activemq';

export interface ScenarioRun {
  scenario: string;
  mode: 'durability' | 'throughput';
  broker: BrokerName;
  result?: WorkloadResult;
  error?: string;
}

export interface ScenarioSpec {
  id: string;
  title: string;
  /** The goal as the issue states it: Tandem's msg/s at least this many times ActiveMQ's. */
  targetRatio: number;
  /** The goal also asks that Tandem's p99 be no worse than ActiveMQ's. */
  p99NoWorse: boolean;
  /** Shown in the Mode column instead of the storage mode, for workloads it cannot affect. */
  modeLabel?: string;
}

export function machineInfo(java: string): MachineInfo {
  const cpuinfo = readOr('/proc/cpuinfo');
  const meminfo = readOr('/proc/meminfo');
  const memKb = Number(/MemTotal:\s+(\d+)/.exec(meminfo)?.[1] ?? os.totalmem() / 1024);
  return {
    nproc: os.availableParallelism(),
    cpuModel: /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((memKb / 1024 / 1024) * 10) / 10,
    dataFilesystem: filesystemOf(os.tmpdir()),
    node: process.version,
    java,
    os: `${os.type()} ${os.release()}`,
  };
}

function readOr(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function filesystemOf(dir: string): string {
  try {
    const out = execFileSync('df', ['-T', dir], { encoding: 'utf8' }).trim().split('\n');
    const fields = out[out.length - 1]?.split(/\s+/) ?? [];
    return `${fields[1] ?? 'unknown'} (${dir})`;
  } catch {
    return `unknown (${dir})`;
  }
}

const fmtRate = (n: number): string => Math.round(n).toLocaleString('en-US');
const fmtMs = (n: number): string => (n < 10 ? n.toFixed(2) : n.toFixed(1));

/** One line for the console as each run finishes. */
export function describeRun(run: ScenarioRun): string {
  const name = `${run.broker.padEnd(8)} ${run.mode.padEnd(10)} ${run.scenario.padEnd(18)}`;
  if (!run.result) return `${name} FAILED: ${run.error ?? 'unknown error'}`;
  const r = run.result;
  return `${name} ${fmtRate(r.msgPerSec).padStart(9)} msg/s  p50 ${fmtMs(r.latency.p50)} ms  p99 ${fmtMs(r.latency.p99)} ms  (${r.deliveries} deliveries, exactly once)`;
}

export function markdownTable(
  specs: ScenarioSpec[],
  runs: ScenarioRun[],
  machine: MachineInfo,
  meta: { date: string; command: string; messages: number; fanoutMessages: number },
): string {
  const find = (spec: ScenarioSpec, mode: string, broker: BrokerName): ScenarioRun | undefined =>
    runs.find((r) => r.scenario === spec.id && r.mode === mode && r.broker === broker);
  const cell = (run: ScenarioRun | undefined): string =>
    !run ? 'not run' : run.result ? `${fmtRate(run.result.msgPerSec)} msg/s, p50 ${fmtMs(run.result.latency.p50)} / p99 ${fmtMs(run.result.latency.p99)} ms` : 'failed';
  const lines = [
    `Machine: ${machine.nproc} CPUs (${machine.cpuModel}), ${machine.memoryGiB} GiB RAM, data on ${machine.dataFilesystem}; ${machine.os}; Node ${machine.node}; ${machine.java}.`,
    `Date: ${meta.date}. Command: \`${meta.command}\`. Queue scenarios: ${meta.messages.toLocaleString('en-US')} messages of 1 KiB; fan-out: ${meta.fanoutMessages.toLocaleString('en-US')} messages to 4 subscribers. Latency is send to receive.`,
    '',
    '| Scenario | Mode | Tandem MQ | ActiveMQ 5.17 | Ratio (msg/s) | Target | Met |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const spec of specs) {
    for (const mode of ['durability', 'throughput'] as const) {
      const tandem = find(spec, mode, 'tandem');
      const activemq = find(spec, mode, 'activemq');
      if (!tandem && !activemq) continue;
      const ratio = tandem?.result && activemq?.result ? tandem.result.msgPerSec / activemq.result.msgPerSec : undefined;
      const target = targetFor(spec, mode);
      const met =
        ratio === undefined || target === undefined
          ? 'n/a'
          : ratio >= target.ratio && (!target.p99 || tandem!.result!.latency.p99 <= activemq!.result!.latency.p99)
            ? 'yes'
            : 'no';
      lines.push(
        `| ${spec.title} | ${spec.modeLabel ?? mode} | ${cell(tandem)} | ${cell(activemq)} | ${ratio === undefined ? 'n/a' : `${ratio.toFixed(2)}x`} | ${target ? `>= ${target.ratio}x${target.p99 ? ', p99 no worse' : ''}` : '-'} | ${met} |`,
      );
    }
  }
  return lines.join('\n') + '\n';
}

/** The goals apply where the issue states them: (b) in durability mode, (a) and fan-out in either. */
function targetFor(spec: ScenarioSpec, mode: string): { ratio: number; p99: boolean } | undefined {
  if (spec.id === 'queue-window' && mode !== 'durability') return undefined;
  return { ratio: spec.targetRatio, p99: spec.p99NoWorse };
}

export function writeResults(dir: string, stamp: string, json: unknown, markdown: string): { json: string; markdown: string } {
  fs.mkdirSync(dir, { recursive: true });
  const jsonPath = path.join(dir, `bench-${stamp}.json`);
  const mdPath = path.join(dir, `bench-${stamp}.md`);
  fs.writeFileSync(jsonPath, JSON.stringify(json, null, 2) + '\n');
  fs.writeFileSync(mdPath, markdown);
  fs.copyFileSync(jsonPath, path.join(dir, 'latest.json'));
  fs.copyFileSync(mdPath, path.join(dir, 'latest.md'));
  return { json: jsonPath, markdown: mdPath };
}
