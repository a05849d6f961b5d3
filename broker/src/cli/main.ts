#!/usr/bin/env node
// The `tandem` command. `tandem broker` runs one broker (active or standby, as the data-directory
// lock decides) until SIGTERM or SIGINT; `tandem pair` runs the local pair. Exit codes: 0 after a
// clean stop, 1 when the broker fails or stops on its own, 2 for a bad command line or config.
import { createRequire } from 'node:module';
import { createBroker, type ListeningAddresses } from '../broker.js';
import type { HaLockHolder } from '../ha/ha-lock.js';
import type { ListeningAddress } from '../transport/types.js';
import { loadConfig, type ConfigFlags } from '../config/load.js';
import { BrokerError } from '../errors.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError, parseFlags } from './exit.js';
import { runPair } from './pair.js';
import { runPromote } from './promote.js';
import { runReplicationCommand } from '@tandem-mq/replicator';

const HELP = `Usage: tandem <command> [options]

Commands:
  broker            Run one broker until SIGTERM or SIGINT. It is active while it
                    holds the lock on its data directory, standby otherwise
  pair              Run the local pair: broker-1 and broker-2 on one data
                    directory; prints the failover URI for clients
  promote           Promote the replica region: --mode switchover|failover
                    --admin URL (see tandem promote --help)
  replicator        The standalone link sender (tandem replicator --help)
  receiver          The standalone link receiver (tandem receiver --help)

Options for "tandem broker":
  --config FILE     YAML (.yaml, .yml) or JSON (.json) config file; relative
                    paths in it resolve against its folder
  --data-dir DIR    The journal's folder (overrides dataDir; default ./data)
  --mode MODE       durability (fsync before every receipt) or throughput
                    (fsync every journal.syncIntervalMs)
  --repair          Skip corrupt journal records instead of refusing to start
  --log-level LEVEL fatal, error, warn, info, debug, trace or silent
  -h, --help        Show this help

Options for "tandem pair":
  --data-dir DIR    The pair's shared data directory (default ./data)
  --mode MODE       durability or throughput, for both brokers
  --config-dir DIR  Folder with broker-1.yaml and broker-2.yaml (default: the
                    package's config/pair)
  --log-level LEVEL As for "tandem broker"

Other:
  tandem --help     Show this help
  tandem --version  Show the version

Without --config the broker runs on the embedded defaults: data in ./data,
STOMP on 127.0.0.1:61613, STOMP over WebSocket on 127.0.0.1:61614 and the
admin API on 127.0.0.1:8161, in durability mode. The pair adds broker-2 on
61623, 61624 and 8162; clients use
failover:(stomp://127.0.0.1:61613,stomp://127.0.0.1:61623)?randomize=false

Exit codes: 0 clean stop, 1 runtime failure (or a broker that stopped on its
own, e.g. fenced with ha.afterFence: stop), 2 bad command line or config.
`;

function version(): string {
  const require = createRequire(import.meta.url);
  return (require('../../package.json') as { version: string }).version;
}

function parseBrokerFlags(args: string[]): { file?: string; flags: ConfigFlags; help: boolean } {
  const values = parseFlags(args, {
    config: { type: 'string' },
    'data-dir': { type: 'string' },
    mode: { type: 'string' },
    repair: { type: 'boolean' },
    'log-level': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  const flags: ConfigFlags = {};
  if (values['data-dir'] !== undefined) flags.dataDir = values['data-dir'];
  if (values.mode !== undefined) flags.mode = values.mode;
  if (values['log-level'] !== undefined) flags.logLevel = values['log-level'];
  if (values.repair === true) flags.repair = true;
  const result: { file?: string; flags: ConfigFlags; help: boolean } = { flags, help: values.help === true };
  if (values.config !== undefined) result.file = values.config;
  return result;
}

async function runBroker(args: string[]): Promise<number> {
  const { file, flags, help } = parseBrokerFlags(args);
  if (help) {
    process.stdout.write(HELP);
    return EXIT_OK;
  }
  const config = await loadConfig({ ...(file === undefined ? {} : { file }), flags });
  const broker = createBroker(config);
  let requested: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (requested !== undefined) {
      // A second signal: the operator does not want to wait for a clean stop.
      process.stderr.write(`tandem: ${signal} again, exiting without a clean stop\n`);
      process.exit(EXIT_FAILED);
    }
    requested = signal;
    void broker.stop(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // The log lines broker.listening and ha.standby are for machines; these are for the person who ran the command.
  broker.onActive((addresses) => process.stderr.write(`${describeListeners(addresses, config.replication?.region)}\n`));
  broker.onStandby((admin, holder) => process.stderr.write(`${describeStandby(config.dataDir, admin, holder)}\n`));
  try {
    await broker.ready();
  } catch (error) {
    // A stop asked for during start-up is still a clean stop.
    if (requested === undefined) throw error;
  }
  const outcome = await broker.stopped;
  if (requested !== undefined && outcome.error === undefined) return EXIT_OK;
  const code = (outcome.error as { code?: unknown } | undefined)?.code;
  const suffix = typeof code === 'string' ? ` (${code})` : '';
  process.stderr.write(`tandem: the broker stopped: ${outcome.reason}${suffix}\n`);
  return EXIT_FAILED;
}

const at = (scheme: string, a: ListeningAddress): string => `${scheme}://${a.host}:${a.port}`;

function describeStandby(dataDir: string, admin: ListeningAddress, holder: HaLockHolder | undefined): string {
  const held = holder === undefined ? 'another broker' : `${holder.host} pid ${holder.pid} (epoch ${holder.epoch})`;
  return [
    `Tandem MQ broker is standby: ${dataDir} is locked by ${held}.`,
    `  It opens its client listeners when that lock is released or its lease goes stale.`,
    `  admin HTTP       ${at('http', admin)}/role`,
  ].join('\n');
}

function describeListeners(addresses: ListeningAddresses, region: string | undefined): string {
  const lines = [`Tandem MQ broker is active:`, `  STOMP            ${at('stomp', addresses.stomp)}`];
  // In a replica region the listeners answer every client with an ERROR naming the primary.
  if (region !== undefined) lines.splice(1, 0, `  region           ${region} (a replica region refuses clients: GET /replication tells the role)`);
  if (addresses.tls !== undefined) lines.push(`  STOMP over TLS   ${at('stomp+ssl', addresses.tls)}`);
  if (addresses.websocket !== undefined) lines.push(`  STOMP over WS    ${at('ws', addresses.websocket)}`);
  lines.push(`  admin HTTP       ${at('http', addresses.admin)}/health`);
  if (region !== undefined) lines.push(`  replication      ${at('http', addresses.admin)}/replication`);
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(HELP);
      return command === undefined ? EXIT_USAGE : EXIT_OK;
    case '--version':
    case '-v':
      process.stdout.write(`tandem ${version()}\n`);
      return EXIT_OK;
    case 'broker':
      return runBroker(rest);
    case 'pair':
      return runPair(rest, { help: HELP, version: version() });
    case 'promote':
      return runPromote(rest);
    case 'replicator':
    case 'receiver':
      // Their own exit codes; pino's last lines are flushed by main's exit below.
      return runReplicationCommand([command, ...rest]);
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

function report(error: unknown): number {
  if (error instanceof BrokerError) {
    switch (error.code) {
      case 'TANDEM_ERR_USAGE':
        process.stderr.write(`tandem: ${error.message}\nRun 'tandem --help' for usage.\n`);
        return EXIT_USAGE;
      case 'TANDEM_ERR_CONFIG_INVALID':
      case 'TANDEM_ERR_CONFIG_UNREADABLE':
        process.stderr.write(`config error: ${error.message}\n`);
        return EXIT_USAGE;
      default:
        process.stderr.write(`tandem: ${error.message} (${error.code})\n`);
        return EXIT_FAILED;
    }
  }
  const code = (error as { code?: unknown }).code;
  const suffix = typeof code === 'string' ? ` (${code})` : '';
  process.stderr.write(`tandem: the broker failed: ${(error as Error).message ?? String(error)}${suffix}\n`);
  return EXIT_FAILED;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => process.exit(report(error)),
);
