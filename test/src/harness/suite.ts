// Mocha wiring: one broker per describe block (started before, stopped after), client sockets
// released after each test, and the broker's output printed when a test fails.
import { BrokerProcess, type StartOptions } from './broker-process.js';
import { releaseClients, removeTempDir } from './cleanup-registry.js';

export class BrokerHandle {
  current?: BrokerProcess;

  get broker(): BrokerProcess {
    if (!this.current) throw new Error('the suite broker is not running (its before hook failed?)');
    return this.current;
  }

  get stompPort(): number {
    return this.broker.ports.stomp;
  }

  get adminPort(): number {
    return this.broker.ports.admin;
  }

  get websocketPort(): number {
    const port = this.broker.ports.websocket;
    if (port === undefined) throw new Error('the broker reported no websocket listener');
    return port;
  }
}

/** Starts a broker for the enclosing describe; tests may replace `handle.current` (e.g. after a restart). */
export function useBroker(options: StartOptions = {}): BrokerHandle {
  const handle = new BrokerHandle();
  before(async function () {
    this.timeout(30000);
    handle.current = await BrokerProcess.start(options);
  });
  afterEach(function () {
    releaseClients();
    if (this.currentTest?.state === 'failed' && handle.current) {
      process.stderr.write(`\n--- broker output (last lines) for "${this.currentTest.title}" ---\n${handle.current.tail()}\n---\n`);
    }
  });
  after(async function () {
    this.timeout(30000);
    releaseClients();
    const broker = handle.current;
    if (broker) {
      await broker.stop();
      removeTempDir(broker.dir);
    }
  });
  return handle;
}

/** For suites that start their own brokers: kills and removes them after each test, pass or fail. */
export function useBrokerCleanup(): Set<BrokerProcess> {
  const started = new Set<BrokerProcess>();
  afterEach(async function () {
    this.timeout(30000);
    releaseClients();
    const failed = this.currentTest?.state === 'failed';
    for (const broker of started) {
      if (failed) process.stderr.write(`\n--- broker output (last lines) ---\n${broker.tail()}\n---\n`);
      await broker.kill();
    }
    for (const dir of new Set([...started].map((b) => b.dir))) removeTempDir(dir);
    started.clear();
  });
  return started;
}
