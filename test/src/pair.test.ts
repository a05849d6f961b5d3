// The active/standby pair as an operator meets it: two processes on one data directory, one active
// and one standby that refuses clients; /health and /role on both; the hand-over on SIGTERM, on
// kill -9 (the pid check, and the lease alone) and from a paused active that fences itself.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { adminRequest } from './harness/admin-client.js';
import { BROKER_MAIN, type TestBrokerConfig } from './harness/broker-process.js';
import { trackChild, trackCloser } from './harness/cleanup-registry.js';
import { BrokerPair, usePairCleanup, type PairMember } from './harness/pair.js';
import { uniqueName } from './harness/names.js';
import { sleep, waitFor } from './harness/wait.js';
import { WireClient } from './wire/stomp-client.js';

/** Resolves with the socket error code of a plain TCP connect, or 'connected'. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

async function connect(member: PairMember): Promise<WireClient> {
  const client = await WireClient.connect({ port: member.ports.stomp });
  trackCloser(() => client.destroy());
  return client;
}

/** Sends `count` persistent messages with receipts, waiting for each. */
async function sendAll(member: PairMember, queue: string, count: number): Promise<void> {
  const client = await connect(member);
  for (let i = 0; i < count; i++) {
    await client.send(queue, `m-${i}`, { persistent: 'true' }, true);
  }
  client.destroy();
}

async function depth(member: PairMember, queue: string): Promise<number> {
  const response = await adminRequest(member.ports.admin, '/destinations');
  expect(response.status, `${member.name} /destinations`).to.equal(200);
  const rows = response.json<{ destinations: Array<{ destination: string; depth: number }> }>().destinations;
  return rows.find((r) => r.destination === queue)?.depth ?? 0;
}

function report(line: string): void {
  process.stdout.write(`      ${line}\n`);
}

describe('active/standby pair', function () {
  this.timeout(60000);
  const started = usePairCleanup();

  async function startPair(config?: TestBrokerConfig): Promise<BrokerPair> {
    const pair = await BrokerPair.start(config === undefined ? {} : { config });
    started.add(pair);
    return pair;
  }

  it('has one active and one standby; the standby refuses STOMP; /health and /role tell them apart', async function () {
    const pair = await startPair();
    const [one, two] = pair.members;
    expect(await pair.active()).to.equal(one);

    expect(await tryConnect(two.ports.stomp), 'the standby opens no client listener').to.equal('ECONNREFUSED');
    expect(await tryConnect(two.ports.websocket)).to.equal('ECONNREFUSED');
    expect(await tryConnect(one.ports.stomp)).to.equal('connected');

    const activeHealth = await adminRequest(one.ports.admin, '/health');
    expect(activeHealth.status).to.equal(200);
    expect(activeHealth.json()).to.deep.equal({ status: 'ok', role: 'active' });
    const standbyHealth = await adminRequest(two.ports.admin, '/health');
    expect(standbyHealth.status).to.equal(503);
    expect(standbyHealth.json()).to.deep.equal({ status: 'standby', role: 'standby' });

    const activeRole = await one.role();
    expect(activeRole).to.include({ role: 'active', epoch: 1 });
    expect(activeRole.holder).to.include({ pid: one.pid, epoch: 1 });
    const standbyRole = await two.role();
    expect(standbyRole.role).to.equal('standby');
    expect(standbyRole.holder, 'the standby names the active it waits behind').to.include({ pid: one.pid, epoch: 1 });
    expect(standbyRole).to.not.have.property('epoch');

    const destinations = await adminRequest(two.ports.admin, '/destinations');
    expect(destinations.status).to.equal(503);
    expect(destinations.json<{ error: { code: string } }>().error.code).to.equal('TANDEM_ERR_NOT_ACTIVE');
    const standbyLine = two.broker.logs().find((e) => e['event'] === 'ha.standby');
    expect(standbyLine).to.have.nested.property('admin.port', two.ports.admin);
  });

  it('on SIGTERM the active finishes, releases the lock and exits 0; the standby takes over with every message', async function () {
    const pair = await startPair();
    const [one, two] = pair.members;
    const queue = `/queue/${uniqueName('handover')}`;
    await sendAll(one, queue, 50);

    const signalled = Date.now();
    one.signal('SIGTERM');
    const listening = await two.waitUntilActive(signalled);
    report(`SIGTERM hand-over: the standby listened ${Number(listening['time']) - signalled} ms after the signal`);
    expect(await one.broker.exited).to.deep.equal({ code: 0, signal: null });
    expect(one.broker.logs().map((e) => e['event'])).to.include('lock.released');
    expect(await pair.active()).to.equal(two);
    expect(await two.role()).to.include({ role: 'active', epoch: 2 });
    expect(await depth(two, queue)).to.equal(50);
    const transitions = two.broker.logs().filter((e) => e['event'] === 'ha.transition').map((e) => `${String(e['from'])}->${String(e['to'])}`);
    // Compared as a set: lines a process writes in the same millisecond can reach the pipe out of order.
    expect(transitions).to.have.members(['standby->activating', 'activating->active']);

    // The old active comes back as the standby.
    await one.start();
    expect(one.broker.logs().some((e) => e['event'] === 'ha.standby')).to.equal(true);
    expect(await tryConnect(one.ports.stomp)).to.equal('ECONNREFUSED');
  });

  it('on kill -9 the standby breaks the lock of the dead process at once (the pid check)', async function () {
    const pair = await startPair();
    const [one, two] = pair.members;
    const queue = `/queue/${uniqueName('crash')}`;
    await sendAll(one, queue, 20);
    const signalled = Date.now();
    one.signal('SIGKILL');
    const listening = await two.waitUntilActive(signalled);
    report(`kill -9 takeover with the pid check: ${Number(listening['time']) - signalled} ms`);
    const acquired = two.broker.logs().find((e) => e['event'] === 'lock.acquired');
    expect(acquired).to.include({ via: 'process-gone', epoch: 2 });
    expect(two.broker.logs().find((e) => e['event'] === 'lock.broken')).to.have.nested.property('holder.pid', one.pid);
    expect(await depth(two, queue)).to.equal(20);
  });

  it('with the pid check off, kill -9 is taken over once the lease is stale', async function () {
    const pair = await startPair({ ha: { pidCheck: false } });
    const [one, two] = pair.members;
    const signalled = Date.now();
    one.signal('SIGKILL');
    const listening = await two.waitUntilActive(signalled, 20000);
    const waited = Number(listening['time']) - signalled;
    report(`kill -9 takeover on the lease alone (leaseMs 2000): ${waited} ms`);
    const acquired = two.broker.logs().find((e) => e['event'] === 'lock.acquired');
    expect(acquired, 'taken because the lease went stale, not by the pid check').to.include({ via: 'stale', epoch: 2 });
    expect(acquired).to.have.nested.property('previous.pid', one.pid);
    expect(two.broker.logs().some((e) => e['event'] === 'lock.broken')).to.equal(false);
  });

  it('a paused active that lost its lease fences itself on waking: it drops its clients, confirms nothing, and stands by', async function () {
    const pair = await startPair();
    const [one, two] = pair.members;
    const queue = `/queue/${uniqueName('fenced')}`;
    const client = await connect(one);
    await client.send(queue, 'before', { persistent: 'true' }, true);
    const heard: string[] = [];
    for (const event of ['message', 'error-frame', 'unexpected-frame']) client.on(event, () => heard.push(event));

    const paused = Date.now();
    one.signal('SIGSTOP');
    await two.waitUntilActive(paused, 20000);
    // Sent while the old active sleeps: it reaches that process's socket and waits there.
    let receipted = false;
    const during = client.send(queue, 'during', { persistent: 'true' }, true).then(
      () => (receipted = true),
      () => undefined,
    );
    await sleep(200);
    const resumed = Date.now();
    one.signal('SIGCONT');

    await waitFor('the fenced broker to close the connection', () => client.closed, 10000);
    await during;
    expect(receipted, 'no RECEIPT for a write the new active does not have').to.equal(false);
    expect(heard, 'nothing at all is sent after the fence').to.deep.equal([]);

    const fenced = await one.waitForEvent('ha.transition', resumed, 10000, (e) => e['to'] === 'fenced');
    expect(String(fenced['reason'])).to.match(/^lost the lock/);
    await one.waitForEvent('ha.standby', resumed, 10000);
    await waitFor('the old active to report standby', async () => (await one.role()).role === 'standby', 10000);
    const role = await one.role();
    expect(role.lastLoss).to.have.property('reason');
    expect(role.holder).to.include({ pid: two.pid, epoch: 2 });
    const health = await adminRequest(one.ports.admin, '/health');
    expect(health.status).to.equal(503);
    expect(await pair.active()).to.equal(two);
    expect(await depth(two, queue), 'the receipted message is there and the unconfirmed one is not').to.equal(1);
  });

  it('with afterFence: stop, a paused active that lost its lease exits with status 1 when it wakes, saying why', async function () {
    const pair = await startPair({ ha: { afterFence: 'stop' } });
    const [one, two] = pair.members;
    const paused = Date.now();
    one.signal('SIGSTOP');
    await two.waitUntilActive(paused, 20000);
    one.signal('SIGCONT');
    expect(await one.broker.exited).to.deep.equal({ code: 1, signal: null });
    const moves = one.broker.logs().filter((e) => e['event'] === 'ha.transition').map((e) => `${String(e['from'])}->${String(e['to'])}`);
    expect(moves).to.include.members(['active->fenced', 'fenced->stopped']);
    expect(moves, 'never back to standby').to.not.include('fenced->standby');
    expect(one.broker.output()).to.contain('tandem: the broker stopped: fenced; contending again is turned off');
    expect(await pair.active()).to.equal(two);
  });

  it('tandem pair (what npm start runs) starts both from the pair files, prints the failover URI, and stops both on SIGINT', async function () {
    const pair = await BrokerPair.prepare();
    started.add(pair);
    // The launcher reads broker-1.yaml and broker-2.yaml from --config-dir; JSON is YAML.
    for (const member of pair.members) fs.writeFileSync(path.join(pair.dir, `${member.name}.yaml`), member.configText);
    const child = spawn(process.execPath, [BROKER_MAIN, 'pair', '--config-dir', pair.dir, '--data-dir', pair.dataDir], { cwd: pair.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    trackChild(child);
    let stderr = '';
    let stdout = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await waitFor('the failover URI', () => stderr.includes('clients connect with'), 20000).catch((error: unknown) => {
      // The launcher's own output says why (a port taken meanwhile, a config problem).
      throw new Error(`${(error as Error).message}\n--- stderr ---\n${stderr.slice(-2000)}\n--- stdout ---\n${stdout.slice(-3000)}`);
    });
    expect(stderr).to.contain(`clients connect with ${pair.failoverUri()}`);
    expect(stderr).to.contain('broker-1 is active, broker-2 standby');
    expect(stdout).to.match(/^broker-1 \| \{.*"event":"broker\.listening"/m);
    expect(stdout).to.match(/^broker-2 \| \{.*"event":"ha\.standby"/m);
    const [one, two] = pair.members;
    expect((await adminRequest(one.ports.admin, '/health')).status).to.equal(200);
    expect((await adminRequest(two.ports.admin, '/health')).status).to.equal(503);

    child.kill('SIGINT');
    expect(await exited).to.equal(0);
    expect(stdout).to.match(/^broker-1 \| \{.*"event":"broker\.stopped"/m);
    expect(stdout).to.match(/^broker-2 \| \{.*"event":"broker\.stopped"/m);
    expect(await tryConnect(one.ports.admin)).to.equal('ECONNREFUSED');
    expect(await tryConnect(two.ports.admin)).to.equal('ECONNREFUSED');
  });
});
