// One promotion under load, for the replication benchmark: a failover-client producer (its URI
// names every broker of both regions) sends persistent messages with receipts at a steady pace, a
// failover-client consumer acknowledges each one, and at a set point the run promotes the replica
// (SWITCHOVER, or kill -9 of the primary and FAILOVER). It measures from the command to the first
// RECEIPT from the new primary, and reports what was lost, stored twice or delivered after its ACK.
import { randomBytes } from 'node:crypto';
import { FailoverClient } from '@tandem-mq/failover-client';
import { trackCloser } from '../harness/cleanup-registry.js';
import { AckLedger } from '../harness/ack-ledger.js';
import { sleep, waitFor } from '../harness/wait.js';

export interface PromoteRunOptions {
  /** failover:(...) naming every broker. */
  uri: string;
  /** The STOMP endpoint (stomp://host:port) of the broker that becomes primary. */
  newPrimary: string;
  rate: number;
  window: number;
  bodySize: number;
  /** Load before the command, and after the first receipt from the new primary. */
  beforeMs: number;
  afterMs: number;
  /** Issues the command (the kill and/or POST /promote); resolves with its answer. */
  command: () => Promise<unknown>;
  /** Whether the new primary holds nothing more of the queue (depth and in-flight 0). */
  drained: (queue: string) => Promise<boolean>;
  timeoutMs: number;
}

export interface PromoteRunResult {
  queue: string;
  /** From the command to the first RECEIPT from the new primary. */
  promoteMs: number | undefined;
  /** The command's answer (POST /promote's JSON). */
  answer: unknown;
  /** Epoch ms at the command, for comparing with the RPO time the answer gives. */
  commandAt: number;
  sent: number;
  receipted: number;
  /** Receipted and never delivered, with when each receipt came (epoch ms). */
  lost: Array<{ body: string; receiptAt: number }>;
  storedTwice: number;
  /** Delivered again after its ACK was receipted, with when that receipt came (epoch ms). */
  afterAck: Array<{ body: string; ackAt: number }>;
  redeliveries: number;
  failures: string[];
}

export async function runPromotion(options: PromoteRunOptions): Promise<PromoteRunResult> {
  const queue = `/queue/promote.${randomBytes(4).toString('hex')}`;
  const producer = new FailoverClient(options.uri);
  const consumer = new FailoverClient(options.uri, { clientId: `promote-consumer-${randomBytes(3).toString('hex')}` });
  const untrackProducer = trackCloser(() => void producer.close());
  const untrackConsumer = trackCloser(() => void consumer.close());
  try {
    await producer.connect();
    await consumer.connect();

    const failures: string[] = [];
    const ledger = await AckLedger.subscribe(consumer, queue, {
      onAckFailure: (body, error) => failures.push(`ack ${body}: ${error.code} ${error.message}`),
      // The body starts with its name, then padding.
      bodyOf: (text) => text.slice(0, text.indexOf('|')),
    });
    const { deliveries, confirmedAcks } = ledger;

    const padding = 'x'.repeat(options.bodySize);
    const receipts = new Map<string, number>();
    let commandAt = NaN;
    let firstFromNew: number | undefined;
    let next = 0;
    let inFlight = 0;
    let stopAt = Infinity;
    const startedAt = Date.now();
    let settled!: () => void;
    const allSettled = new Promise<void>((resolve) => (settled = resolve));
    let stopped = false;
    const pump = (): void => {
      const due = Math.floor(((Date.now() - startedAt) * options.rate) / 1000);
      while (!stopped && next < due && inFlight < options.window) {
        const body = `m-${next++}`;
        inFlight++;
        // The body starts with its name, padded to the message size.
        producer.send(queue, `${body}|${padding}`.slice(0, Math.max(options.bodySize, body.length + 1))).then(
          () => {
            const at = Date.now();
            receipts.set(body, at);
            if (!Number.isNaN(commandAt) && firstFromNew === undefined && producer.endpoint === options.newPrimary) {
              firstFromNew = at;
              stopAt = at + options.afterMs;
            }
            if (--inFlight === 0 && stopped) settled();
          },
          (error: Error) => {
            failures.push(`send ${body}: ${error.message}`);
            if (--inFlight === 0 && stopped) settled();
          },
        );
      }
      if (!stopped && Date.now() >= stopAt) {
        stopped = true;
        if (inFlight === 0) settled();
      }
    };
    const pacer = setInterval(pump, 1);
    let answer: unknown;
    try {
      await sleep(options.beforeMs);
      commandAt = Date.now();
      answer = await options.command();
      await waitFor('the first receipt from the new primary', () => firstFromNew !== undefined, options.timeoutMs, 10);
      await waitFor('the end of the load', () => stopped, options.timeoutMs, 10);
      await withDeadline(allSettled, options.timeoutMs, 'every send to settle');
    } finally {
      clearInterval(pacer);
    }

    // Done when every receipted message came, or (losses being possible after a FAILOVER) when the
    // new primary holds nothing more of the queue and no ACK is under way.
    const drained = async (): Promise<boolean> =>
      ledger.unsettled === 0 && ([...receipts.keys()].every((body) => deliveries.has(body)) || (await options.drained(queue)));
    await waitFor('every receipted message delivered or the queue drained', drained, options.timeoutMs, 100).catch(() => undefined);
    await sleep(250);
    return {
      queue,
      promoteMs: firstFromNew === undefined ? undefined : firstFromNew - commandAt,
      answer,
      commandAt,
      sent: next,
      receipted: receipts.size,
      lost: [...receipts].filter(([body]) => !deliveries.has(body)).map(([body, receiptAt]) => ({ body, receiptAt })),
      storedTwice: ledger.storedTwice().length,
      afterAck: ledger.afterAck().map((body) => ({ body, ackAt: confirmedAcks.get(body) ?? NaN })),
      redeliveries: ledger.redeliveries(),
      failures,
    };
  } finally {
    await Promise.allSettled([producer.close(), consumer.close()]);
    untrackProducer();
    untrackConsumer();
  }
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
