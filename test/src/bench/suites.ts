// `npm run bench` (and `node bench/run.mjs`): runs the benchmark suites one after the other, each in
// its own process so one suite's brokers and timers cannot skew the next. BENCH_SUITE picks them:
// `messaging` (throughput and latency against ActiveMQ, main.ts), `failover` (the pair's failover
// time), `replication` (cross-region lag, switchover and failover), or a comma list; all of them
// by default, in that order.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SUITES: Record<string, string> = {
  messaging: fileURLToPath(new URL('./main.js', import.meta.url)),
  failover: fileURLToPath(new URL('./failover.js', import.meta.url)),
  replication: fileURLToPath(new URL('./replication.js', import.meta.url)),
};

const picked = (process.env['BENCH_SUITE'] ?? Object.keys(SUITES).join(',')).split(',').map((s) => s.trim()).filter((s) => s !== '');
const unknown = picked.filter((s) => SUITES[s] === undefined);
if (unknown.length > 0) {
  process.stderr.write(`BENCH_SUITE: unknown suite ${unknown.join(', ')} (allowed: ${Object.keys(SUITES).join(', ')})\n`);
  process.exit(2);
}

let status = 0;
for (const suite of picked) {
  process.stdout.write(`\n=== bench suite: ${suite} ===\n`);
  const run = spawnSync(process.execPath, [SUITES[suite]!], { stdio: 'inherit' });
  if (run.status !== 0) status = 1;
}
process.exit(status);
