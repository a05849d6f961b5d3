// The benchmark workloads, run over STOMP with the same minimal client against any broker: a queue
// with one producer and one consumer (receipt-per-send or a window of sends in flight), and a topic
// fan-out. Each checks that every message arrives exactly once and measures send-to-receive latency.
import { randomUUID } from 'node:crypto';
import { WireClient, withTimeout } from '../wire/stomp-client.js';
import type { WireFrame } from '../wire/frame-codec.js';
import { summarize, type LatencySummary } from './stats.js';

export interface QueueWorkload {
  messages: number;
  bodySize: number;
  /** Sends awaiting their RECEIPT at most; 1 is "wait for each receipt". */
  window: number;
  persistent: boolean;
  prefetch: number;
}

export interface FanoutWorkload {
  messages: number;
  bodySize: number;
  subscribers: number;
  window: number;
}

export interface WorkloadResult {
  /** Messages published per second, from the first send to the last delivery. */
  msgPerSec: number;
  /** Deliveries per second over all consumers (equals msgPerSec for one consumer). */
  deliveriesPerSec: number;
  elapsedMs: number;
  messages: number;
  deliveries: number;
  latency: LatencySummary;
  receiptLatency: LatencySummary;
}

const HEADER_SEQ = 'bench-seq';

/** Milliseconds on the monotonic clock since the run started; producer and consumers share it. */
class Clock {
  private readonly origin = process.hrtime.bigint();
  now(): number {
    return Number(process.hrtime.bigint() - this.origin) / 1e6;
  }
}

/** Tracks deliveries per consumer; a duplicate or unknown sequence number fails the run. */
class DeliveryLedger {
  readonly latencies: Float64Array;
  private readonly seen: Uint8Array[];
  private count = 0;
  duplicates = 0;
  private resolveAll!: () => void;
  private rejectAll!: (error: Error) => void;
  readonly done: Promise<void>;

  constructor(
    readonly messages: number,
    readonly consumers: number,
    private readonly sentAt: Float64Array,
    private readonly clock: Clock,
  ) {
    this.latencies = new Float64Array(messages * consumers);
    this.seen = Array.from({ length: consumers }, () => new Uint8Array(messages));
    this.done = new Promise((resolve, reject) => {
      this.resolveAll = resolve;
      this.rejectAll = reject;
    });
  }

  get deliveries(): number {
    return this.count;
  }

  record(consumer: number, frame: WireFrame): void {
    const seq = Number(frame.headers[HEADER_SEQ]);
    const seen = this.seen[consumer]!;
    if (!Number.isInteger(seq) || seq < 0 || seq >= this.messages) {
      this.rejectAll(new Error(`consumer ${consumer} got a message with bad ${HEADER_SEQ} ${frame.headers[HEADER_SEQ]}`));
      return;
    }
    if (seen[seq] === 1) {
      this.duplicates++;
      this.rejectAll(new Error(`consumer ${consumer} got message ${seq} twice`));
      return;
    }
    seen[seq] = 1;
    this.latencies[this.count++] = this.clock.now() - this.sentAt[seq]!;
    if (this.count === this.messages * this.consumers) this.resolveAll();
  }

  fail(error: Error): void {
    this.rejectAll(error);
  }
}

function payload(size: number): Buffer {
  return Buffer.alloc(size, 'x');
}

/** Sends `count` messages keeping at most `window` receipts outstanding. */
async function produce(
  producer: WireClient,
  destination: string,
  count: number,
  window: number,
  headers: Record<string, string>,
  body: Buffer,
  sentAt: Float64Array,
  clock: Clock,
): Promise<Float64Array> {
  const receiptLatency = new Float64Array(count);
  let next = 0;
  let failure: Error | undefined;
  await new Promise<void>((resolve, reject) => {
    let inFlight = 0;
    let settled = 0;
    const pump = (): void => {
      while (failure === undefined && inFlight < window && next < count) {
        const seq = next++;
        inFlight++;
        sentAt[seq] = clock.now();
        producer.send(destination, body, { ...headers, [HEADER_SEQ]: String(seq) }, true).then(
          () => {
            receiptLatency[seq] = clock.now() - sentAt[seq]!;
            inFlight--;
            settled++;
            if (settled === count) resolve();
            else pump();
          },
          (error: Error) => {
            failure ??= error;
            reject(error);
          },
        );
      }
    };
    pump();
  });
  return receiptLatency;
}

export async function runQueueWorkload(port: number, workload: QueueWorkload, timeoutMs: number): Promise<WorkloadResult> {
  const destination = `/queue/bench.${randomUUID()}`;
  const clock = new Clock();
  const sentAt = new Float64Array(workload.messages);
  const ledger = new DeliveryLedger(workload.messages, 1, sentAt, clock);
  const consumer = await WireClient.connect({ port });
  const producer = await WireClient.connect({ port });
  try {
    consumer.once('close', () => ledger.fail(new Error('consumer connection closed')));
    await consumer.subscribe(
      'bench',
      destination,
      { ack: 'client-individual', 'activemq.prefetchSize': String(workload.prefetch) },
      (frame) => {
        ledger.record(0, frame);
        void consumer.ack(frame).catch(() => undefined);
      },
      true,
    );
    const start = clock.now();
    const headers: Record<string, string> = workload.persistent ? { persistent: 'true' } : {};
    const produced = produce(producer, destination, workload.messages, workload.window, headers, payload(workload.bodySize), sentAt, clock);
    const [receiptLatency] = await withTimeout(Promise.all([produced, ledger.done]), timeoutMs, 'the queue workload');
    const elapsedMs = clock.now() - start;
    await expectNoStragglers(ledger, workload.messages);
    return result(workload.messages, ledger, elapsedMs, receiptLatency);
  } finally {
    await Promise.all([producer.disconnect(), consumer.disconnect()]);
  }
}

export async function runFanoutWorkload(port: number, workload: FanoutWorkload, timeoutMs: number): Promise<WorkloadResult> {
  const destination = `/topic/bench.${randomUUID()}`;
  const clock = new Clock();
  const sentAt = new Float64Array(workload.messages);
  const ledger = new DeliveryLedger(workload.messages, workload.subscribers, sentAt, clock);
  const subscribers: WireClient[] = [];
  const producer = await WireClient.connect({ port });
  try {
    for (let i = 0; i < workload.subscribers; i++) {
      const subscriber = await WireClient.connect({ port });
      subscribers.push(subscriber);
      subscriber.once('close', () => ledger.fail(new Error(`subscriber ${i} connection closed`)));
      await subscriber.subscribe('fanout', destination, { ack: 'auto' }, (frame) => ledger.record(i, frame), true);
    }
    const start = clock.now();
    const produced = produce(producer, destination, workload.messages, workload.window, {}, payload(workload.bodySize), sentAt, clock);
    const [receiptLatency] = await withTimeout(Promise.all([produced, ledger.done]), timeoutMs, 'the fan-out workload');
    const elapsedMs = clock.now() - start;
    await expectNoStragglers(ledger, workload.messages * workload.subscribers);
    return result(workload.messages, ledger, elapsedMs, receiptLatency);
  } finally {
    await Promise.all([producer.disconnect(), ...subscribers.map((s) => s.disconnect())]);
  }
}

/** A short grace period after the last expected delivery: an extra one would be a duplicate. */
async function expectNoStragglers(ledger: DeliveryLedger, expected: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 250));
  if (ledger.duplicates > 0) throw new Error(`${ledger.duplicates} duplicate deliveries`);
  if (ledger.deliveries !== expected) throw new Error(`expected ${expected} deliveries, counted ${ledger.deliveries}`);
}

function result(messages: number, ledger: DeliveryLedger, elapsedMs: number, receiptLatency: Float64Array): WorkloadResult {
  return {
    msgPerSec: (messages / elapsedMs) * 1000,
    deliveriesPerSec: (ledger.deliveries / elapsedMs) * 1000,
    elapsedMs,
    messages,
    deliveries: ledger.deliveries,
    latency: summarize(ledger.latencies),
    receiptLatency: summarize(receiptLatency),
  };
}
