// `tandem pair` (what `npm start` runs): the local active/standby pair, broker-1 and broker-2 as two
// `tandem broker` processes on one data directory, their output prefixed with their names. It says
// which one is active, prints the failover URI for clients, and stops both on Ctrl-C.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, type ConfigFlags } from '../config/load.js';
import type { BrokerConfig } from '../config/schema.js';
import { EXIT_FAILED, EXIT_OK, parseFlags } from './exit.js';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));
const DEFAULT_CONFIG_DIR = fileURLToPath(new URL('../../config/pair/', import.meta.url));
const MEMBERS = ['broker-1', 'broker-2'] as const;
/** Ctrl-C reaches the brokers from the terminal too; only a broker still running after this gets SIGTERM. */
const SIGINT_FORWARD_DELAY_MS = 300;

interface Member {
  name: string;
  config: BrokerConfig;
  args: string[];
  child?: ChildProcess;
  role: 'starting' | 'active' | 'standby' | 'stopping' | 'exited';
  exited: Promise<number>;
}

export interface PairInfo {
  help: string;
  version: string;
}

/** The URI clients give the failover client (or any ActiveMQ client), broker-1 first. */
export function pairFailoverUri(configs: BrokerConfig[]): string {
  const endpoints = configs.map((c) => `stomp://${clientHost(c.stomp.host)}:${c.stomp.port}`);
  return `failover:(${endpoints.join(',')})?randomize=false`;
}

/** A broker listening on every interface is reached on loopback from here. */
function clientHost(host: string): string {
  return host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
}

function parsePairFlags(args: string[]): { flags: ConfigFlags; configDir: string; help: boolean } {
  const values = parseFlags(args, {
    'data-dir': { type: 'string' },
    mode: { type: 'string' },
    'config-dir': { type: 'string' },
    'log-level': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  // Both brokers get the same --data-dir, resolved here, so they cannot end up on different folders.
  const flags: ConfigFlags = { dataDir: path.resolve(values['data-dir'] ?? 'data') };
  if (values.mode !== undefined) flags.mode = values.mode;
  if (values['log-level'] !== undefined) flags.logLevel = values['log-level'];
  return { flags, configDir: path.resolve(values['config-dir'] ?? DEFAULT_CONFIG_DIR), help: values.help === true };
}

export async function runPair(args: string[], info: PairInfo): Promise<number> {
  const { flags, configDir, help } = parsePairFlags(args);
  if (help) {
    process.stdout.write(info.help);
    return EXIT_OK;
  }
  const members: Member[] = [];
  for (const name of MEMBERS) {
    const file = path.join(configDir, `${name}.yaml`);
    // Loaded here first, so a bad file fails the command (exit 2) before anything starts.
    const config = await loadConfig({ file, flags });
    const args = ['broker', '--config', file, '--data-dir', config.dataDir];
    if (flags.mode !== undefined) args.push('--mode', flags.mode);
    if (flags.logLevel !== undefined) args.push('--log-level', flags.logLevel);
    members.push({ name, config, args, role: 'starting', exited: Promise.resolve(EXIT_OK) });
  }
  const say = (line: string): void => void process.stderr.write(`tandem pair: ${line}\n`);
  say(`Tandem MQ ${info.version}: broker-1 and broker-2 on ${members[0]!.config.dataDir} (${members[0]!.config.mode} mode)`);

  let stopping = false;
  const stopAll = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    const forward = (): void => {
      for (const m of members) if (m.role !== 'stopping' && m.role !== 'exited') m.child?.kill('SIGTERM');
    };
    if (signal === 'SIGINT') setTimeout(forward, SIGINT_FORWARD_DELAY_MS).unref();
    else forward();
  };
  process.on('SIGINT', () => stopAll('SIGINT'));
  process.on('SIGTERM', () => stopAll('SIGTERM'));

  // broker-1 first, so on a fresh data directory it is the one that becomes active.
  for (const member of members) {
    if (stopping) break;
    start(member, say);
    const up = await Promise.race([roleKnown(member), member.exited.then(() => false)]);
    if (!up) {
      say(`${member.name} did not start; stopping`);
      stopAll('SIGTERM');
      break;
    }
  }
  if (!stopping) {
    const active = members.find((m) => m.role === 'active');
    say(`${active?.name ?? 'neither broker'} is active, ${members.filter((m) => m !== active).map((m) => m.name).join(' and ')} standby`);
    say(`clients connect with ${pairFailoverUri(members.map((m) => m.config))}`);
    say('Ctrl-C stops both');
  }
  const codes = await Promise.all(members.map((m) => m.exited));
  return codes.every((code) => code === EXIT_OK) && members.every((m) => m.child !== undefined) ? EXIT_OK : EXIT_FAILED;
}

function start(member: Member, say: (line: string) => void): void {
  const child = spawn(process.execPath, [MAIN, ...member.args], { stdio: ['ignore', 'pipe', 'pipe'] });
  member.child = child;
  member.exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      member.role = 'exited';
      if (code !== EXIT_OK) say(`${member.name} exited (${signal ?? `status ${code}`})`);
      resolve(code ?? EXIT_FAILED);
    });
  });
  forwardLines(child.stdout!, process.stdout, member.name, (line) => watch(member, line, say));
  forwardLines(child.stderr!, process.stderr, member.name, () => undefined);
}

/** Follows a member's role through its log lines (the same events the system tests wait for). */
function watch(member: Member, line: string, say: (line: string) => void): void {
  if (!line.startsWith('{')) return;
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return;
  }
  const event = entry['event'];
  if (event === 'broker.listening') {
    const wasStarting = member.role === 'starting';
    member.role = 'active';
    if (!wasStarting) say(`${member.name} is now active (stomp://${clientHost(member.config.stomp.host)}:${member.config.stomp.port})`);
  } else if (event === 'ha.standby') {
    member.role = 'standby';
  } else if (event === 'broker.stopping') {
    member.role = 'stopping';
  } else if (event === 'ha.transition' && entry['to'] === 'fenced') {
    say(`${member.name} lost the lock and is fenced: ${String(entry['reason'])}`);
  }
}

function roleKnown(member: Member): Promise<boolean> {
  return new Promise((resolve) => {
    const check = setInterval(() => {
      if (member.role === 'active' || member.role === 'standby') resolve(true);
      else if (member.role === 'exited' || member.role === 'stopping') resolve(false);
      else return;
      clearInterval(check);
    }, 20);
  });
}

function forwardLines(from: NodeJS.ReadableStream, to: NodeJS.WritableStream, name: string, onLine: (line: string) => void): void {
  let partial = '';
  from.setEncoding('utf8');
  from.on('data', (text: string) => {
    const parts = (partial + text).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      to.write(`${name} | ${line}\n`);
      onLine(line);
    }
  });
  from.on('end', () => {
    if (partial !== '') to.write(`${name} | ${partial}\n`);
  });
}
