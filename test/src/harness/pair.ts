// The active/standby pair as real processes: broker-1 and broker-2 started from the pair's own
// config files (broker/config/pair/) on one temp data directory, with free loopback ports fixed in
// advance so that one failover URI names both, whichever is active.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readConfigFile } from '@tandem-mq/broker';
import { adminRequest } from './admin-client.js';
import { BrokerProcess, type TestBrokerConfig } from './broker-process.js';
import { makeTempDir, releaseClients, removeTempDir } from './cleanup-registry.js';

export const PAIR_CONFIG_DIR = fileURLToPath(new URL('../../../broker/config/pair/', import.meta.url));

export type MemberName = 'broker-1' | 'broker-2';

export interface MemberPorts {
  stomp: number;
  websocket: number;
  admin: number;
}

export interface PairOptions {
  mode?: 'durability' | 'throughput';
  /** Merged one level deep over each member's file, after the ports and the data directory. */
  config?: TestBrokerConfig;
  /** The folder for the data directory and the config files; a new temp folder by default. */
  dir?: string;
}

/** A port nothing listens on right now: bound for a moment by this process, then released. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** One member: its config (fixed ports) and the process running it now, if any. */
export class PairMember {
  current?: BrokerProcess;

  constructor(
    readonly name: MemberName,
    readonly dir: string,
    readonly ports: MemberPorts,
    readonly configText: string,
  ) {}

  get broker(): BrokerProcess {
    if (this.current === undefined) throw new Error(`${this.name} is not running`);
    return this.current;
  }

  get endpoint(): string {
    return `stomp://127.0.0.1:${this.ports.stomp}`;
  }

  get pid(): number {
    return this.broker.child.pid!;
  }

  /** Starts a process for this member; resolves once it is active or standing by. */
  async start(): Promise<BrokerProcess> {
    if (this.current?.alive === true) throw new Error(`${this.name} is already running`);
    this.current = await BrokerProcess.start({
      dir: this.dir,
      configFile: { name: `${this.name}.json`, text: this.configText },
      readyWhen: 'up',
    });
    return this.current;
  }

  /** Sends a signal to the running process (SIGKILL, SIGTERM, SIGSTOP, SIGCONT). */
  signal(signal: NodeJS.Signals): void {
    this.broker.child.kill(signal);
  }

  /** Resolves with the first log entry of `event` (and `match`) written at or after `since` (epoch ms). */
  waitForEvent(event: string, since: number, timeoutMs = 15000, match: (e: Record<string, unknown>) => boolean = () => true): Promise<Record<string, unknown>> {
    return this.broker.waitForLog(`${this.name} ${event} since ${since}`, (e) => e['event'] === event && Number(e['time']) >= since && match(e), timeoutMs);
  }

  /** Resolves once this member opened its client listeners at or after `since`. */
  waitUntilActive(since: number, timeoutMs = 15000): Promise<Record<string, unknown>> {
    return this.waitForEvent('broker.listening', since, timeoutMs);
  }

  /** The role as the member's own admin API reports it. */
  async role(): Promise<{ role: string; epoch?: number; holder?: { host: string; pid: number; epoch: number }; lastLoss?: { reason: string } }> {
    return (await adminRequest(this.ports.admin, '/role')).json();
  }
}

export class BrokerPair {
  private constructor(
    readonly dir: string,
    readonly members: [PairMember, PairMember],
  ) {}

  /** Writes both members' configs and starts broker-1 (active on a fresh folder), then broker-2. */
  static async start(options: PairOptions = {}): Promise<BrokerPair> {
    const pair = await BrokerPair.prepare(options);
    await pair.members[0].start();
    await pair.members[1].start();
    return pair;
  }

  /** Both configs written, nothing started. */
  static async prepare(options: PairOptions = {}): Promise<BrokerPair> {
    const dir = options.dir ?? makeTempDir('pair');
    const dataDir = path.join(dir, 'data');
    const members: PairMember[] = [];
    for (const name of ['broker-1', 'broker-2'] as const) {
      const ports: MemberPorts = { stomp: await freePort(), websocket: await freePort(), admin: await freePort() };
      const file = (await readConfigFile(path.join(PAIR_CONFIG_DIR, `${name}.yaml`), (p) => fs.promises.readFile(p, 'utf8'))) as Record<string, unknown>;
      const config = merge(file, {
        dataDir,
        ...(options.mode === undefined ? {} : { mode: options.mode }),
        stomp: { port: ports.stomp },
        websocket: { port: ports.websocket },
        admin: { port: ports.admin },
        log: { level: 'info' },
      });
      members.push(new PairMember(name, dir, ports, JSON.stringify(merge(config, (options.config ?? {}) as Record<string, unknown>), null, 2)));
    }
    return new BrokerPair(dir, members as [PairMember, PairMember]);
  }

  get dataDir(): string {
    return path.join(this.dir, 'data');
  }

  member(name: MemberName): PairMember {
    return this.members[name === 'broker-1' ? 0 : 1];
  }

  other(member: PairMember): PairMember {
    return member === this.members[0] ? this.members[1] : this.members[0];
  }

  /** The URI the failover client takes, broker-1 first, as `npm start` prints it. */
  failoverUri(options = ''): string {
    const query = ['randomize=false', options].filter((o) => o !== '').join('&');
    return `failover:(${this.members.map((m) => m.endpoint).join(',')})?${query}`;
  }

  /** The running member whose /health answers 200; undefined when none does. */
  async active(): Promise<PairMember | undefined> {
    for (const member of this.members) {
      if (member.current?.alive !== true) continue;
      const health = await adminRequest(member.ports.admin, '/health').catch(() => undefined);
      if (health?.status === 200) return member;
    }
    return undefined;
  }

  /** SIGTERM to every running member (SIGCONT first, in case one is paused), waiting for their exits. */
  async stop(): Promise<void> {
    for (const member of this.members) if (member.current?.alive === true) member.signal('SIGCONT');
    await Promise.all(this.members.map((m) => m.current?.stop()));
  }

  /** kill -9 for every process this pair ever started. */
  async kill(): Promise<void> {
    await Promise.all(this.members.map((m) => m.current?.kill()));
  }

  tails(): string {
    return this.members.map((m) => `--- ${m.name} (last lines) ---\n${m.current?.tail() ?? '(not started)'}`).join('\n');
  }
}

/** For suites that start pairs: kills every member and removes the folders after each test, pass or fail. */
export function usePairCleanup(): Set<BrokerPair> {
  const started = new Set<BrokerPair>();
  afterEach(async function () {
    this.timeout(30000);
    releaseClients();
    const failed = this.currentTest?.state === 'failed';
    for (const pair of started) {
      if (failed) process.stderr.write(`\n${pair.tails()}\n---\n`);
      await pair.kill();
      removeTempDir(pair.dir);
    }
    started.clear();
  });
  return started;
}

function merge(base: Record<string, unknown>, override: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = merged[key];
    merged[key] = isPlainObject(current) && isPlainObject(value) ? { ...current, ...value } : value;
  }
  return merged;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
