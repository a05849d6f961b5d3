// Replication as an operator runs it: the replicator and the receiver as child processes
// (`node replicator/dist/cli.js replicator|receiver --config FILE`), a TCP relay between them that a
// test can cut or make flip a byte, and helpers that compare a primary's journal with its replica.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { followChild, makeTempDir, trackCloser, type ExitStatus } from './cleanup-registry.js';
import { StompitSession } from './stompit-client.js';
import { waitFor } from './wait.js';

export const REPLICATION_CLI = fileURLToPath(new URL('../../../replicator/dist/cli.js', import.meta.url));

export type ReplicationRole = 'replicator' | 'receiver';

const OUTPUT_LINES_KEPT = 600;

/** GET /replication as JSON; the fields the tests read. */
export interface ReplicationState {
  role: 'primary' | 'replica';
  state: string;
  counterpart?: string;
  position: { segment: number; offset: number; journalOffset: number };
  lag: { records: number; bytes: number; seconds: number };
  stats: Record<string, number>;
  error?: { code: string; message: string };
}

export class ReplicationProcess {
  readonly lines: string[] = [];
  readonly exited: Promise<ExitStatus>;
  adminPort = 0;
  linkPort = 0;
  private exitStatus?: ExitStatus;

  private constructor(
    readonly child: ChildProcess,
    readonly role: ReplicationRole,
    readonly configPath: string,
  ) {
    this.exited = followChild(
      child,
      (line) => {
        this.lines.push(line);
        if (this.lines.length > OUTPUT_LINES_KEPT) this.lines.splice(0, this.lines.length - OUTPUT_LINES_KEPT);
      },
      (status) => (this.exitStatus = status),
    );
  }

  /** Writes the config as JSON in `dir` and starts the process; resolves once it logs replication.started. */
  static async start(role: ReplicationRole, config: Record<string, unknown>, dir = makeTempDir(role)): Promise<ReplicationProcess> {
    const configPath = path.join(dir, `${role}.json`);
    fs.writeFileSync(configPath, JSON.stringify(config, null, 2));
    return ReplicationProcess.spawn(role, configPath);
  }

  /** Another process on the same config (after the previous one exited). */
  restart(): Promise<ReplicationProcess> {
    return ReplicationProcess.spawn(this.role, this.configPath);
  }

  private static async spawn(role: ReplicationRole, configPath: string): Promise<ReplicationProcess> {
    const child = spawn(process.execPath, [REPLICATION_CLI, role, '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'], cwd: path.dirname(configPath) });
    const proc = new ReplicationProcess(child, role, configPath);
    const started = await Promise.race([
      proc.waitForLog('replication.started', (e) => e['event'] === 'replication.started', 20000),
      proc.exited.then((status) => {
        throw new Error(`${role} exited before starting (${status.code}, ${status.signal})\n${proc.tail()}`);
      }),
    ]);
    const admin = started['admin'] as { port?: number } | undefined;
    const link = started['link'] as { port?: number } | undefined;
    proc.adminPort = admin?.port ?? 0;
    proc.linkPort = link?.port ?? 0;
    return proc;
  }

  get alive(): boolean {
    return this.exitStatus === undefined;
  }

  logs(): Array<Record<string, unknown>> {
    const out: Array<Record<string, unknown>> = [];
    for (const line of this.lines) {
      if (!line.startsWith('{')) continue;
      try {
        out.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // Not a log line.
      }
    }
    return out;
  }

  async waitForLog(what: string, match: (entry: Record<string, unknown>) => boolean, timeoutMs = 10000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.logs().find(match);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${this.role} log ${what}\n${this.tail()}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** GET /replication on the process's admin port. */
  async state(): Promise<ReplicationState> {
    const res = await fetch(`http://127.0.0.1:${this.adminPort}/replication`);
    if (res.status !== 200) throw new Error(`GET /replication answered ${res.status}`);
    return (await res.json()) as ReplicationState;
  }

  async metrics(): Promise<string> {
    return (await fetch(`http://127.0.0.1:${this.adminPort}/metrics`)).text();
  }

  async stop(timeoutMs = 10000): Promise<ExitStatus> {
    if (!this.alive) return this.exitStatus!;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const status = await this.exited;
    clearTimeout(timer);
    return status;
  }

  /** kill -9. */
  async kill(): Promise<ExitStatus> {
    if (!this.alive) return this.exitStatus!;
    this.child.kill('SIGKILL');
    return this.exited;
  }

  tail(lines = 40): string {
    return `--- ${this.role} ---\n${this.lines.slice(-lines).join('\n')}`;
  }
}

/**
 * A TCP relay on 127.0.0.1:0 in front of `target`. cut() drops every connection through it;
 * flipOnce() flips one bit in the payload of the next large WebSocket frame the client sends, once.
 */
export class TcpRelay {
  readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private flipArmed = false;
  private blocked = false;
  flipped = 0;
  connections = 0;

  private constructor(private target: number) {
    this.server = net.createServer((client) => this.onClient(client));
  }

  static async start(targetPort: number): Promise<TcpRelay> {
    const relay = new TcpRelay(targetPort);
    await new Promise<void>((resolve) => relay.server.listen(0, '127.0.0.1', resolve));
    trackCloser(() => relay.close());
    return relay;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** New connections go to `port` from now on (a receiver restarted on another port). */
  retarget(port: number): void {
    this.target = port;
  }

  /** Drops every connection now, as a network cut would. */
  cut(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  /** Cuts every connection and refuses new ones until unblock(): a link down for good. */
  block(): void {
    this.blocked = true;
    this.cut();
  }

  unblock(): void {
    this.blocked = false;
  }

  /** The next binary frame of at least 200 bytes from the client gets one bit flipped near its end. */
  flipOnce(): void {
    this.flipArmed = true;
  }

  close(): void {
    this.cut();
    this.server.close();
  }

  private onClient(client: net.Socket): void {
    if (this.blocked) {
      client.destroy();
      return;
    }
    this.connections++;
    const upstream = net.connect(this.target, '127.0.0.1');
    this.sockets.add(client);
    this.sockets.add(upstream);
    const flipper = new FrameFlipper(() => {
      if (!this.flipArmed) return false;
      this.flipArmed = false;
      this.flipped++;
      return true;
    });
    client.on('data', (chunk: Buffer) => upstream.write(flipper.pass(chunk)));
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    for (const s of [client, upstream]) {
      s.on('error', end);
      s.on('close', end);
    }
  }
}

/**
 * Follows the client-to-server half of a WebSocket connection (HTTP upgrade request, then masked
 * frames) and flips one bit five bytes before the end of a frame's payload when asked: inside the
 * journal bytes of a replication batch, past every field that frames the batch.
 */
class FrameFlipper {
  private httpDone = false;
  private httpTail = '';
  /** Header bytes of the frame being read, until it is complete. */
  private header: number[] = [];
  private payloadLeft = 0;
  private flipAt = -1;

  constructor(private readonly shouldFlip: () => boolean) {}

  pass(input: Buffer): Buffer {
    const chunk = Buffer.from(input);
    let i = 0;
    if (!this.httpDone) {
      const text = this.httpTail + chunk.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) {
        this.httpTail = text.slice(-3);
        return chunk;
      }
      this.httpDone = true;
      i = end + 4 - this.httpTail.length;
    }
    while (i < chunk.length) {
      if (this.payloadLeft > 0) {
        const take = Math.min(this.payloadLeft, chunk.length - i);
        if (this.flipAt >= 0 && this.flipAt < take) {
          chunk[i + this.flipAt]! ^= 0x01;
          this.flipAt = -1;
        } else if (this.flipAt >= 0) {
          this.flipAt -= take;
        }
        this.payloadLeft -= take;
        i += take;
        continue;
      }
      this.header.push(chunk[i++]!);
      const length = this.headerLength();
      if (length === undefined || this.header.length < length) continue;
      const payload = this.payloadLength();
      const opcode = this.header[0]! & 0x0f;
      this.header = [];
      this.payloadLeft = payload;
      this.flipAt = opcode === 2 && payload >= 200 && this.shouldFlip() ? payload - 5 : -1;
    }
    return chunk;
  }

  /** The full header length once enough of it is known. */
  private headerLength(): number | undefined {
    if (this.header.length < 2) return undefined;
    const len7 = this.header[1]! & 0x7f;
    const masked = (this.header[1]! & 0x80) !== 0 ? 4 : 0;
    return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + masked;
  }

  private payloadLength(): number {
    const h = Buffer.from(this.header);
    const len7 = h[1]! & 0x7f;
    if (len7 === 126) return h.readUInt16BE(2);
    if (len7 === 127) return Number(h.readBigUInt64BE(2));
    return len7;
  }
}

/** Segment files in a data directory and their bytes, by name. */
export function segmentFiles(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  if (!fs.existsSync(dir)) return out;
  for (const name of fs.readdirSync(dir).filter((n) => /^\d{20}\.seg$/.test(n)).sort()) {
    try {
      out.set(name, fs.readFileSync(path.join(dir, name)));
    } catch {
      // Deleted between the listing and the read: the next comparison sees it.
    }
  }
  return out;
}

/**
 * Whether the replica holds exactly the primary's records: the same segment names, every file
 * equal, except that the primary's head may go on in zeros it preallocated and has not written.
 */
export function replicaMatches(primaryDir: string, replicaDir: string): boolean {
  return journalDifference(primaryDir, replicaDir) === undefined;
}

/** What differs between the two journals, for a failure message; undefined when they match. */
export function journalDifference(primaryDir: string, replicaDir: string, exact = false): string | undefined {
  const p = segmentFiles(primaryDir);
  const r = segmentFiles(replicaDir);
  const names = [...p.keys()].join(',');
  if (names !== [...r.keys()].join(',')) return `segments differ: primary ${names} replica ${[...r.keys()].join(',')}`;
  for (const [name, bytes] of p) {
    const copy = r.get(name)!;
    if (exact && copy.length !== bytes.length) return `${name}: primary ${bytes.length} bytes, replica ${copy.length}`;
    if (copy.length > bytes.length || !bytes.subarray(0, copy.length).equals(copy)) return `${name}: the bytes differ`;
    if (bytes.subarray(copy.length).some((b) => b !== 0)) return `${name}: the replica has ${copy.length} of the primary's ${bytes.length} bytes`;
  }
  return undefined;
}

/** Copies the segment files of `from` into a new temp folder (to open with the file store). */
export function copySegments(from: string): string {
  const to = makeTempDir('replica-copy');
  for (const [name, bytes] of segmentFiles(from)) fs.writeFileSync(path.join(to, name), bytes);
  return to;
}

/** Waits until the replica holds the primary's journal (journalDifference() names what still differs). */
export async function waitForSameJournal(primaryDir: string, replicaDir: string, timeoutMs = 20000): Promise<void> {
  await waitFor(
    `the replica to match the primary (${journalDifference(primaryDir, replicaDir) ?? 'matching'})`,
    () => journalDifference(primaryDir, replicaDir) === undefined,
    timeoutMs,
  );
}

/** Sends `body` as persistent messages with receipts, eight in flight at a time, numbered by an x-index header. */
export async function produceNumbered(stompPort: number, queue: string, from: number, count: number, body: Buffer): Promise<void> {
  const session = await StompitSession.connect(stompPort);
  for (let i = from; i < from + count; i += 8) {
    const sends: Array<Promise<void>> = [];
    for (let j = i; j < Math.min(i + 8, from + count); j++) sends.push(session.send(queue, body, { persistent: 'true', 'x-index': String(j) }));
    await Promise.all(sends);
  }
  await session.disconnect();
}
