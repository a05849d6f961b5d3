// Hostile input at volume: for TANDEM_BAD_INPUT_MS (default 20 s) many connections send random bytes,
// truncated frames, huge headers and invalid commands, while a well-behaved client keeps producing
// and consuming persistent messages with receipts. Every bad connection must get an ERROR frame or be
// closed, the broker must stay up and healthy, and the good client must lose nothing.
import { expect } from 'chai';
import { randomBytes, randomInt } from 'node:crypto';
import { useBroker } from './harness/suite.js';
import { RawSocket } from './harness/raw-socket.js';
import { adminRequest } from './harness/admin-client.js';
import { trackCloser } from './harness/cleanup-registry.js';
import { sleep, waitFor } from './harness/wait.js';
import { WireClient } from './wire/stomp-client.js';
import { encodeFrame } from './wire/frame-codec.js';

const DURATION_MS = Number(process.env['TANDEM_BAD_INPUT_MS'] ?? 20000);
const ATTACKERS = 12;
const CONNECT = encodeFrame('CONNECT', { 'accept-version': '1.2', host: 'localhost' });

interface Attack {
  name: string;
  /** Bytes to write; `end` half-closes afterwards (for input the server cannot finish parsing). */
  bytes: () => Buffer;
  end: boolean;
}

const ATTACKS: Attack[] = [
  { name: 'random bytes', bytes: () => Buffer.concat([randomBytes(randomInt(1, 4096)), Buffer.from('\n\n\0')]), end: false },
  { name: 'random bytes after CONNECT', bytes: () => Buffer.concat([CONNECT, randomBytes(randomInt(1, 4096)), Buffer.from('\n\n\0')]), end: false },
  { name: 'an invalid command', bytes: () => Buffer.from(`${randomBytes(6).toString('hex').toUpperCase()}\nx:y\n\n\0`), end: false },
  { name: 'an invalid command after CONNECT', bytes: () => Buffer.concat([CONNECT, Buffer.from('TELEPORT\ndestination:/queue/x\n\n\0')]), end: false },
  { name: 'a truncated frame', bytes: () => encodeFrame('SEND', { destination: '/queue/bad' }, 'cut').subarray(0, randomInt(1, 30)), end: true },
  { name: 'a truncated frame after CONNECT', bytes: () => Buffer.concat([CONNECT, encodeFrame('SEND', { destination: '/queue/bad', 'content-length': '100' }, 'short').subarray(0, 50)]), end: true },
  { name: 'a huge header', bytes: () => Buffer.concat([CONNECT, Buffer.from(`SEND\ndestination:/queue/bad\nx-huge:${'h'.repeat(200_000)}\n\nx\0`)]), end: false },
  { name: 'very many headers', bytes: () => Buffer.concat([CONNECT, Buffer.from('SEND\ndestination:/queue/bad\n' + 'x:y\n'.repeat(5000) + '\nx\0')]), end: false },
  { name: 'a body over the frame limit', bytes: () => Buffer.concat([CONNECT, encodeFrame('SEND', { destination: '/queue/bad' }, Buffer.alloc(2 * 1024 * 1024, 'b'))]), end: false },
  { name: 'SEND before CONNECT', bytes: () => encodeFrame('SEND', { destination: '/queue/bad' }, 'early'), end: false },
  { name: 'a bad content-length', bytes: () => Buffer.concat([CONNECT, Buffer.from('SEND\ndestination:/queue/bad\ncontent-length:-5\n\nx\0')]), end: false },
];

interface Tally {
  attempts: number;
  answered: number;
  failures: string[];
}

/** One bad connection: it must see an ERROR frame or a close within the deadline. */
async function attackOnce(port: number, attack: Attack, tally: Tally): Promise<void> {
  tally.attempts++;
  let raw: RawSocket;
  try {
    raw = await RawSocket.open(port);
  } catch (error) {
    tally.failures.push(`${attack.name}: could not connect (${(error as Error).message})`);
    return;
  }
  raw.write(attack.bytes());
  if (attack.end) raw.socket.end();
  const deadline = Date.now() + 10000;
  while (Date.now() < deadline) {
    if (raw.isClosed || raw.frames.items.some((f) => f.command === 'ERROR')) {
      tally.answered++;
      raw.destroy();
      return;
    }
    await sleep(20);
  }
  tally.failures.push(`${attack.name}: neither ERROR nor close within 10 s`);
  raw.destroy();
}

describe('bad input under load', function () {
  const env = useBroker({ config: { limits: { maxFrameSize: 1024 * 1024, maxHeaders: 1000, maxHeaderLength: 10240 } } });

  it(`survives ${DURATION_MS / 1000} s of hostile connections while a good client loses nothing`, async function () {
    this.timeout(DURATION_MS + 90000);
    const port = env.stompPort;
    const stopAt = Date.now() + DURATION_MS;

    // The well-behaved pair: persistent sends with receipts, client-individual acks with receipts.
    const producer = await WireClient.connect({ port });
    const consumer = await WireClient.connect({ port });
    trackCloser(() => producer.destroy());
    trackCloser(() => consumer.destroy());
    const queue = '/queue/well-behaved';
    const receipted = new Set<number>();
    const consumed = new Map<number, number>();
    await consumer.subscribe(
      'good',
      queue,
      { ack: 'client-individual', 'activemq.prefetchSize': '100' },
      (frame) => {
        const seq = Number(frame.headers['x-seq']);
        consumed.set(seq, (consumed.get(seq) ?? 0) + 1);
        void consumer.ack(frame, true).catch(() => undefined);
      },
      true,
    );
    let sent = 0;
    const goodLoop = async (): Promise<void> => {
      while (Date.now() < stopAt) {
        const seq = sent++;
        await producer.send(queue, `good ${seq}`, { persistent: 'true', 'x-seq': String(seq) }, true);
        receipted.add(seq);
      }
    };

    const tally: Tally = { attempts: 0, answered: 0, failures: [] };
    const attacker = async (): Promise<void> => {
      while (Date.now() < stopAt) await attackOnce(port, ATTACKS[randomInt(ATTACKS.length)]!, tally);
    };

    const healthFailures: string[] = [];
    const healthLoop = async (): Promise<void> => {
      while (Date.now() < stopAt) {
        const response = await adminRequest(env.adminPort, '/health').catch((error: Error) => ({ status: 0, text: error.message }));
        if (response.status !== 200) healthFailures.push(`${response.status} ${response.text}`);
        if (!env.broker.alive) healthFailures.push('broker process exited');
        await sleep(500);
      }
    };

    await Promise.all([goodLoop(), healthLoop(), ...Array.from({ length: ATTACKERS }, () => attacker())]);

    expect(env.broker.alive, 'the broker process is alive').to.equal(true);
    expect((await adminRequest(env.adminPort, '/health')).status).to.equal(200);
    expect(healthFailures, 'health checks during the attack').to.deep.equal([]);
    expect(tally.failures.slice(0, 20), `bad connections left hanging (${tally.failures.length})`).to.deep.equal([]);
    expect(tally.answered).to.equal(tally.attempts);
    expect(tally.attempts, 'attacks made').to.be.greaterThan(ATTACKERS * 5);

    await waitFor('the good consumer to receive every receipted message', () => [...receipted].every((seq) => consumed.has(seq)), 30000);
    await sleep(300);
    const duplicates = [...consumed].filter(([, count]) => count > 1).map(([seq]) => seq);
    expect(duplicates, 'good messages consumed twice').to.deep.equal([]);
    expect(receipted.size, 'good messages sent').to.be.greaterThan(0);
    expect(producer.closed || consumer.closed, 'the good connections stayed up').to.equal(false);
  });
});
