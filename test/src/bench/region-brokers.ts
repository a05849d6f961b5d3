// Two regions for the replication benchmark, one broker each (a pair per region adds a standby that
// stays idle, and a CPU share this 2-core machine cannot spare): the primary region's broker and
// the replica region's, as separate processes on their own temp data directories, linked by the
// broker config's `replication` section on free loopback ports fixed in advance.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { BrokerProcess } from '../harness/broker-process.js';
import { makeTempDir, removeTempDir } from '../harness/cleanup-registry.js';
import { freePort } from '../harness/pair.js';
import { waitFor } from '../harness/wait.js';

export type RegionRole = 'primary' | 'replica';

/** GET /replication on a broker's admin API: the fields the benchmark reads. */
export interface ReplicationView {
  region: string;
  role: RegionRole;
  state: string;
  generation?: number;
  link?: { up: boolean };
  position?: { segment: number; offset: number; journalOffset: number };
  lag: { records: number; bytes: number; seconds: number };
}

export class RegionBroker {
  process: BrokerProcess | undefined;

  constructor(
    readonly name: string,
    readonly region: string,
    readonly dir: string,
    readonly ports: { stomp: number; admin: number; replication: number },
    readonly configText: string,
  ) {}

  get dataDir(): string {
    return path.join(this.dir, 'data');
  }

  get endpoint(): string {
    return `stomp://127.0.0.1:${this.ports.stomp}`;
  }

  async start(): Promise<void> {
    // Ready at `broker.listening` (a primary) or `ha.standby`; the replica role is then awaited on GET /replication.
    this.process = await BrokerProcess.start({ dir: this.dir, configFile: { name: 'broker.json', text: this.configText }, readyWhen: 'up', timeoutMs: 30000 });
  }

  async replication(): Promise<ReplicationView> {
    const res = await fetch(`http://127.0.0.1:${this.ports.admin}/replication`);
    if (res.status !== 200) throw new Error(`${this.name}: GET /replication answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as ReplicationView;
  }

  /** POST /promote; resolves with the JSON answer, or rejects with the status and body. */
  async promote(mode: 'SWITCHOVER' | 'FAILOVER', timeoutMs = 30000): Promise<Record<string, unknown>> {
    const res = await fetch(`http://127.0.0.1:${this.ports.admin}/promote`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mode }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${this.name}: POST /promote ${mode} answered ${res.status}: ${text}`);
    return JSON.parse(text) as Record<string, unknown>;
  }

  /** Whether this broker holds nothing more of `queue` (depth and in-flight 0). */
  async drained(queue: string): Promise<boolean> {
    const res = await fetch(`http://127.0.0.1:${this.ports.admin}/destinations`);
    if (res.status !== 200) return false;
    const { destinations } = (await res.json()) as { destinations: Array<{ destination: string; depth: number; inFlight: number }> };
    const row = destinations.find((d) => d.destination === queue);
    return row === undefined || (row.depth === 0 && row.inFlight === 0);
  }

  tail(): string {
    return `--- ${this.name} (last lines) ---\n${this.process?.tail() ?? '(not started)'}`;
  }
}

export class Regions {
  private constructor(
    readonly dir: string,
    readonly primary: RegionBroker,
    readonly replica: RegionBroker,
  ) {}

  /** Writes both configs and starts both brokers; resolves once the link is up. */
  static async start(mode: 'durability' | 'throughput' = 'durability'): Promise<Regions> {
    const dir = makeTempDir('replication-bench');
    const token = randomBytes(24).toString('hex');
    const ports = async (): Promise<RegionBroker['ports']> => ({ stomp: await freePort(), admin: await freePort(), replication: await freePort() });
    const [a, b] = [await ports(), await ports()];
    const config = (region: string, role: RegionRole, own: RegionBroker['ports'], other: RegionBroker['ports'], otherRegion: string): string =>
      JSON.stringify(
        {
          dataDir: './data',
          mode,
          stomp: { host: '127.0.0.1', port: own.stomp },
          websocket: { enabled: false },
          admin: { host: '127.0.0.1', port: own.admin },
          log: { level: 'info' },
          replication: {
            region,
            initialRole: role,
            token,
            listen: { host: '127.0.0.1', port: own.replication },
            counterpart: { region: otherRegion, links: [`ws://127.0.0.1:${other.replication}`], clients: [`stomp://127.0.0.1:${other.stomp}`] },
          },
        },
        null,
        2,
      );
    const folder = (name: string): string => {
      const sub = path.join(dir, name);
      fs.mkdirSync(sub);
      return sub;
    };
    const primary = new RegionBroker('primary', 'region-a', folder('primary'), a, config('region-a', 'primary', a, b, 'region-b'));
    const replica = new RegionBroker('replica', 'region-b', folder('replica'), b, config('region-b', 'replica', b, a, 'region-a'));
    const regions = new Regions(dir, primary, replica);
    try {
      await replica.start();
      await primary.start();
      await regions.linked();
    } catch (error) {
      await regions.kill();
      throw new Error(`${(error as Error).message}\n${regions.tails()}`);
    }
    return regions;
  }

  /** Waits until the primary ships to the replica (its link up as the primary sees it). */
  async linked(timeoutMs = 20000): Promise<void> {
    await waitFor(
      'the replication link to come up',
      async () => {
        const [p, r] = await Promise.all([this.primary.replication(), this.replica.replication()]);
        return p.role === 'primary' && r.role === 'replica' && p.link?.up === true;
      },
      timeoutMs,
      50,
    );
  }

  /** The failover URI naming both regions' brokers, primary first. */
  failoverUri(): string {
    return `failover:(${this.primary.endpoint},${this.replica.endpoint})?randomize=false&initialReconnectDelay=10&maxReconnectDelay=100`;
  }

  async kill(): Promise<void> {
    await Promise.all([this.primary.process?.kill(), this.replica.process?.kill()]);
  }

  /** Kills both and removes the folder. */
  async dispose(): Promise<void> {
    await this.kill();
    removeTempDir(this.dir);
  }

  tails(): string {
    return `${this.primary.tail()}\n${this.replica.tail()}`;
  }
}
