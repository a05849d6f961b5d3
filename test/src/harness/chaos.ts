// One chaos run against a started pair: a failover-client producer sends persistent messages with
// receipts while a failover-client consumer acknowledges each one, and at a random point the active
// gets a real signal (kill -9, SIGSTOP held past the lease then SIGCONT, or SIGTERM). The result
// holds what the tests assert and the benchmark reports: losses, repeats, and the failover time.
// The run speaks to the pair through ChaosTarget, so the benchmark can run it against ActiveMQ too.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { FailoverClient } from '@tandem-mq/failover-client';
import { FrameScanner, decodeRecord, journalFormat, parseSegmentFileName, type EpochRecord } from '@tandem-mq/shared-store';
import { adminRequest, type DestinationRow } from './admin-client.js';
import { trackCloser } from './cleanup-registry.js';
import { AckLedger } from './ack-ledger.js';
import type { BrokerPair, PairMember } from './pair.js';
import { sleep, waitFor } from './wait.js';

export type ChaosSignal = 'SIGKILL' | 'SIGSTOP' | 'SIGTERM';

export interface ChaosOptions {
  signal: ChaosSignal;
  messages: number;
  /** Sends in flight at once; default 16. */
  window?: number;
  /** Signal once this share of the messages is receipted; random from 0.2 to 0.6 by default. */
  at?: number;
  /** How long a SIGSTOP is held after the standby has taken over; default 300 ms. */
  holdAfterTakeoverMs?: number;
  timeoutMs?: number;
}

/** One broker of the pair under test, as the chaos run needs it. */
export interface ChaosMember {
  readonly name: string;
  /** Its STOMP endpoint as the failover client names it. */
  readonly endpoint: string;
  signal(signal: NodeJS.Signals): void;
  /** Resolves with the time (epoch ms) it began serving clients, at or after `since`. */
  servingSince(since: number, timeoutMs: number): Promise<number>;
  /** Resolves true once it fenced itself at or after `since` (the SIGSTOP runs). */
  fencedSince?(since: number, timeoutMs: number): Promise<boolean>;
  /** Whether it holds nothing more of `queue`; without it the run waits for the deliveries to go quiet. */
  queueDrained?(queue: string): Promise<boolean>;
}

export interface ChaosTarget {
  /** The failover URI naming both brokers. */
  uri: string;
  /** The active, which gets the signal, and the standby expected to take over. */
  victim: ChaosMember;
  successor: ChaosMember;
}

export interface ChaosResult {
  queue: string;
  signal: ChaosSignal;
  victim: string;
  successor: string;
  /** From the signal to the first RECEIPT the producer got from the new active. */
  failoverMs: number | undefined;
  /** From the signal to the new active's `broker.listening` line. */
  takeoverMs: number;
  sent: number;
  receipted: number;
  /** Sends written and not yet receipted when the signal went. */
  unconfirmedAtSignal: number;
  /** Receipted and never delivered. */
  lost: string[];
  /** Delivered under two message ids: a resend stored twice. */
  storedTwice: string[];
  /** Delivered again after its ACK was receipted. */
  afterAck: string[];
  /** Deliveries beyond each message's first (lost ACKs, in-flight messages of the dead connection). */
  redeliveries: number;
  /** Errors that should not happen: failed sends, ACKs failing other than as stale. */
  failures: string[];
  /** SIGSTOP only: the old active logged its fence after waking. */
  victimFenced?: boolean;
}

/** The chaos run against a Tandem pair: its active is the victim, the other member the successor. */
export async function runChaos(pair: BrokerPair, options: ChaosOptions): Promise<ChaosResult> {
  const victim = await pair.active();
  if (victim === undefined) throw new Error('no active broker in the pair');
  return runChaosOn({ uri: pair.failoverUri(CHAOS_RECONNECT), victim: chaosMember(victim), successor: chaosMember(pair.other(victim)) }, options);
}

/** The reconnect options the chaos clients add to a failover URI: retry soon, and often. */
export const CHAOS_RECONNECT = 'initialReconnectDelay=10&maxReconnectDelay=100';

function chaosMember(member: PairMember): ChaosMember {
  return {
    name: member.name,
    endpoint: member.endpoint,
    signal: (signal) => member.signal(signal),
    servingSince: async (since, timeoutMs) => Number((await member.waitUntilActive(since, timeoutMs))['time']),
    fencedSince: (since, timeoutMs) =>
      member.waitForEvent('ha.transition', since, timeoutMs, (e) => e['to'] === 'fenced').then(
        () => true,
        () => false,
      ),
    async queueDrained(queue) {
      const rows = (await adminRequest(member.ports.admin, '/destinations')).json<{ destinations: DestinationRow[] }>().destinations;
      const row = rows.find((r) => r.destination === queue);
      return row === undefined || (row.depth === 0 && row.inFlight === 0);
    },
  };
}

export async function runChaosOn(target: ChaosTarget, options: ChaosOptions): Promise<ChaosResult> {
  const timeoutMs = options.timeoutMs ?? 120000;
  const window = options.window ?? 16;
  const at = options.at ?? 0.2 + Math.random() * 0.4;
  const { victim, successor, uri } = target;
  const queue = `/queue/chaos.${randomBytes(4).toString('hex')}`;

  const producer = new FailoverClient(uri);
  const consumer = new FailoverClient(uri, { clientId: `chaos-consumer-${randomBytes(3).toString('hex')}` });
  trackCloser(() => void producer.close());
  trackCloser(() => void consumer.close());
  await producer.connect();
  await consumer.connect();

  const failures: string[] = [];
  const ledger = await AckLedger.subscribe(consumer, queue, {
    onAckFailure: (body, error) => failures.push(`ack ${body}: ${error.code} ${error.message}`),
  });
  const { deliveries } = ledger;

  let signalledAt: number | undefined;
  let resumedAt: number | undefined;
  let firstReceiptAfter: number | undefined;
  producer.onStatus((status) => {
    if (status.type === 'resumed' && signalledAt !== undefined && status.to.startsWith(successor.endpoint)) resumedAt ??= Date.now();
  });

  const receipted = new Set<string>();
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < options.messages) {
      const body = `m-${next++}`;
      try {
        await producer.send(queue, body);
        receipted.add(body);
        if (resumedAt !== undefined && firstReceiptAfter === undefined) firstReceiptAfter = Date.now();
      } catch (error) {
        failures.push(`send ${body}: ${(error as Error).message}`);
      }
    }
  };
  const lanes = Array.from({ length: window }, () => lane());
  const everything = Promise.all(lanes);

  await waitFor('the point to signal', () => receipted.size >= Math.floor(options.messages * at) || next >= options.messages, timeoutMs, 1);
  const unconfirmedAtSignal = next - receipted.size;
  signalledAt = Date.now();
  victim.signal(options.signal);
  let victimFenced: boolean | undefined;
  const serving = await successor.servingSince(signalledAt, 60000);
  if (options.signal === 'SIGSTOP') {
    await sleep(options.holdAfterTakeoverMs ?? 300);
    const resumed = Date.now();
    victim.signal('SIGCONT');
    if (victim.fencedSince !== undefined) victimFenced = await victim.fencedSince(resumed, 10000);
  }

  await withDeadline(everything, timeoutMs, 'every send to settle');
  let lastDelivery = Date.now();
  let deliveryCount = 0;
  const drained = async (): Promise<boolean> => {
    if (ledger.unsettled > 0 || [...receipted].some((body) => !deliveries.has(body))) return false;
    if (successor.queueDrained !== undefined) return successor.queueDrained(queue);
    // A broker we cannot ask: done once nothing has been delivered for a while.
    const count = [...deliveries.values()].reduce((n, list) => n + list.length, 0);
    if (count !== deliveryCount) {
      deliveryCount = count;
      lastDelivery = Date.now();
    }
    return Date.now() - lastDelivery > 1000;
  };
  // A broker that lost a receipted message never drains: the result then names what is missing.
  await waitFor('every receipted message delivered and the queue drained', drained, timeoutMs, 50).catch(() => undefined);
  await producer.close();
  await consumer.close();

  const result: ChaosResult = {
    queue,
    signal: options.signal,
    victim: victim.name,
    successor: successor.name,
    failoverMs: firstReceiptAfter === undefined ? undefined : firstReceiptAfter - signalledAt,
    takeoverMs: serving - signalledAt,
    sent: next,
    receipted: receipted.size,
    unconfirmedAtSignal,
    lost: [...receipted].filter((body) => !deliveries.has(body)),
    storedTwice: ledger.storedTwice(),
    afterAck: ledger.afterAck(),
    redeliveries: ledger.redeliveries(),
    failures,
  };
  if (victimFenced !== undefined) result.victimFenced = victimFenced;
  return result;
}

/**
 * Stops both members (gracefully), starts both again on the same data directory, and reports what
 * the new active recovered: the problems its journal recovery found and the queue's depth.
 */
export async function restartBoth(pair: BrokerPair, queue: string): Promise<{ active: PairMember; problems: number; cleanShutdown: boolean; depth: number }> {
  await pair.stop();
  for (const member of pair.members) await member.start();
  const active = await pair.active();
  if (active === undefined) throw new Error('neither member is active after the restart');
  const recovered = await active.broker.waitForLog('journal.recovered', (e) => e['event'] === 'journal.recovered');
  const rows = (await adminRequest(active.ports.admin, '/destinations')).json<{ destinations: DestinationRow[] }>().destinations;
  return {
    active,
    problems: Number(recovered['problems']),
    cleanShutdown: recovered['cleanShutdown'] === true,
    depth: rows.find((r) => r.destination === queue)?.depth ?? 0,
  };
}

/**
 * SIGTERM to the active of a running pair: the other member takes over and recovers the journal.
 * Reports what its recovery found, and the queue's depth there.
 */
export async function handOver(pair: BrokerPair, queue: string): Promise<{ active: PairMember; problems: number; ignoredBytes: number; epoch: number; depth: number }> {
  const from = await pair.active();
  if (from === undefined) throw new Error('no active broker to hand over from');
  const to = pair.other(from);
  const since = Date.now();
  from.signal('SIGTERM');
  await to.waitUntilActive(since, 15000);
  const recovered = await to.waitForEvent('journal.recovered', since, 15000);
  const rows = (await adminRequest(to.ports.admin, '/destinations')).json<{ destinations: DestinationRow[] }>().destinations;
  return {
    active: to,
    problems: Number(recovered['problems']),
    ignoredBytes: Number(recovered['ignoredBytes'] ?? 0),
    epoch: Number(recovered['epoch']),
    depth: rows.find((r) => r.destination === queue)?.depth ?? 0,
  };
}

/** One epoch record found in a journal: its segment file, its position there, and the record. */
export interface JournalEpoch {
  segment: string;
  offset: number;
  record: EpochRecord;
}

/** The epoch records of a data directory's journal in journal order, read straight from its segment files. */
export function journalEpochs(dataDir: string): JournalEpoch[] {
  const found: JournalEpoch[] = [];
  const names = fs.readdirSync(dataDir).filter((name) => parseSegmentFileName(name) !== undefined).sort();
  for (const name of names) {
    const scanner = new FrameScanner(journalFormat.SEGMENT_HEADER_SIZE, undefined, true);
    scanner.push(fs.readFileSync(path.join(dataDir, name)).subarray(journalFormat.SEGMENT_HEADER_SIZE));
    scanner.finish();
    for (let event = scanner.next(); event !== undefined; event = scanner.next()) {
      if (event.kind !== 'frame' || event.typeId !== journalFormat.RecordType.Epoch) continue;
      found.push({ segment: name, offset: event.offset, record: decodeRecord(event.typeId, event.payload) as EpochRecord });
    }
  }
  return found;
}

export function describeChaos(result: ChaosResult, mode: string): string {
  const failover = result.failoverMs === undefined ? 'no receipt after the failover' : `failover ${result.failoverMs} ms`;
  return (
    `${result.signal} ${mode}: ${failover} (takeover ${result.takeoverMs} ms, ${result.victim} -> ${result.successor}); ` +
    `${result.receipted}/${result.sent} receipted, ${result.unconfirmedAtSignal} in flight at the signal, ${result.redeliveries} redelivered`
  );
}

function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    promise.then(
      (value) => (clearTimeout(timer), resolve(value)),
      (error: unknown) => (clearTimeout(timer), reject(error)),
    );
  });
}
