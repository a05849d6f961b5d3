// The replication parts a region's active broker runs, built from the config: the sender (primary
// role), the receiver (replica role), the endpoint both roles listen on, the refusal a primary's
// endpoint gives, and the probe a broker runs before it serves as primary.
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { FileIO, Logger } from '@tandem-mq/shared-store';
import {
  LinkServer,
  ReplicationReceiver,
  ReplicationSender,
  probeCounterpart,
  type HelloMessage,
  type LinkHandler,
  type LinkTlsOptions,
  type ProbeAnswer,
  type ReceiverOptions,
  type RefusalMessage,
  type SenderOptions,
} from '@tandem-mq/replicator';
import type { ReplicationConfig } from '../config/replication.js';
import { promotionAfter, type RegionState } from './region-state.js';

/** How long a probe waits for each counterpart link before trying the next. */
export const PROBE_TIMEOUT_MS = 1000;

export function brokerName(config: ReplicationConfig): string {
  return `${config.region}/${hostname()}:${process.pid}`;
}

export async function linkTls(config: ReplicationConfig): Promise<LinkTlsOptions> {
  return config.ca === undefined ? {} : { ca: await readFile(config.ca) };
}

export async function openLinkServer(config: ReplicationConfig, handler: LinkHandler): Promise<LinkServer> {
  const tls = config.tls === undefined ? undefined : { cert: await readFile(config.tls.cert), key: await readFile(config.tls.key) };
  const server = new LinkServer({ host: config.listen.host, port: config.listen.port, ...(tls === undefined ? {} : { tls }) }, handler);
  await server.listen();
  return server;
}

export type SenderHooks = Pick<SenderOptions, 'onDrain' | 'onDrainAbandoned' | 'onReplaced'>;

export async function makeSender(
  config: ReplicationConfig,
  dataDir: string,
  generation: number,
  logger: Logger,
  hooks: SenderHooks,
): Promise<ReplicationSender> {
  return new ReplicationSender({
    dir: dataDir,
    url: config.counterpart.links,
    token: config.token,
    region: config.region,
    generation,
    name: brokerName(config),
    tls: await linkTls(config),
    logger,
    statusIntervalMs: config.lagReportIntervalMs,
    pollIntervalMs: 5,
    backoff: { initialMs: 100, maxMs: 2000 },
    ...hooks,
  });
}

export function makeReceiver(
  config: ReplicationConfig,
  dataDir: string,
  state: RegionState,
  options: { io: FileIO; logger: Logger; mayConfirm: () => boolean; onDurable?: ReceiverOptions['onDurable'] },
): ReplicationReceiver {
  return new ReplicationReceiver({
    ...(options.onDurable === undefined ? {} : { onDurable: options.onDurable }),
    dir: dataDir,
    token: config.token,
    listen: false,
    lock: false,
    mayConfirm: options.mayConfirm,
    io: options.io,
    logger: options.logger,
    name: brokerName(config),
    region: config.region,
    generation: state.generation,
    primaryEndpoints: config.counterpart.clients,
    admit: (hello) => (hello.generation < state.generation ? staleRefusal(config, state, hello) : undefined),
  });
}

/** A replica at a newer generation refuses a primary it replaced, telling it how. */
function staleRefusal(config: ReplicationConfig, state: RegionState, hello: HelloMessage): RefusalMessage {
  return {
    type: 'refusal',
    code: 'TANDEM_ERR_REPLICATION_STALE_PRIMARY',
    message: `region ${hello.region || '(none)'} at generation ${hello.generation} was replaced: region ${config.region} is at generation ${state.generation}`,
    region: config.region,
    generation: state.generation,
    promotion: promotionAfter(state, hello.generation),
  };
}

/** What a primary's endpoint answers every sender. */
export function primaryRefusal(config: ReplicationConfig, state: RegionState, hello: HelloMessage): RefusalMessage {
  return {
    type: 'refusal',
    code: 'TANDEM_ERR_REPLICATION_NOT_REPLICA',
    message: `region ${config.region} is primary at generation ${state.generation}; it does not receive`,
    region: config.region,
    generation: state.generation,
    promotion: hello.generation < state.generation ? promotionAfter(state, hello.generation) : undefined,
  };
}

export async function probe(config: ReplicationConfig, state: RegionState): Promise<ProbeAnswer> {
  return probeCounterpart({
    urls: config.counterpart.links,
    token: config.token,
    region: config.region,
    generation: state.generation,
    sender: brokerName(config),
    tls: await linkTls(config),
    timeoutMs: PROBE_TIMEOUT_MS,
  });
}
