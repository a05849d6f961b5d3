// A paced queue workload for the replication benchmark: one producer sends persistent messages at
// a fixed rate (each with a receipt, at most `window` awaiting theirs) for a fixed time, and one
// consumer acknowledges each. Unlike workloads.ts, the rate is the input: replication lag means
// something only at a stated load. Send and receipt times are kept per message for the lag measure.
import { randomUUID } from 'node:crypto';
import { WireClient, withTimeout } from '../wire/stomp-client.js';

export const SEQ_HEADER = 'bench-seq';

export interface PacedLoadOptions {
  port: number;
  /** A fresh queue by default. */
  destination?: string;
  /** Messages per second asked for. */
  rate: number;
  seconds: number;
  /** Receipts outstanding at most; past it the producer falls behind the pace (reported). */
  window: number;
  bodySize: number;
  prefetch: number;
  /** The clock every time below is on (ms). */
  now: () => number;
  timeoutMs: number;
}

export interface PacedLoadResult {
  destination: string;
  planned: number;
  receipted: number;
  /** Receipted messages per second over the send phase (first send to last receipt). */
  achievedRate: number;
  sendPhaseMs: number;
  /** At most this many messages behind the pace (the window was full). */
  maxBehind: number;
  delivered: number;
  duplicates: number;
  missing: number;
  /** Per sequence number, on `now()`; NaN where not sent or not receipted. */
  sentAt: Float64Array;
  receiptAt: Float64Array;
  startedAt: number;
}

export async function runPacedLoad(options: PacedLoadOptions): Promise<PacedLoadResult> {
  const { now, rate, window } = options;
  const planned = Math.round(rate * options.seconds);
  const destination = options.destination ?? `/queue/replication.${randomUUID()}`;
  const sentAt = new Float64Array(planned).fill(NaN);
  const receiptAt = new Float64Array(planned).fill(NaN);
  const seen = new Uint8Array(planned);
  let delivered = 0;
  let duplicates = 0;

  const consumer = await WireClient.connect({ port: options.port });
  const producer = await WireClient.connect({ port: options.port });
  try {
    let allDelivered!: () => void;
    const deliveredAll = new Promise<void>((resolve) => (allDelivered = resolve));
    await consumer.subscribe(
      'replication-bench',
      destination,
      { ack: 'client-individual', 'activemq.prefetchSize': String(options.prefetch) },
      (frame) => {
        const seq = Number(frame.headers[SEQ_HEADER]);
        if (seen[seq] === 1) duplicates++;
        else if (seq >= 0 && seq < planned) {
          seen[seq] = 1;
          if (++delivered === planned) allDelivered();
        }
        void consumer.ack(frame).catch(() => undefined);
      },
      true,
    );

    const body = Buffer.alloc(options.bodySize, 'x');
    const headers = { persistent: 'true' };
    let next = 0;
    let inFlight = 0;
    let receipted = 0;
    let maxBehind = 0;
    let failure: Error | undefined;
    const startedAt = now();
    let lastReceipt = startedAt;
    let finish!: () => void;
    const sentAll = new Promise<void>((resolve) => (finish = resolve));
    const pump = (): void => {
      const due = Math.min(planned, Math.floor(((now() - startedAt) * rate) / 1000));
      while (failure === undefined && next < due && inFlight < window) {
        const seq = next++;
        inFlight++;
        sentAt[seq] = now();
        producer.send(destination, body, { ...headers, [SEQ_HEADER]: String(seq) }, true).then(
          () => {
            const at = now();
            receiptAt[seq] = at;
            lastReceipt = at;
            inFlight--;
            if (++receipted === planned) finish();
          },
          (error: Error) => {
            failure ??= error;
            finish();
          },
        );
      }
      maxBehind = Math.max(maxBehind, due - next);
    };
    // A 1 ms timer paces well enough at 10,000 msg/s: about ten sends a tick.
    const pacer = setInterval(pump, 1);
    try {
      await withTimeout(sentAll, options.seconds * 1000 + options.timeoutMs, 'the paced sends and their receipts');
    } finally {
      clearInterval(pacer);
    }
    if (failure !== undefined) throw failure;
    await withTimeout(deliveredAll, options.timeoutMs, `every message delivered (${delivered}/${planned})`).catch(() => undefined);
    // An extra delivery after the last one would be a duplicate: give it a moment to show.
    await new Promise((resolve) => setTimeout(resolve, 250));
    const sendPhaseMs = lastReceipt - startedAt;
    return {
      destination,
      planned,
      receipted,
      achievedRate: (receipted / sendPhaseMs) * 1000,
      sendPhaseMs,
      maxBehind,
      delivered,
      duplicates,
      missing: planned - delivered,
      sentAt,
      receiptAt,
      startedAt,
    };
  } finally {
    await Promise.all([producer.disconnect(), consumer.disconnect()]);
  }
}
