// The file lock between real processes: holders are killed (-9), stopped and continued, sent
// SIGTERM, and have their lock deleted under them. Every child is SIGKILLed after each test.
import { expect } from 'chai';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { LOCK_DIR_NAME } from './holder-record.js';

const HOLDER_SCRIPT = fileURLToPath(new URL('./testing/lock-holder-process.js', import.meta.url));

type Event = Record<string, unknown> & { event: string };

interface Holder {
  child: ChildProcessWithoutNullStreams;
  pid: number;
  events: Event[];
  /** Resolves with the first `event` line (past or future) matching; rejects after `limitMs`. */
  next(event: string, limitMs?: number): Promise<Event>;
  has(event: string): boolean;
  send(command: string): void;
}

describe('FileDirectoryLock between processes', function () {
  this.timeout(20_000);
  let dataDir: string;
  const children: ChildProcessWithoutNullStreams[] = [];

  beforeEach(async function () {
    dataDir = await mkdtemp(join(tmpdir(), 'tandem-lock-proc-'));
  });
  afterEach(async function () {
    await Promise.all(
      children.splice(0).map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGKILL'); // also ends a stopped process
          }),
      ),
    );
    await rm(dataDir, { recursive: true, force: true });
  });

  function holder(options: Record<string, unknown> = {}): Holder {
    const child = spawn(process.execPath, [HOLDER_SCRIPT, JSON.stringify({ dataDir, retryIntervalMs: 50, ...options })]);
    children.push(child);
    const events: Event[] = [];
    const waiters: Array<() => void> = [];
    createInterface({ input: child.stdout }).on('line', (line) => {
      events.push(JSON.parse(line) as Event);
      for (const wake of waiters.splice(0)) wake();
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    return {
      child,
      pid: child.pid!,
      events,
      has: (event) => events.some((e) => e.event === event),
      send: (command) => child.stdin.write(`${command}\n`),
      next(event, limitMs = 8000) {
        return new Promise((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`no "${event}" from pid ${child.pid} within ${limitMs} ms; saw ${JSON.stringify(events)} ${stderr}`)),
            limitMs,
          );
          const check = (): void => {
            const found = events.find((e) => e.event === event);
            if (found !== undefined) {
              clearTimeout(timer);
              resolve(found);
            } else waiters.push(check);
          };
          check();
        });
      },
    };
  }

  const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

  it('kill -9, pid check on: the standby breaks the dead holder\'s lock without waiting out a long lease', async function () {
    // A 10 s lease: a takeover inside the 8 s wait can only have come from the pid check.
    const a = holder({ leaseMs: 10_000 });
    const first = await a.next('acquired');
    const b = holder({ leaseMs: 10_000, pidCheck: true });
    await b.next('started');
    await pause(300);
    expect(b.has('acquired'), 'a live holder keeps its lock').to.equal(false);
    a.child.kill('SIGKILL');
    const taken = await b.next('acquired');
    expect(taken).to.include({ via: 'process-gone', epoch: (first['epoch'] as number) + 1 });
    expect((taken['previous'] as Event)['pid']).to.equal(a.pid);
  });

  it('kill -9, pid check off: the standby takes over once the lease is stale', async function () {
    const a = holder({ leaseMs: 2000 });
    const first = await a.next('acquired');
    const b = holder({ leaseMs: 2000, pidCheck: false });
    await b.next('started');
    a.child.kill('SIGKILL');
    const taken = await b.next('acquired');
    expect(taken).to.include({ via: 'stale', epoch: (first['epoch'] as number) + 1 });
  });

  it('SIGTERM: the holder releases and the standby acquires a free lock', async function () {
    const a = holder({ leaseMs: 10_000 });
    await a.next('acquired');
    const b = holder({ leaseMs: 10_000, pidCheck: false });
    await b.next('started');
    a.child.kill('SIGTERM');
    await a.next('released');
    const taken = await b.next('acquired');
    expect(taken).to.include({ via: 'free', epoch: 2 });
  });

  it('SIGSTOP: a paused holder loses the lock to the standby, and after SIGCONT knows it', async function () {
    const a = holder({ leaseMs: 2000 });
    await a.next('acquired');
    const b = holder({ leaseMs: 2000, pidCheck: true });
    await b.next('started');
    a.child.kill('SIGSTOP');
    const taken = await b.next('acquired');
    // The paused process still exists, so only the lease can have let the standby in.
    expect(taken).to.include({ via: 'stale', epoch: 2 });
    a.child.kill('SIGCONT');
    const lost = await a.next('lost');
    expect(['lease-expired', 'replaced']).to.include(lost['reason']);
    expect(lost['epoch']).to.equal(1);
    a.send('verify');
    expect(await a.next('verified')).to.include({ held: false });
    b.send('verify');
    expect(await b.next('verified')).to.include({ held: true });
  });

  it('a removed lock: the holder fires onLost(removed) within a renewal', async function () {
    const a = holder({ leaseMs: 2000 });
    await a.next('acquired');
    await rm(join(dataDir, LOCK_DIR_NAME), { recursive: true });
    const lost = await a.next('lost');
    expect(lost).to.include({ reason: 'removed', epoch: 1 });
  });

  it('two processes started together: exactly one holds', async function () {
    const [a, b] = [holder(), holder()];
    await Promise.all([a.next('started'), b.next('started')]);
    for (let waited = 0; !a.has('acquired') && !b.has('acquired'); waited += 20) {
      if (waited > 8000) throw new Error('neither process acquired the lock');
      await pause(20);
    }
    await pause(500);
    expect(Number(a.has('acquired')) + Number(b.has('acquired'))).to.equal(1);
  });
});
