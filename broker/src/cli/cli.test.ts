// The `tandem` command as a child process: help, exit code 2 with a clear message for a bad flag
// or config, and a broker that starts, reports its listeners and stops cleanly on SIGTERM.
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function start(args: string[], cwd: string): { child: ChildProcess; done: Promise<Run>; stdout: () => string } {
  const child = spawn(process.execPath, [MAIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (t: string) => (stdout += t));
  child.stderr!.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  const done = new Promise<Run>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done, stdout: () => stdout };
}

describe('tandem CLI', function () {
  this.timeout(20000);
  let dir: string;
  const children: ChildProcess[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-cli-'));
  });
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  function run(args: string[]): Promise<Run> {
    const started = start(args, dir);
    children.push(started.child);
    return started.done;
  }

  it('tandem --help prints usage and exits 0', async () => {
    const result = await run(['--help']);
    expect(result.code).to.equal(0);
    expect(result.stdout).to.contain('Usage: tandem').and.contain('--data-dir').and.contain('--repair');
  });

  it('tandem --version prints the version', async () => {
    const result = await run(['--version']);
    expect(result.code).to.equal(0);
    expect(result.stdout).to.match(/^tandem \d+\.\d+\.\d+\n$/);
  });

  it('exits 2 for an unknown command', async () => {
    const result = await run(['serve']);
    expect(result.code).to.equal(2);
    expect(result.stderr).to.contain("unknown command 'serve'");
  });

  it('exits 2 for an unknown flag, naming it', async () => {
    const result = await run(['broker', '--colour']);
    expect(result.code).to.equal(2);
    expect(result.stderr).to.contain('--colour');
  });

  it('exits 2 for a bad flag value', async () => {
    const result = await run(['broker', '--mode', 'fast']);
    expect(result.code).to.equal(2);
    expect(result.stderr).to.equal('config error: --mode: must be one of durability, throughput (on the command line)\n');
  });

  it('exits 2 for an invalid config, naming the field and the file, and starts nothing', async () => {
    const file = join(dir, 'broker.yaml');
    writeFileSync(file, 'stomp:\n  port: 70000\n');
    const result = await run(['broker', '--config', file]);
    expect(result.code).to.equal(2);
    expect(result.stderr).to.equal(`config error: stomp.port: must be an integer from 0 to 65535 (in ${file})\n`);
    expect(result.stdout).not.to.contain('broker.starting');
  });

  it('exits 2 for an unreadable config, naming the file', async () => {
    const file = join(dir, 'missing.yaml');
    const result = await run(['broker', '--config', file]);
    expect(result.code).to.equal(2);
    expect(result.stderr).to.contain(`config error: cannot read ${file}`);
  });

  it('runs the broker, logs broker.listening, and stops with exit 0 on SIGTERM', async () => {
    const file = join(dir, 'broker.json');
    writeFileSync(file, JSON.stringify({ stomp: { port: 0 }, websocket: { enabled: false }, admin: { port: 0 } }));
    const broker = start(['broker', '--config', file, '--data-dir', 'journal', '--mode', 'throughput'], dir);
    children.push(broker.child);
    const deadline = Date.now() + 15000;
    while (!broker.stdout().includes('"event":"broker.listening"')) {
      if (Date.now() > deadline || broker.child.exitCode !== null) throw new Error(`no broker.listening line:\n${broker.stdout()}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const lines = broker.stdout().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const starting = lines.find((l) => l['event'] === 'broker.starting');
    expect(starting).to.include({ dataDir: join(dir, 'journal'), mode: 'throughput' });
    const listening = lines.find((l) => l['event'] === 'broker.listening')!;
    expect(listening['stomp']).to.have.property('port').that.is.greaterThan(0);
    expect(listening).not.to.have.property('websocket');
    broker.child.kill('SIGTERM');
    const result = await broker.done;
    expect(result).to.include({ code: 0, signal: null });
    expect(result.stdout).to.contain('"event":"broker.stopped"');
  });

  it('runs a second broker on the same data dir as standby: it says so, logs ha.standby, and stops with exit 0', async () => {
    const file = join(dir, 'broker.json');
    writeFileSync(file, JSON.stringify({ stomp: { port: 0 }, websocket: { enabled: false }, admin: { port: 0 } }));
    const waitFor = async (run: ReturnType<typeof start>, text: string): Promise<void> => {
      const deadline = Date.now() + 15000;
      while (!run.stdout().includes(text)) {
        if (Date.now() > deadline || run.child.exitCode !== null) throw new Error(`no ${text} line:\n${run.stdout()}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    const active = start(['broker', '--config', file], dir);
    children.push(active.child);
    await waitFor(active, '"event":"broker.listening"');
    const standby = start(['broker', '--config', file], dir);
    children.push(standby.child);
    await waitFor(standby, '"event":"ha.standby"');
    const line = standby.stdout().split('\n').find((l) => l.includes('"event":"ha.standby"'))!;
    expect(JSON.parse(line)).to.have.nested.property('holder.pid', active.child.pid);
    expect(standby.stdout()).not.to.contain('"event":"broker.listening"');
    standby.child.kill('SIGTERM');
    const result = await standby.done;
    expect(result).to.include({ code: 0, signal: null });
    expect(result.stderr).to.contain('Tandem MQ broker is standby').and.contain(`pid ${active.child.pid}`);
    active.child.kill('SIGTERM');
    expect(await active.done).to.include({ code: 0 });
  });

  it('tandem pair --help prints usage and exits 0', async () => {
    const result = await run(['pair', '--help']);
    expect(result.code).to.equal(0);
    expect(result.stdout).to.contain('tandem pair').and.contain('--config-dir');
  });

  it('tandem pair exits 2 for a bad member config, starting nothing', async () => {
    writeFileSync(join(dir, 'broker-1.yaml'), 'ha: { leaseMs: 500 }\n');
    writeFileSync(join(dir, 'broker-2.yaml'), '{}\n');
    const result = await run(['pair', '--config-dir', dir]);
    expect(result.code).to.equal(2);
    expect(result.stderr).to.contain('ha.leaseMs: must be an integer from 2000');
    expect(result.stdout).to.equal('');
  });
});
