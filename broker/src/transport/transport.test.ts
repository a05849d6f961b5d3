// The listeners with real sockets on 127.0.0.1 and a fake core: TCP, TLS and WebSocket carry STOMP
// to sessions, maxConnections holds across all of them, and closeAll() ends every connection.
import { expect } from 'chai';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { WebSocket } from 'ws';
import { silentLogger } from '@tandem-mq/shared-store';
import { DEFAULT_STOMP_LIMITS, header, type StompFrame } from '../protocol/stomp/frame.js';
import { StompParser } from '../protocol/stomp/parser.js';
import { serializeFrame } from '../protocol/stomp/serializer.js';
import { FakeCore } from '../protocol/stomp/handlers/test-harness.js';
import { ConnectionRegistry } from './connections.js';
import { listenTcp } from './tcp.js';
import { listenTls } from './tls.js';
import { LINGER_MS, type Listener } from './types.js';
import { listenWs } from './ws.js';

// A self-signed test certificate for 127.0.0.1 (P-256, valid to 2126); it guards nothing.
const CERT = `-----BEGIN CERTIFICATE-----
MIIBkTCCATagAwIBAgIUTOrUeoG/AxrraZGSfRv85akRjrEwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTI2MTEyMjAzMTkwMVoYDzIxMjYxMDI5
MDMxOTAxWjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQ1Mz97bRf4+reR9iYkA0YCFHOk07Jm6RfcfPA2dN2+GO1UBe9c6m32
AoH+T6yfZ7TLwY1VCx95Yq/ncYDTF60do2QwYjAdBgNVHQ4EFgQUAE1tII9aSyg/
tL8nfHeUUqOST7owHwYDVR0jBBgwFoAUAE1tII9aSyg/tL8nfHeUUqOST7owDwYD
VR0TAQH/BAUwAwEB/zAPBgNVHREECDAGhwR/AAABMAoGCCqGSM49BAMCA0kAMEYC
IQDZjeek/ZL6ibnzhpQIKMZiH1Mix/9Sgp1AlnpPf2OvIQIhAMY+ittglhkf+4c+
j2GQUEFXKBt9zlmf6LDbObqOUmXm
-----END CERTIFICATE-----
`;
const KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg3bhPKfCR4L1t3/bh
xUJanINOHDATZE7BioISrI3+X7ihRANCAAQ1Mz97bRf4+reR9iYkA0YCFHOk07Jm
6RfcfPA2dN2+GO1UBe9c6m32AoH+T6yfZ7TLwY1VCx95Yq/ncYDTF60d
-----END PRIVATE KEY-----
`;

const CONNECT = serializeFrame({ command: 'CONNECT', headers: [['accept-version', '1.2'], ['host', 'x']], body: Buffer.alloc(0) }, '1.0');

/** Collects the frames arriving on a byte stream, and whether it closed. */
class FrameReader {
  readonly frames: StompFrame[] = [];
  closed = false;
  private readonly parser = new StompParser({ onFrame: (f) => this.frames.push(f), onError: () => undefined });
  private waiters: Array<() => void> = [];

  push(chunk: Buffer): void {
    this.parser.push(chunk);
    if (this.frames.some((f) => f.command === 'CONNECTED')) this.parser.version = '1.2';
    this.wake();
  }

  close(): void {
    this.closed = true;
    this.wake();
  }

  async until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got ${this.frames.map((f) => f.command).join(', ') || 'nothing'}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private wake(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }
}

function openSocket(port: number, reader: FrameReader, secure = false): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = secure
      ? tlsConnect({ host: '127.0.0.1', port, ca: CERT }, () => resolve(socket))
      : netConnect({ host: '127.0.0.1', port }, () => resolve(socket));
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
    socket.on('close', () => reader.close());
    socket.once('error', reject);
  });
}

describe('transports', () => {
  let core: FakeCore;
  let registry: ConnectionRegistry;
  const listeners: Listener[] = [];
  const cleanups: Array<() => void> = [];

  function makeRegistry(maxConnections = 10): ConnectionRegistry {
    core = new FakeCore();
    registry = new ConnectionRegistry({
      core,
      logger: silentLogger(),
      maxConnections,
      limits: DEFAULT_STOMP_LIMITS,
      heartbeat: { send: 0, receive: 0 },
    });
    return registry;
  }

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) cleanup();
    await registry?.closeAll();
    await Promise.all(listeners.splice(0).map((l) => l.close()));
  });

  describe('tcp', () => {
    it('carries CONNECT to a session and CONNECTED back', async () => {
      const listener = await listenTcp({ host: '127.0.0.1', port: 0 }, makeRegistry().accept);
      listeners.push(listener);
      expect(listener.address.host).to.equal('127.0.0.1');
      expect(listener.address.port).to.be.greaterThan(0);
      const reader = new FrameReader();
      const socket = await openSocket(listener.address.port, reader);
      cleanups.push(() => socket.destroy());
      socket.write(CONNECT.subarray(0, 5));
      socket.write(CONNECT.subarray(5));
      await reader.until('CONNECTED', () => reader.frames.length > 0);
      expect(reader.frames[0]?.command).to.equal('CONNECTED');
      expect(core.last.info.protocol).to.equal('stomp+tcp');
      expect(registry.count).to.equal(1);
    });

    it('refuses a connection over maxConnections with ERROR TANDEM_ERR_TOO_MANY_CONNECTIONS, and admits one after a close', async () => {
      const listener = await listenTcp({ host: '127.0.0.1', port: 0 }, makeRegistry(1).accept);
      listeners.push(listener);
      const first = new FrameReader();
      const firstSocket = await openSocket(listener.address.port, first);
      cleanups.push(() => firstSocket.destroy());
      firstSocket.write(CONNECT);
      await first.until('CONNECTED', () => first.frames.length > 0);

      const second = new FrameReader();
      const secondSocket = await openSocket(listener.address.port, second);
      cleanups.push(() => secondSocket.destroy());
      await second.until('ERROR and close', () => second.closed);
      expect(second.frames.map((f) => f.command)).to.deep.equal(['ERROR']);
      expect(header(second.frames[0]!, 'code')).to.equal('TANDEM_ERR_TOO_MANY_CONNECTIONS');
      expect(registry.stats.refused).to.equal(1);

      firstSocket.destroy();
      await first.until('the first connection to close', () => first.closed);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const third = new FrameReader();
      const thirdSocket = await openSocket(listener.address.port, third);
      cleanups.push(() => thirdSocket.destroy());
      thirdSocket.write(CONNECT);
      await third.until('CONNECTED', () => third.frames.length > 0);
      expect(third.frames[0]?.command).to.equal('CONNECTED');
    });

    it('closeAll() ends every connection and the listener then closes', async () => {
      const listener = await listenTcp({ host: '127.0.0.1', port: 0 }, makeRegistry().accept);
      const reader = new FrameReader();
      const socket = await openSocket(listener.address.port, reader);
      cleanups.push(() => socket.destroy());
      socket.write(CONNECT);
      await reader.until('CONNECTED', () => reader.frames.length > 0);
      const closed = listener.close();
      await registry.closeAll();
      await closed;
      await reader.until('the socket to close', () => reader.closed);
      expect(core.last.closed).to.equal(true);
      expect(registry.count).to.equal(0);
    });

    it('sees the client hang up after end() even while reading is paused, without waiting to linger', async () => {
      makeRegistry();
      let transportClosed = false;
      let endedAt = 0;
      const listener = await listenTcp({ host: '127.0.0.1', port: 0 }, (transport) => ({
        onData: () => {
          transport.pause(); // as a session does while it stops
          endedAt = Date.now();
          transport.end();
        },
        onTransportDrain: () => undefined,
        onTransportClose: () => (transportClosed = true),
      }));
      listeners.push(listener);
      const reader = new FrameReader();
      const socket = await openSocket(listener.address.port, reader);
      cleanups.push(() => socket.destroy());
      socket.write(CONNECT);
      await reader.until('the server to end', () => reader.closed); // the client answers the FIN with its own
      while (!transportClosed && Date.now() - endedAt < LINGER_MS) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(transportClosed, 'closed on the hang-up').to.equal(true);
      expect(Date.now() - endedAt, 'ms from end() to close').to.be.below(LINGER_MS / 2);
    });

    it('names the address in a listen failure', async () => {
      const first = await listenTcp({ host: '127.0.0.1', port: 0 }, makeRegistry().accept);
      listeners.push(first);
      try {
        await listenTcp({ host: '127.0.0.1', port: first.address.port }, registry.accept);
        expect.fail('a second listener on the same port started');
      } catch (error) {
        expect(error).to.have.property('code', 'TANDEM_ERR_LISTEN_FAILED');
        expect((error as Error).message).to.contain(`127.0.0.1:${first.address.port}`).and.contain('EADDRINUSE');
      }
    });
  });

  describe('tls', () => {
    it('carries STOMP behind a TLS handshake', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tandem-tls-'));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      writeFileSync(join(dir, 'cert.pem'), CERT);
      writeFileSync(join(dir, 'key.pem'), KEY);
      const listener = await listenTls({ host: '127.0.0.1', port: 0, cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') }, makeRegistry().accept);
      listeners.push(listener);
      const reader = new FrameReader();
      const socket = await openSocket(listener.address.port, reader, true);
      cleanups.push(() => socket.destroy());
      socket.write(CONNECT);
      await reader.until('CONNECTED', () => reader.frames.length > 0);
      expect(reader.frames[0]?.command).to.equal('CONNECTED');
      expect(core.last.info.protocol).to.equal('stomp+tls');
    });

    it('refuses to start without a readable certificate, naming the field', async () => {
      try {
        await listenTls({ host: '127.0.0.1', port: 0, cert: '/nonexistent/cert.pem', key: '/nonexistent/key.pem' }, makeRegistry().accept);
        expect.fail('started without a certificate');
      } catch (error) {
        expect(error).to.have.property('code', 'TANDEM_ERR_CONFIG_UNREADABLE');
        expect((error as Error).message).to.contain('tls.cert');
      }
    });
  });

  describe('websocket', () => {
    async function openWs(port: number, reader: FrameReader, protocols: string[] = ['v10.stomp', 'v11.stomp', 'v12.stomp']): Promise<WebSocket> {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/stomp`, protocols);
      cleanups.push(() => ws.terminate());
      ws.on('message', (data: Buffer) => reader.push(data));
      ws.on('close', () => reader.close());
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      return ws;
    }

    async function listen(maxConnections = 10): Promise<Listener> {
      const listener = await listenWs({ enabled: true, host: '127.0.0.1', port: 0, path: '/stomp' }, makeRegistry(maxConnections).accept, {
        maxPayload: 1024 * 1024,
      });
      listeners.push(listener);
      return listener;
    }

    it('picks the highest STOMP subprotocol offered', async () => {
      const listener = await listen();
      const ws = await openWs(listener.address.port, new FrameReader(), ['v11.stomp', 'v12.stomp']);
      expect(ws.protocol).to.equal('v12.stomp');
    });

    it('takes frames split across messages and several frames in one, text or binary', async () => {
      const listener = await listen();
      const reader = new FrameReader();
      const ws = await openWs(listener.address.port, reader);
      ws.send(CONNECT.subarray(0, 10), { binary: true });
      ws.send(CONNECT.subarray(10).toString('utf8'));
      await reader.until('CONNECTED', () => reader.frames.length > 0);
      const send = (receipt: string): Buffer =>
        serializeFrame({ command: 'SEND', headers: [['destination', '/queue/a'], ['receipt', receipt]], body: Buffer.from('x') }, '1.2');
      ws.send(Buffer.concat([send('r-1'), send('r-2')]).toString('utf8'));
      await reader.until('two receipts', () => reader.frames.length >= 3);
      expect(reader.frames.slice(1).map((f) => header(f, 'receipt-id'))).to.deep.equal(['r-1', 'r-2']);
      expect(core.last.info.protocol).to.equal('stomp+ws');
      expect(core.last.argsOf('send')).to.have.length(2);
    });

    it('counts towards the same maxConnections', async () => {
      const listener = await listen(1);
      const first = new FrameReader();
      await openWs(listener.address.port, first);
      const second = new FrameReader();
      await openWs(listener.address.port, second);
      await second.until('ERROR and close', () => second.closed);
      expect(header(second.frames[0]!, 'code')).to.equal('TANDEM_ERR_TOO_MANY_CONNECTIONS');
    });

    it('answers a plain HTTP request with 426 Upgrade Required', async () => {
      const listener = await listen();
      const status = await new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: listener.address.port, path: '/stomp' }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
      expect(status).to.equal(426);
    });
  });
});
