// Entry point of `npm run bench` (which builds first): the benchmark is TypeScript compiled with the
// system-test harness, in test/src/bench/; see docs/adr/0007-benchmark-method.md for the method.
// Environment: BENCH_MESSAGES (default 50000), BENCH_FANOUT_MESSAGES (20000),
// BENCH_BROKERS (tandem,activemq), BENCH_MODES (durability,throughput), BENCH_TIMEOUT_MS.
import '../test/dist/bench/main.js';
