// The standalone tools: `tandem replicator --config FILE` ships a primary's journal to a receiver;
// `tandem receiver --config FILE` writes what arrives into a replica data directory. Both run until
// SIGTERM or SIGINT. Exit codes: 0 clean stop, 1 runtime failure (a refused link, a lost lock), 2 a
// bad command line or config. A broker with a `replication` section hosts the same parts itself.
import { parseArgs } from 'node:util';
import { createLogger, TandemError, type Logger } from '@tandem-mq/shared-store';
import { startAdminServer, type AdminServer } from './admin.js';
import { loadReceiverConfig, loadReplicatorConfig, type AdminSettings } from './config.js';
import { ReplicationReceiver } from './receiver.js';
import { ReplicationSender } from './sender.js';

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

const HELP = `Usage: tandem replicator --config FILE
       tandem receiver --config FILE

Commands:
  replicator        Ship the primary region's journal to a receiver
  receiver          Receive a journal into the replica region's data directory

Options:
  --config FILE     YAML (.yaml, .yml) or JSON (.json); relative paths in it
                    resolve against its folder
  --log-level LEVEL fatal, error, warn, info, debug, trace or silent
  -h, --help        Show this help

Exit codes: 0 clean stop, 1 runtime failure, 2 bad command line or config.
`;

interface Running {
  logger: Logger;
  /** Resolves with the exit code once the side stops on its own. */
  finished: Promise<number>;
  stop(): Promise<void>;
}

async function runReplicator(file: string, level: string | undefined): Promise<Running> {
  const config = await loadReplicatorConfig(file);
  const logger = createLogger({ level: level ?? config.logLevel, name: 'tandem-replicator' });
  const sender = new ReplicationSender({
    dir: config.dataDir,
    url: config.url,
    token: config.token,
    logger,
    ...(config.name === undefined ? {} : { name: config.name }),
    ...(config.tls === undefined ? {} : { tls: config.tls }),
    ...(config.pollIntervalMs === undefined ? {} : { pollIntervalMs: config.pollIntervalMs }),
    ...(config.maxBatchBytes === undefined ? {} : { maxBatchBytes: config.maxBatchBytes }),
    ...(config.windowBytes === undefined ? {} : { windowBytes: config.windowBytes }),
    ...(config.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: config.idleTimeoutMs }),
    ...(config.reconnect === undefined ? {} : { backoff: config.reconnect }),
  });
  const admin = await openAdmin(config.admin, () => sender.report(), logger);
  sender.start();
  logger.info(
    { event: 'replication.started', role: 'primary', dataDir: config.dataDir, url: config.url, admin: admin?.address },
    `replicating ${config.dataDir} to ${config.url}`,
  );
  return {
    logger,
    finished: sender.finished.then(async (error) => {
      await admin?.close();
      return error === undefined ? EXIT_OK : EXIT_FAILED;
    }),
    stop: async () => {
      await sender.stop();
      await admin?.close();
    },
  };
}

async function runReceiver(file: string, level: string | undefined): Promise<Running> {
  const config = await loadReceiverConfig(file);
  const logger = createLogger({ level: level ?? config.logLevel, name: 'tandem-receiver' });
  const receiver = new ReplicationReceiver({
    dir: config.dataDir,
    token: config.token,
    host: config.host,
    port: config.port,
    path: config.path,
    logger,
    primaryEndpoints: config.primaryEndpoints,
    ...(config.lock ? {} : { lock: false as const }),
    ...(config.name === undefined ? {} : { name: config.name }),
    ...(config.tls === undefined ? {} : { tls: config.tls }),
    ...(config.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: config.idleTimeoutMs }),
  });
  const link = await receiver.start();
  const admin = await openAdmin(config.admin, () => receiver.report(), logger);
  logger.info(
    { event: 'replication.started', role: 'replica', dataDir: config.dataDir, link: { host: link.address, port: link.port }, admin: admin?.address, position: receiver.report().position },
    `receiving into ${config.dataDir} on ${link.address}:${link.port}${config.path}`,
  );
  return {
    logger,
    finished: receiver.finished.then(async (error) => {
      await admin?.close();
      return error === undefined ? EXIT_OK : EXIT_FAILED;
    }),
    stop: async () => {
      await receiver.stop();
      await admin?.close();
    },
  };
}

async function openAdmin(settings: AdminSettings | undefined, report: Parameters<typeof startAdminServer>[0]['report'], logger: Logger): Promise<AdminServer | undefined> {
  if (settings === undefined) return undefined;
  return startAdminServer({ host: settings.host, port: settings.port, report, logger });
}

/** Runs `replicator ...` or `receiver ...` to its end; resolves with the exit code. */
export async function runReplicationCommand(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h') {
    process.stdout.write(HELP);
    return command === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (command !== 'replicator' && command !== 'receiver') {
    process.stderr.write(`tandem: unknown command "${command}"\n\n${HELP}`);
    return EXIT_USAGE;
  }
  let values;
  try {
    values = parseArgs({
      args: rest,
      strict: true,
      allowPositionals: false,
      options: { config: { type: 'string' }, 'log-level': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }).values;
  } catch (error) {
    process.stderr.write(`tandem ${command}: ${(error as Error).message}\n`);
    return EXIT_USAGE;
  }
  if (values.help === true) {
    process.stdout.write(HELP);
    return EXIT_OK;
  }
  if (values.config === undefined) {
    process.stderr.write(`tandem ${command}: --config FILE is required\n`);
    return EXIT_USAGE;
  }
  let running: Running;
  try {
    running = command === 'replicator' ? await runReplicator(values.config, values['log-level']) : await runReceiver(values.config, values['log-level']);
  } catch (error) {
    const code = error instanceof TandemError ? error.code : 'TANDEM_ERR_INTERNAL';
    process.stderr.write(`tandem ${command}: ${code}: ${(error as Error).message}\n`);
    return code === 'TANDEM_ERR_REPLICATION_CONFIG' ? EXIT_USAGE : EXIT_FAILED;
  }
  const signalled = new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      running.logger.info({ event: 'replication.stopping', signal }, `stopping on ${signal}`);
      void running.stop().then(() => resolve(EXIT_OK));
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  const code = await Promise.race([running.finished, signalled]);
  running.logger.info({ event: 'replication.stopped', exitCode: code }, 'stopped');
  return code;
}

