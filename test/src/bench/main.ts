// `npm run bench`: the same STOMP workloads against Tandem MQ and Debian's ActiveMQ 5.17, in
// durability and throughput modes; prints msg/s, p50/p99 and the ratio, and writes bench/results/.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BrokerProcess } from '../harness/broker-process.js';
import { removeTempDir } from '../harness/cleanup-registry.js';
import { ensureActiveMQ, javaVersion, startActiveMQ, type SyncMode } from './activemq.js';
import { describeRun, machineInfo, markdownTable, writeResults, type BrokerName, type ScenarioRun, type ScenarioSpec } from './report.js';
import { runFanoutWorkload, runQueueWorkload, type WorkloadResult } from './workloads.js';
import { envInt, envList } from './env.js';

const RESULTS_DIR = fileURLToPath(new URL('../../../bench/results/', import.meta.url));

const MESSAGES = envInt('BENCH_MESSAGES', 50000);
const FANOUT_MESSAGES = envInt('BENCH_FANOUT_MESSAGES', 20000);
const TIMEOUT_MS = envInt('BENCH_TIMEOUT_MS', 15 * 60 * 1000);
const BROKERS = envList<BrokerName>('BENCH_BROKERS', ['tandem', 'activemq']);
const MODES = envList<SyncMode>('BENCH_MODES', ['durability', 'throughput']);
const BODY_SIZE = 1024;
const PREFETCH = 1000;

const SPECS: ScenarioSpec[] = [
  { id: 'queue-receipt', title: '(a) queue, receipt awaited per send', targetRatio: 1.5, p99NoWorse: true },
  { id: 'queue-window', title: '(b) queue, up to 1,000 sends in flight', targetRatio: 10, p99NoWorse: false },
  { id: 'topic-fanout', title: 'topic fan-out to 4 subscribers', targetRatio: 2, p99NoWorse: false, modeLabel: 'non-persistent' },
];

interface RunningBroker {
  port: number;
  stop(): Promise<void>;
}

async function startBroker(broker: BrokerName, mode: SyncMode): Promise<RunningBroker> {
  if (broker === 'activemq') return startActiveMQ(mode);
  const tandem = await BrokerProcess.start({ config: { mode, websocket: { enabled: false } } });
  return {
    port: tandem.ports.stomp,
    async stop(): Promise<void> {
      await tandem.stop();
      removeTempDir(tandem.dir);
    },
  };
}

async function scenario(id: string, port: number): Promise<WorkloadResult> {
  switch (id) {
    case 'queue-receipt':
      return runQueueWorkload(port, { messages: MESSAGES, bodySize: BODY_SIZE, window: 1, persistent: true, prefetch: PREFETCH }, TIMEOUT_MS);
    case 'queue-window':
      return runQueueWorkload(port, { messages: MESSAGES, bodySize: BODY_SIZE, window: 1000, persistent: true, prefetch: PREFETCH }, TIMEOUT_MS);
    case 'topic-fanout':
      return runFanoutWorkload(port, { messages: FANOUT_MESSAGES, bodySize: BODY_SIZE, subscribers: 4, window: 1000 }, TIMEOUT_MS);
    default:
      throw new Error(`unknown scenario ${id}`);
  }
}

/** Fan-out is non-persistent, so the storage mode cannot change it: it runs once, in durability mode. */
function scenariosFor(mode: SyncMode): ScenarioSpec[] {
  return SPECS.filter((spec) => spec.id !== 'topic-fanout' || mode === 'durability' || !MODES.includes('durability'));
}

async function main(): Promise<number> {
  const log = (line: string): void => void process.stdout.write(line + '\n');
  const brokers = [...BROKERS];
  if (brokers.includes('activemq') && !ensureActiveMQ(log)) brokers.splice(brokers.indexOf('activemq'), 1);
  const machine = machineInfo(brokers.includes('activemq') ? javaVersion() : 'no Java run');
  log(`machine: ${machine.nproc} CPUs, ${machine.cpuModel}, ${machine.memoryGiB} GiB, data on ${machine.dataFilesystem}`);
  log(`workload: ${MESSAGES} queue messages of ${BODY_SIZE} B, ${FANOUT_MESSAGES} fan-out messages; brokers ${brokers.join(', ')}; modes ${MODES.join(', ')}`);

  const runs: ScenarioRun[] = [];
  for (const mode of MODES) {
    for (const broker of brokers) {
      let running: RunningBroker | undefined;
      try {
        running = await startBroker(broker, mode);
        // Warm-up on its own queue: JIT and first-segment costs stay out of the measurement for both brokers.
        await runQueueWorkload(running.port, { messages: Math.min(2000, MESSAGES), bodySize: BODY_SIZE, window: 100, persistent: true, prefetch: PREFETCH }, TIMEOUT_MS);
        for (const spec of scenariosFor(mode)) {
          const run: ScenarioRun = { scenario: spec.id, mode, broker };
          try {
            run.result = await scenario(spec.id, running.port);
          } catch (error) {
            run.error = error instanceof Error ? error.message : String(error);
          }
          runs.push(run);
          log(describeRun(run));
        }
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        for (const spec of scenariosFor(mode)) {
          if (!runs.some((r) => r.scenario === spec.id && r.mode === mode && r.broker === broker)) {
            const run: ScenarioRun = { scenario: spec.id, mode, broker, error: `broker did not run: ${message}` };
            runs.push(run);
            log(describeRun(run));
          }
        }
      } finally {
        await running?.stop();
      }
    }
  }

  const date = new Date().toISOString();
  const settings = ['BENCH_MESSAGES', 'BENCH_FANOUT_MESSAGES', 'BENCH_BROKERS', 'BENCH_MODES']
    .filter((name) => process.env[name])
    .map((name) => `${name}=${process.env[name]}`);
  const command = [...settings, 'npm run bench'].join(' ');
  const markdown = markdownTable(SPECS, runs, machine, { date, command, messages: MESSAGES, fanoutMessages: FANOUT_MESSAGES });
  const files = writeResults(RESULTS_DIR, date.replace(/[:.]/g, '-'), { date, command, machine, messages: MESSAGES, fanoutMessages: FANOUT_MESSAGES, bodySize: BODY_SIZE, prefetch: PREFETCH, runs }, markdown);
  log('\n' + markdown);
  log(`results: ${path.relative(process.cwd(), files.json)}, ${path.relative(process.cwd(), files.markdown)}`);
  return runs.every((run) => run.result) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
