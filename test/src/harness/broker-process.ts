// Runs the broker as an outside user would: `node broker/dist/cli/main.js broker --config FILE` in a
// child process, with its own temp folder and ports 0, ready once it logs "broker.listening" (or,
// for a member of a pair that may start as standby, "ha.standby").
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { followChild, makeTempDir, trackChild, type ExitStatus } from './cleanup-registry.js';
export type { ExitStatus } from './cleanup-registry.js';

export const BROKER_MAIN = fileURLToPath(new URL('../../../broker/dist/cli/main.js', import.meta.url));

export interface Endpoint {
  host: string;
  port: number;
}

export interface BrokerPorts {
  stomp: number;
  websocket?: number;
  tls?: number;
  admin: number;
}

/** The config file's shape as the process contract describes it; tests set only what they need. */
export interface TestBrokerConfig {
  dataDir?: string;
  mode?: 'durability' | 'throughput';
  journal?: { segmentSize?: number; syncIntervalMs?: number; reclaimIntervalMs?: number };
  stomp?: { host?: string; port?: number };
  websocket?: { host?: string; port?: number; path?: string; enabled?: boolean };
  tls?: { host?: string; port?: number; cert?: string; key?: string; ca?: string };
  admin?: { host?: string; port?: number };
  limits?: { maxFrameSize?: number; maxHeaders?: number; maxHeaderLength?: number; maxConnections?: number };
  heartbeat?: { send?: number; receive?: number };
  redelivery?: {
    maximumRedeliveries?: number;
    initialRedeliveryDelay?: number;
    redeliveryDelay?: number;
    useExponentialBackOff?: boolean;
    backOffMultiplier?: number;
    maximumRedeliveryDelay?: number;
  };
  deadLetter?: { queue?: string; processExpired?: boolean; rules?: Array<{ prefix: string; queue: string }> };
  ha?: {
    enabled?: boolean;
    leaseMs?: number;
    renewIntervalMs?: number;
    retryIntervalMs?: number;
    pidCheck?: boolean;
    safetyMarginMs?: number;
    afterFence?: 'standby' | 'stop';
  };
  log?: { level?: string };
}

export interface StartOptions {
  /** Merged (one level deep) over the test defaults: data in the folder, every port 0, log level info. */
  config?: TestBrokerConfig;
  /** Reuse a folder, e.g. to restart on the same data dir; by default a new temp folder. */
  dir?: string;
  /** Extra command-line flags after `broker --config FILE`. */
  args?: string[];
  /** Write this file as the config instead of the generated one (e.g. to test a .json file). */
  configFile?: { name: string; text: string };
  /** The process's working directory; by default the broker's folder. */
  cwd?: string;
  timeoutMs?: number;
  /**
   * What counts as started: `listening` (the default) waits for the client listeners; `up` also
   * accepts `ha.standby`, for a broker whose pair partner holds the data directory (ports then
   * holds only the admin port until it takes over).
   */
  readyWhen?: 'listening' | 'up';
}


const OUTPUT_LINES_KEPT = 400;

export class BrokerProcess {
  readonly lines: string[] = [];
  readonly exited: Promise<ExitStatus>;
  ports: BrokerPorts = { stomp: 0, admin: 0 };
  private exitStatus?: ExitStatus;
  private lineWaiters: Array<(line: string) => void> = [];

  private constructor(
    readonly child: ChildProcess,
    readonly dir: string,
    readonly configPath: string,
    readonly options: StartOptions,
  ) {
    this.exited = followChild(
      child,
      (line) => this.onLine(line),
      (status) => (this.exitStatus = status),
    );
  }

  get dataDir(): string {
    return path.join(this.dir, 'data');
  }

  get alive(): boolean {
    return this.exitStatus === undefined;
  }

  /** Writes the config, spawns the broker and resolves once it reports its listeners. */
  static async start(options: StartOptions = {}): Promise<BrokerProcess> {
    const dir = options.dir ?? makeTempDir('broker');
    const configPath = path.join(dir, options.configFile?.name ?? 'broker.yaml');
    // JSON is valid YAML 1.2, so the generated file needs no YAML serializer.
    const text = options.configFile?.text ?? JSON.stringify(mergeConfig(defaultConfig(), options.config ?? {}), null, 2);
    fs.writeFileSync(configPath, text);
    const child = spawn(process.execPath, [BROKER_MAIN, 'broker', '--config', configPath, ...(options.args ?? [])], {
      cwd: options.cwd ?? dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const broker = new BrokerProcess(child, dir, configPath, options);
    await broker.waitUntilListening(options.timeoutMs ?? 20000, options.readyWhen ?? 'listening');
    return broker;
  }

  /** A new process on the same folder, config and data (the previous one must have exited). */
  restart(extra: Partial<StartOptions> = {}): Promise<BrokerProcess> {
    return BrokerProcess.start({ ...this.options, ...extra, dir: this.dir });
  }

  /** Parsed pino JSON lines (others skipped). */
  logs(): Array<Record<string, unknown>> {
    const parsed: Array<Record<string, unknown>> = [];
    for (const line of this.lines) {
      try {
        const value: unknown = JSON.parse(line);
        if (value !== null && typeof value === 'object') parsed.push(value as Record<string, unknown>);
      } catch {
        // Not a log line (e.g. a stack trace on stderr).
      }
    }
    return parsed;
  }

  /** The captured output, for failure messages. */
  output(): string {
    return this.lines.join('\n');
  }

  waitForLog(what: string, match: (entry: Record<string, unknown>) => boolean, timeoutMs = 10000): Promise<Record<string, unknown>> {
    const found = this.logs().find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.lineWaiters = this.lineWaiters.filter((w) => w !== check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for log ${what}\n--- broker output ---\n${this.tail()}`));
      }, timeoutMs);
      const check = (line: string): void => {
        const entry = parseLine(line);
        if (entry && match(entry)) {
          clearTimeout(timer);
          this.lineWaiters = this.lineWaiters.filter((w) => w !== check);
          resolve(entry);
        }
      };
      this.lineWaiters.push(check);
    });
  }

  /** SIGTERM and wait; the contract says a graceful stop exits 0. Falls back to SIGKILL after the timeout. */
  async stop(timeoutMs = 15000): Promise<ExitStatus> {
    if (!this.alive) return this.exitStatus!;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const status = await this.exited;
    clearTimeout(timer);
    return status;
  }

  /** kill -9: no chance to flush or close anything. */
  async kill(): Promise<ExitStatus> {
    if (!this.alive) return this.exitStatus!;
    this.child.kill('SIGKILL');
    return this.exited;
  }

  tail(lines = 60): string {
    return this.lines.slice(-lines).join('\n');
  }

  private onLine(line: string): void {
    this.lines.push(line);
    if (this.lines.length > OUTPUT_LINES_KEPT) this.lines.splice(0, this.lines.length - OUTPUT_LINES_KEPT);
    for (const waiter of [...this.lineWaiters]) waiter(line);
  }

  private async waitUntilListening(timeoutMs: number, readyWhen: 'listening' | 'up'): Promise<void> {
    const ready = (entry: Record<string, unknown>): boolean =>
      entry['event'] === 'broker.listening' || (readyWhen === 'up' && entry['event'] === 'ha.standby');
    const listening = this.waitForLog(readyWhen === 'up' ? 'broker.listening or ha.standby' : '"event":"broker.listening"', ready, timeoutMs);
    const early = this.exited.then((status) => {
      throw new Error(
        `broker exited before listening (code ${status.code}, signal ${status.signal})\n--- broker output ---\n${this.tail()}`,
      );
    });
    let entry: Record<string, unknown>;
    try {
      entry = await Promise.race([listening, early]);
    } catch (error) {
      this.child.kill('SIGKILL');
      throw error;
    }
    early.catch(() => undefined);
    if (entry['event'] === 'ha.standby') {
      const admin = endpoint(entry['admin']);
      if (!admin) throw new Error(`ha.standby lacks the admin endpoint: ${JSON.stringify(entry)}`);
      this.ports = { stomp: 0, admin: admin.port };
      return;
    }
    const stomp = endpoint(entry['stomp']);
    const admin = endpoint(entry['admin']);
    if (!stomp || !admin) throw new Error(`broker.listening lacks stomp/admin endpoints: ${JSON.stringify(entry)}`);
    this.ports = { stomp: stomp.port, admin: admin.port };
    const websocket = endpoint(entry['websocket']);
    if (websocket) this.ports.websocket = websocket.port;
    const tls = endpoint(entry['tls']);
    if (tls) this.ports.tls = tls.port;
  }
}

function parseLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function endpoint(value: unknown): Endpoint | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const { host, port } = value as { host?: unknown; port?: unknown };
  return typeof port === 'number' ? { host: typeof host === 'string' ? host : '127.0.0.1', port } : undefined;
}

function defaultConfig(): TestBrokerConfig {
  return {
    dataDir: './data',
    stomp: { host: '127.0.0.1', port: 0 },
    websocket: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    log: { level: 'info' },
  };
}

/** One level deep: `{ stomp: { port: 5 } }` keeps the default host. */
function mergeConfig(base: TestBrokerConfig, override: TestBrokerConfig): TestBrokerConfig {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = merged[key];
    merged[key] =
      isPlainObject(current) && isPlainObject(value) ? { ...current, ...value } : value;
  }
  return merged as TestBrokerConfig;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export interface CliResult extends ExitStatus {
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion (for commands that should exit, e.g. on a bad config). */
export function runCli(args: string[], options: { cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [BROKER_MAIN, ...args], {
    cwd: options.cwd ?? process.cwd(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  trackChild(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tandem ${args.join(' ')} did not exit within ${options.timeoutMs ?? 10000} ms\n${stdout}\n${stderr}`));
    }, options.timeoutMs ?? 10000);
    // 'close' rather than 'exit': it comes after the output streams have ended.
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
