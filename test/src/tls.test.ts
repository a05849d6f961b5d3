// STOMP over TLS: the listener named in the config's tls block serves frames behind a handshake
// (with a throwaway self-signed certificate made by openssl for the test).
import { expect } from 'chai';
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { BrokerProcess } from './harness/broker-process.js';
import { selfSignedCertificate } from './harness/certificate.js';
import { makeTempDir, trackCloser } from './harness/cleanup-registry.js';
import { useBrokerCleanup } from './harness/suite.js';
import { Inbox } from './harness/inbox.js';
import { encodeFrame, FrameDecoder, type WireFrame } from './wire/frame-codec.js';

/** Frames arriving on any socket, decoded by the test codec. */
function framesOf(socket: net.Socket): Inbox<WireFrame> {
  const inbox = new Inbox<WireFrame>();
  const decoder = new FrameDecoder();
  trackCloser(() => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    for (const frame of decoder.push(chunk)) inbox.push(frame);
  });
  socket.on('error', () => undefined);
  socket.on('close', () => inbox.fail(new Error('connection closed')));
  return inbox;
}

describe('STOMP over TLS', function () {
  const started = useBrokerCleanup();

  it('serves STOMP behind a TLS handshake with the configured certificate, and refuses plaintext', async function () {
    const dir = makeTempDir('tls');
    const { cert } = selfSignedCertificate(dir);
    const broker = await BrokerProcess.start({ dir, config: { tls: { host: '127.0.0.1', port: 0, cert: './cert.pem', key: './key.pem' } } });
    started.add(broker);
    const port = broker.ports.tls;
    expect(port, 'broker.listening reports a tls endpoint').to.be.a('number');

    const socket = tls.connect({ host: '127.0.0.1', port: port!, ca: fs.readFileSync(cert), servername: 'localhost' });
    const frames = framesOf(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', () => resolve());
      socket.once('error', reject);
    });
    expect(socket.authorized, String(socket.authorizationError)).to.equal(true);
    socket.write(encodeFrame('CONNECT', { 'accept-version': '1.2', host: 'localhost' }));
    expect((await frames.next()).command).to.equal('CONNECTED');
    socket.write(encodeFrame('SUBSCRIBE', { id: 's', destination: '/queue/over-tls', receipt: 'sub' }));
    expect((await frames.next()).command).to.equal('RECEIPT');
    socket.write(encodeFrame('SEND', { destination: '/queue/over-tls' }, 'secret'));
    const message = await frames.next();
    expect(message.command).to.equal('MESSAGE');
    expect(message.body.toString()).to.equal('secret');

    const plain = net.connect({ host: '127.0.0.1', port: port! });
    const plainFrames = framesOf(plain);
    plain.once('connect', () => plain.write(encodeFrame('CONNECT', { 'accept-version': '1.2', host: 'localhost' })));
    let refused = false;
    await plainFrames.next(5000).catch(() => (refused = true));
    expect(refused, 'a plaintext CONNECT on the TLS port gets no CONNECTED').to.equal(true);
  });
});
