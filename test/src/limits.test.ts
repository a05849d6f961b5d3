// Configured limits, each answered with its own ERROR code before the connection closes: frame
// size, header count, header length and the number of connections.
import { expect } from 'chai';
import { useBroker } from './harness/suite.js';
import { RawSocket } from './harness/raw-socket.js';
import { StompitSession } from './harness/stompit-client.js';
import { uniqueName } from './harness/names.js';
import { encodeFrame, type WireFrame } from './wire/frame-codec.js';
import { WireClient } from './wire/stomp-client.js';
import { sleep } from './harness/wait.js';
import { trackCloser } from './harness/cleanup-registry.js';

async function expectRejected(raw: RawSocket, code: string): Promise<WireFrame> {
  const error = await raw.nextFrame('ERROR');
  expect(error.headers['code']).to.equal(code);
  expect(error.headers['message']).to.be.a('string').and.not.equal('');
  expect(await raw.waitClosed(), 'closed after the ERROR').to.equal(true);
  return error;
}

describe('limits: frame size, headers', function () {
  const env = useBroker({ config: { limits: { maxFrameSize: 4096, maxHeaders: 10, maxHeaderLength: 256 } } });

  it('accepts a frame within every limit', async function () {
    const session = await StompitSession.connect(env.stompPort);
    const queue = `/queue/${uniqueName('within')}`;
    const subscription = await session.subscribe(queue);
    const headers: Record<string, string> = {};
    for (let i = 0; i < 5; i++) headers[`x-h${i}`] = 'v'.repeat(200);
    await session.send(queue, Buffer.alloc(2048, 'b'), headers);
    const message = await subscription.inbox.next();
    expect(message.body.length).to.equal(2048);
    await session.disconnect();
  });

  it('rejects a declared content-length above maxFrameSize with TANDEM_ERR_FRAME_TOO_LARGE', async function () {
    const raw = await RawSocket.connectStomp(env.stompPort);
    raw.write(encodeFrame('SEND', { destination: '/queue/limits' }, Buffer.alloc(5000, 'x')));
    await expectRejected(raw, 'TANDEM_ERR_FRAME_TOO_LARGE');
  });

  it('rejects an unterminated body growing past maxFrameSize with TANDEM_ERR_FRAME_TOO_LARGE', async function () {
    const raw = await RawSocket.connectStomp(env.stompPort);
    raw.write('SEND\ndestination:/queue/limits\n\n');
    for (let i = 0; i < 10; i++) raw.write(Buffer.alloc(1000, 'y'));
    await expectRejected(raw, 'TANDEM_ERR_FRAME_TOO_LARGE');
  });

  it('rejects more than maxHeaders headers with TANDEM_ERR_TOO_MANY_HEADERS', async function () {
    const raw = await RawSocket.connectStomp(env.stompPort);
    const headers: Record<string, string> = { destination: '/queue/limits' };
    for (let i = 0; i < 12; i++) headers[`x-h${i}`] = String(i);
    raw.write(encodeFrame('SEND', headers, 'x'));
    await expectRejected(raw, 'TANDEM_ERR_TOO_MANY_HEADERS');
  });

  it('rejects a header line longer than maxHeaderLength with TANDEM_ERR_HEADER_TOO_LONG', async function () {
    const raw = await RawSocket.connectStomp(env.stompPort);
    raw.write(encodeFrame('SEND', { destination: '/queue/limits', 'x-long': 'z'.repeat(400) }, 'x'));
    await expectRejected(raw, 'TANDEM_ERR_HEADER_TOO_LONG');
  });

  it('rejects a header line that never ends once it passes maxHeaderLength', async function () {
    const raw = await RawSocket.connectStomp(env.stompPort);
    raw.write('SEND\ndestination:/queue/limits\nx-endless:');
    for (let i = 0; i < 4; i++) raw.write('w'.repeat(200));
    await expectRejected(raw, 'TANDEM_ERR_HEADER_TOO_LONG');
  });

  it('applies the limits to CONNECT as well', async function () {
    const raw = await RawSocket.open(env.stompPort);
    raw.write(encodeFrame('CONNECT', { 'accept-version': '1.2', host: 'localhost', login: 'l'.repeat(400) }));
    await expectRejected(raw, 'TANDEM_ERR_HEADER_TOO_LONG');
  });
});

describe('limits: connections', function () {
  const env = useBroker({ config: { limits: { maxConnections: 3 } } });

  it('refuses a connection beyond maxConnections with TANDEM_ERR_TOO_MANY_CONNECTIONS, and admits one after a close', async function () {
    const sessions = [];
    for (let i = 0; i < 3; i++) sessions.push(await StompitSession.connect(env.stompPort));
    const extra = await RawSocket.open(env.stompPort);
    extra.write(encodeFrame('CONNECT', { 'accept-version': '1.2', host: 'localhost' }));
    await expectRejected(extra, 'TANDEM_ERR_TOO_MANY_CONNECTIONS');
    await sessions.pop()!.disconnect();
    // The slot frees once the server has seen the close; retry briefly rather than race it. (The raw
    // client here: stompit cannot take an ERROR frame during CONNECT cleanly.)
    let admitted: WireClient | undefined;
    for (let attempt = 0; attempt < 40 && !admitted; attempt++) {
      admitted = await WireClient.connect({ port: env.stompPort }).catch(async () => {
        await sleep(50);
        return undefined;
      });
    }
    expect(admitted, 'a connection is admitted after one closed').to.not.equal(undefined);
    trackCloser(() => admitted?.destroy());
    await admitted!.disconnect();
  });
});
