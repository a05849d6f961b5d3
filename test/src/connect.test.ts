// Connection set-up as clients meet it: version negotiation (STOMP 1.0, 1.1, 1.2) and heart-beats
// in both directions, with stompit and with raw frames.
import { expect } from 'chai';
import { useBroker } from './harness/suite.js';
import { StompitSession } from './harness/stompit-client.js';
import { RawSocket } from './harness/raw-socket.js';
import { uniqueName } from './harness/names.js';
import { sleep } from './harness/wait.js';
import { encodeFrame } from './wire/frame-codec.js';

describe('connection: version negotiation (STOMP 1.2 "Protocol Negotiation")', function () {
  const env = useBroker({ config: { heartbeat: { send: 200, receive: 200 } } });

  for (const version of ['1.0', '1.1', '1.2'] as const) {
    it(`accept-version:${version} connects as ${version} and carries a message end to end`, async function () {
      const session = await StompitSession.connect(env.stompPort, { 'accept-version': version });
      expect(session.connected['version']).to.equal(version);
      expect(session.connected['server']).to.match(/^TandemMQ\/\d+\.\d+\.\d+/);
      expect(session.connected['session']).to.be.a('string').and.not.equal('');
      const queue = `/queue/${uniqueName(`connect-${version}`)}`;
      const subscription = await session.subscribe(queue, { ack: 'client' });
      await session.send(queue, `hello ${version}`);
      const message = await subscription.inbox.next();
      expect(message.text).to.equal(`hello ${version}`);
      expect(message.headers['destination']).to.equal(queue);
      await session.ack(message);
      await session.disconnect();
    });
  }

  it('picks the highest common version from a list', async function () {
    const session = await StompitSession.connect(env.stompPort, { 'accept-version': '1.0,1.1,1.2' });
    expect(session.connected['version']).to.equal('1.2');
    await session.disconnect();
  });

  it('treats a CONNECT without accept-version as STOMP 1.0', async function () {
    const raw = await RawSocket.open(env.stompPort);
    raw.write(encodeFrame('CONNECT', { login: 'guest', passcode: 'guest' }));
    const connected = await raw.nextFrame();
    expect(connected.command).to.equal('CONNECTED');
    expect(connected.headers['version'] ?? '1.0').to.equal('1.0');
  });

  it('accepts the STOMP command in place of CONNECT (1.2 "CONNECT or STOMP Frame")', async function () {
    const raw = await RawSocket.open(env.stompPort);
    raw.write(encodeFrame('STOMP', { 'accept-version': '1.2', host: 'localhost' }));
    const connected = await raw.nextFrame();
    expect(connected.command).to.equal('CONNECTED');
    expect(connected.headers['version']).to.equal('1.2');
  });

  it('answers a version it does not share with an ERROR listing its versions, then closes', async function () {
    const raw = await RawSocket.open(env.stompPort);
    raw.write(encodeFrame('CONNECT', { 'accept-version': '2.0,3.1', host: 'localhost' }));
    const error = await raw.nextFrame();
    expect(error.command).to.equal('ERROR');
    expect(error.headers['code']).to.equal('TANDEM_ERR_UNSUPPORTED_VERSION');
    expect(error.headers['version']).to.include('1.2');
    expect(await raw.waitClosed()).to.equal(true);
  });
});

describe('connection: heart-beats (STOMP 1.2 "Heart-beating")', function () {
  const env = useBroker({ config: { heartbeat: { send: 200, receive: 200 } } });

  it('offers its configured heart-beat in CONNECTED', async function () {
    const raw = await RawSocket.open(env.stompPort);
    raw.write(encodeFrame('CONNECT', { 'accept-version': '1.2', host: 'localhost', 'heart-beat': '0,0' }));
    const connected = await raw.nextFrame('CONNECTED');
    expect(connected.headers['heart-beat']).to.equal('200,200');
  });

  it('sends heart-beats to a client that asks for them', async function () {
    const raw = await RawSocket.connectStomp(env.stompPort, { 'heart-beat': '0,100' });
    // Negotiated interval: max(server send 200, client receive 100) = 200 ms.
    await sleep(1500);
    expect(raw.decoder.heartbeats).to.be.at.least(2);
    expect(raw.isClosed).to.equal(false);
  });

  it('sends no heart-beats when the client offers 0,0', async function () {
    const raw = await RawSocket.connectStomp(env.stompPort, { 'heart-beat': '0,0' });
    await sleep(800);
    expect(raw.decoder.heartbeats).to.equal(0);
    expect(raw.isClosed).to.equal(false);
  });

  it('keeps a client that heart-beats, and disconnects it once it stops', async function () {
    const raw = await RawSocket.connectStomp(env.stompPort, { 'heart-beat': '100,0' });
    const beat = setInterval(() => raw.write('\n'), 50);
    try {
      await sleep(1200);
      expect(raw.isClosed, 'closed while the client was heart-beating').to.equal(false);
    } finally {
      clearInterval(beat);
    }
    expect(await raw.waitClosed(5000), 'not closed after the client went silent').to.equal(true);
    const errors = raw.frames.items.filter((frame) => frame.command === 'ERROR');
    for (const error of errors) expect(error.headers['code']).to.equal('TANDEM_ERR_HEARTBEAT_TIMEOUT');
  });

  it('keeps a stompit client with heart-beats on across several intervals', async function () {
    const session = await StompitSession.connect(env.stompPort, { 'heart-beat': '100,100' });
    await sleep(1200);
    const queue = `/queue/${uniqueName('heartbeat')}`;
    const subscription = await session.subscribe(queue);
    await session.send(queue, 'still here');
    expect((await subscription.inbox.next()).text).to.equal('still here');
    expect(session.errors).to.deep.equal([]);
    await session.disconnect();
  });
});
