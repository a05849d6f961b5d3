// STOMP over WebSocket with @stomp/stompjs (text and binary WebSocket frames), interworking with
// TCP clients, and an ERROR frame for bad input over WebSocket too.
import { expect } from 'chai';
import WebSocket from 'ws';
import { useBroker } from './harness/suite.js';
import { StompJsSession } from './harness/stompjs-client.js';
import { StompitSession } from './harness/stompit-client.js';
import { trackCloser } from './harness/cleanup-registry.js';
import { uniqueName } from './harness/names.js';
import { encodeFrame, FrameDecoder, type WireFrame } from './wire/frame-codec.js';

describe('STOMP over WebSocket', function () {
  const env = useBroker();

  it('connects with stompjs, negotiating STOMP 1.2 and the v12.stomp subprotocol', async function () {
    const session = await StompJsSession.connect(env.websocketPort);
    expect(session.client.connectedVersion).to.equal('1.2');
    await session.close();
  });

  it('sends and receives text over text WebSocket frames', async function () {
    const session = await StompJsSession.connect(env.websocketPort);
    const queue = `/queue/${uniqueName('ws-text')}`;
    const { inbox } = await session.subscribe(queue);
    await session.send(queue, 'héllo wörld', { 'x-note': 'a:b' });
    const message = await inbox.next();
    expect(message.body).to.equal('héllo wörld');
    expect(message.headers['x-note']).to.equal('a:b');
    expect(message.headers['destination']).to.equal(queue);
    await session.close();
  });

  it('carries binary bodies with NUL bytes over binary WebSocket frames', async function () {
    const session = await StompJsSession.connect(env.websocketPort, { binaryFrames: true });
    const queue = `/queue/${uniqueName('ws-binary')}`;
    const { inbox } = await session.subscribe(queue);
    const body = Uint8Array.from([0, 1, 2, 0, 254, 255, 0]);
    await session.send(queue, body, { 'content-type': 'application/octet-stream' });
    const message = await inbox.next();
    expect(Buffer.from(message.binaryBody).equals(Buffer.from(body))).to.equal(true);
    await session.close();
  });

  it('interworks with TCP clients in both directions', async function () {
    const ws = await StompJsSession.connect(env.websocketPort);
    const tcp = await StompitSession.connect(env.stompPort);
    const toTcp = `/queue/${uniqueName('ws-to-tcp')}`;
    const toWs = `/topic/${uniqueName('tcp-to-ws')}`;
    const tcpSub = await tcp.subscribe(toTcp);
    const { inbox: wsInbox } = await ws.subscribe(toWs);
    await ws.send(toTcp, 'from the browser side', { persistent: 'true' });
    await tcp.send(toWs, 'from the server side');
    expect((await tcpSub.inbox.next()).text).to.equal('from the browser side');
    expect((await wsInbox.next()).body).to.equal('from the server side');
    await Promise.all([ws.close(), tcp.disconnect()]);
  });

  it('acknowledges client-individual deliveries over WebSocket', async function () {
    const session = await StompJsSession.connect(env.websocketPort);
    const queue = `/queue/${uniqueName('ws-ack')}`;
    const { inbox } = await session.subscribe(queue, { ack: 'client-individual' });
    await session.send(queue, 'ack me', { persistent: 'true' });
    const message = await inbox.next();
    message.ack();
    await session.close();
    const check = await StompitSession.connect(env.stompPort);
    await (await check.subscribe(queue)).inbox.expectNothing(400, 'an acknowledged message is gone');
    await check.disconnect();
  });

  it('answers a bad frame over WebSocket with an ERROR frame and closes', async function () {
    const socket = new WebSocket(`ws://127.0.0.1:${env.websocketPort}/`, ['v12.stomp']);
    trackCloser(() => socket.terminate());
    const decoder = new FrameDecoder();
    const frames: WireFrame[] = [];
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('message', (data: Buffer) => frames.push(...decoder.push(Buffer.from(data))));
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    expect(socket.protocol).to.equal('v12.stomp');
    socket.send(encodeFrame('CONNECT', { 'accept-version': '1.2', host: 'localhost' }));
    socket.send('FROB\nreceipt:9\n\n\0');
    await closed;
    expect(frames.map((f) => f.command)).to.deep.equal(['CONNECTED', 'ERROR']);
    expect(frames[1]!.headers['code']).to.equal('TANDEM_ERR_UNKNOWN_COMMAND');
    expect(frames[1]!.headers['receipt-id']).to.equal('9');
  });
});
