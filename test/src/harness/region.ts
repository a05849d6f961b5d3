// Two regions as real broker processes: a primary region (us-east-1) and a replica region
// (us-west-2), one broker or a pair each, on fixed free loopback ports (so the failover URI and the
// replication links name every broker before any is active), each region on its own data directory.
import fs from 'node:fs';
import path from 'node:path';
import { BrokerProcess } from './broker-process.js';
import { makeTempDir, releaseClients } from './cleanup-registry.js';
import { freePort } from './pair.js';
import { waitFor } from './wait.js';

export const TOKEN = 'region-token-for-tests';
export const PRIMARY = 'us-east-1';
export const REPLICA = 'us-west-2';

export interface MemberPorts {
  stomp: number;
  websocket: number;
  admin: number;
  replication: number;
}

export interface RegionView {
  region: string;
  role: 'primary' | 'replica';
  generation: number;
  state: string;
  link: { up: boolean; peer?: string };
  position?: { segment: number; offset: number; journalOffset: number };
  lag: { records: number; bytes: number; seconds: number };
  history: Array<{ generation: number; mode: string; at: string; promotedRegion: string; endOfPrevious: { segment: number; offset: number; journalOffset: number }; rpoTime?: string; lostUnknown?: boolean }>;
  quarantine: Array<{ folder: string; bytes: number; records: number }>;
  error?: { code: string; message: string };
}

export interface MemberOptions {
  /** Where this member's link URLs to the other region point (a relay's port), by default their own. */
  linkPorts?: number[];
}

export class RegionMember {
  current?: BrokerProcess;
  readonly dir: string;

  constructor(
    readonly name: string,
    readonly region: Region,
    readonly ports: MemberPorts,
  ) {
    this.dir = makeTempDir(name);
  }

  get broker(): BrokerProcess {
    if (this.current === undefined) throw new Error(`${this.name} is not running`);
    return this.current;
  }

  get endpoint(): string {
    return `stomp://127.0.0.1:${this.ports.stomp}`;
  }

  get link(): string {
    return `${this.region.topology.tls === undefined ? 'ws' : 'wss'}://127.0.0.1:${this.ports.replication}`;
  }

  /** The config file's text: this region's settings, the counterpart's endpoints. */
  configText(options: MemberOptions = {}): string {
    const other = this.region.counterpart!;
    const tls = this.region.topology.tls;
    const scheme = tls === undefined ? 'ws' : 'wss';
    const links = options.linkPorts?.map((p) => `${scheme}://127.0.0.1:${p}`) ?? other.members.map((m) => m.link);
    return JSON.stringify(
      {
        dataDir: this.region.dataDir,
        mode: 'durability',
        journal: { segmentSize: this.region.topology.segmentSize, reclaimIntervalMs: 60_000 },
        stomp: { host: '127.0.0.1', port: this.ports.stomp },
        websocket: { host: '127.0.0.1', port: this.ports.websocket },
        admin: { host: '127.0.0.1', port: this.ports.admin },
        log: { level: 'info' },
        replication: {
          region: this.region.name,
          initialRole: this.region.initialRole,
          token: TOKEN,
          listen: { host: '127.0.0.1', port: this.ports.replication },
          ...(tls === undefined ? {} : { tls: { cert: tls.cert, key: tls.key }, ca: tls.cert }),
          counterpart: { region: other.name, links, clients: other.members.map((m) => m.endpoint) },
          lagReportIntervalMs: 100,
        },
      },
      null,
      2,
    );
  }

  /** Starts a process; resolves once it is active (in either region role) or standing by. */
  async start(options: MemberOptions = {}): Promise<BrokerProcess> {
    if (this.current?.alive === true) throw new Error(`${this.name} is already running`);
    this.current = await BrokerProcess.start({ dir: this.dir, configFile: { name: `${this.name}.json`, text: this.configText(options) }, readyWhen: 'up' });
    this.region.topology.started.add(this.current);
    return this.current;
  }

  async view(): Promise<RegionView> {
    const res = await fetch(`http://127.0.0.1:${this.ports.admin}/replication`);
    if (res.status !== 200) throw new Error(`${this.name} GET /replication answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as RegionView;
  }

  /** POST /promote; the status and the JSON body. */
  async promote(mode: string, extra: Record<string, unknown> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`http://127.0.0.1:${this.ports.admin}/promote`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mode, ...extra }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  async metrics(): Promise<string> {
    return (await fetch(`http://127.0.0.1:${this.ports.admin}/metrics`)).text();
  }

  /** Waits until GET /replication satisfies `check`. */
  async waitForView(what: string, check: (v: RegionView) => boolean, timeoutMs = 20000): Promise<RegionView> {
    return waitFor(`${this.name}: ${what}`, async () => {
      const v = await this.view().catch(() => undefined);
      return v !== undefined && check(v) ? v : undefined;
    }, timeoutMs, 50);
  }

  logs(): Array<Record<string, unknown>> {
    return this.current?.logs() ?? [];
  }
}

export class Region {
  readonly dataDir: string;
  readonly members: RegionMember[] = [];
  counterpart?: Region;

  constructor(
    readonly topology: RegionTopology,
    readonly name: string,
    readonly initialRole: 'primary' | 'replica',
  ) {
    this.dataDir = path.join(makeTempDir(`${name}-data`), 'data');
    fs.mkdirSync(this.dataDir);
  }
}

export class RegionTopology {
  readonly started = new Set<BrokerProcess>();
  primary!: Region;
  replica!: Region;

  private constructor(
    readonly segmentSize: number,
    /** Every replication endpoint serves this certificate (wss://), and every link trusts it. */
    readonly tls: { cert: string; key: string } | undefined,
  ) {}

  /** Two regions of `perRegion` brokers each (1 or 2), none started. */
  static async create(perRegion: 1 | 2 = 1, segmentSize = 256 * 1024, tls?: { cert: string; key: string }): Promise<RegionTopology> {
    const t = new RegionTopology(segmentSize, tls);
    t.primary = new Region(t, PRIMARY, 'primary');
    t.replica = new Region(t, REPLICA, 'replica');
    t.primary.counterpart = t.replica;
    t.replica.counterpart = t.primary;
    let n = 1;
    for (const region of [t.primary, t.replica]) {
      for (let i = 0; i < perRegion; i++) {
        const ports = { stomp: await freePort(), websocket: await freePort(), admin: await freePort(), replication: await freePort() };
        region.members.push(new RegionMember(`broker-${n++}`, region, ports));
      }
    }
    return t;
  }

  /** Every client endpoint of both regions, primary region first: the URI applications use. */
  failoverUri(options = 'randomize=false&initialReconnectDelay=50&maxReconnectDelay=500'): string {
    const endpoints = [...this.primary.members, ...this.replica.members].map((m) => m.endpoint);
    return `failover:(${endpoints.join(',')})?${options}`;
  }

  async killAll(): Promise<void> {
    for (const broker of this.started) await broker.kill();
  }

  tails(): string {
    return [...this.started].map((b) => `--- ${b.configPath} ---\n${b.tail(40)}`).join('\n');
  }
}

/**
 * Mocha hooks for tests that build regions: `create()` makes the test's topology; after each test
 * the clients are released, a failed test prints the brokers' last lines, and every broker is killed.
 */
export function regionTests(): { create: typeof RegionTopology.create; readonly current: RegionTopology | undefined } {
  let current: RegionTopology | undefined;
  afterEach(async function () {
    releaseClients();
    const topology = current;
    current = undefined;
    if (topology === undefined) return;
    if (this.currentTest?.state === 'failed') process.stderr.write(`\n${topology.tails()}\n`);
    await topology.killAll();
  });
  return {
    create: async (...args) => (current = await RegionTopology.create(...args)),
    get current() {
      return current;
    },
  };
}
