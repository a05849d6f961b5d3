// Entry point of the benchmarks (`npm run bench` builds first, then runs the same suites): the
// benchmark is TypeScript compiled with the system-test harness, in test/src/bench/; see
// docs/adr/0007-benchmark-method.md for the method. BENCH_SUITE picks the suites (messaging,
// failover, replication; all by default), e.g. `BENCH_SUITE=replication node bench/run.mjs`.
// messaging: BENCH_MESSAGES (default 50000), BENCH_FANOUT_MESSAGES (20000), BENCH_BROKERS
// (tandem,activemq), BENCH_MODES (durability,throughput), BENCH_TIMEOUT_MS. failover and
// replication: see the head of test/src/bench/failover.ts and replication.ts.
import '../test/dist/bench/suites.js';
